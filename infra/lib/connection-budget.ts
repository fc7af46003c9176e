/**
 * How many PostgreSQL connections the service can open at worst, against what the instance allows.
 * docs/production-database.md, "Connection budget", explains each term and the sources.
 */

/** Memory (GiB) of the RDS instance sizes the estimate knows, by family (RDS User Guide, "DB instance classes"). */
const MEMORY_GIB: Record<string, Record<string, number>> = {
  burstable: { micro: 1, small: 2, medium: 4, large: 8, xlarge: 16, '2xlarge': 32 },
  general: { large: 8, xlarge: 16, '2xlarge': 32, '4xlarge': 64, '8xlarge': 128 },
  memory: { large: 16, xlarge: 32, '2xlarge': 64, '4xlarge': 128, '8xlarge': 256 },
};
const FAMILY: Record<string, keyof typeof MEMORY_GIB> = { t: 'burstable', m: 'general', r: 'memory' };

/** RDS PostgreSQL's default `max_connections` = LEAST(DBInstanceClassMemory / 9531392, 5000). */
const BYTES_PER_CONNECTION = 9_531_392;
/**
 * DBInstanceClassMemory is the class's memory minus what the OS and RDS's own processes keep; AWS
 * publishes no figure, so the estimate counts three quarters of it (on 1 GiB classes that gives 84,
 * in line with the 80-odd reported by `SHOW max_connections`). Context `databaseMaxConnections`
 * replaces the estimate with the measured value.
 */
const USABLE_MEMORY_SHARE = 0.75;

/** Slots non-superusers never get: `superuser_reserved_connections` (3) plus RDS's rds_superuser reserve (2). */
export const RESERVED_CONNECTIONS = 5;
/** Per instance beside the pool: one LISTEN connection for live updates, kept out of the pool. */
const LISTENER_CONNECTIONS_PER_INSTANCE = 1;
/** The predeploy migration (one session, plus the seed after it) on an instance whose old version still serves. */
const MIGRATION_CONNECTIONS_PER_INSTANCE = 2;
/** The roles custom resource, a rotation Lambda, and two operator sessions (psql through Session Manager). */
const OPERATIONS_CONNECTIONS = 4;
/** The service's own default (DATABASE_POOL_MAX); a bigger pool buys nothing on this workload. */
export const POOL_MAX_CEILING = 10;

export function estimateMaxConnections(instanceType: string): number | undefined {
  const [, familyLetter, size] = /^([tmr])\d+[a-z]*\.([0-9a-z]+)$/.exec(instanceType) ?? [];
  const family = familyLetter && FAMILY[familyLetter];
  const gib = family ? MEMORY_GIB[family][size] : undefined;
  if (!gib) return undefined;
  return Math.min(Math.floor((gib * 1024 ** 3 * USABLE_MEMORY_SHARE) / BYTES_PER_CONNECTION), 5000);
}

export interface ConnectionBudgetInput {
  readonly maxConnections: number;
  readonly maxInstances: number;
  /** Share of the fleet a rolling deployment updates at once (`BatchSize`, percent). */
  readonly deployBatchPercent: number;
  readonly poolMax: number;
}

export interface ConnectionBudget {
  readonly lines: ReadonlyArray<{ readonly item: string; readonly connections: number }>;
  readonly total: number;
  /** max_connections minus the reserved slots: what the service's roles can have. */
  readonly available: number;
  readonly fits: boolean;
}

export function connectionBudget(input: ConnectionBudgetInput): ConnectionBudget {
  const { maxInstances, poolMax } = input;
  const perInstance = poolMax + LISTENER_CONNECTIONS_PER_INSTANCE;
  const batch = Math.ceil((maxInstances * input.deployBatchPercent) / 100);
  const lines = [
    { item: `${maxInstances} instances × (pool ${poolMax} + 1 listener)`, connections: maxInstances * perInstance },
    // Managed platform updates are immutable: a second full set of instances runs beside the first
    // (EB Developer Guide, "Managed platform updates"); rolling deploys add fewer (one batch).
    { item: `deploy surge: ${maxInstances} more instances (immutable platform update)`, connections: maxInstances * perInstance },
    // After a rotation each instance swaps its pool; the old pool's checked-out connections finish first.
    { item: `rotation overlap: ${maxInstances} × pool ${poolMax} draining`, connections: maxInstances * poolMax },
    { item: `migration: ${batch} instances × ${MIGRATION_CONNECTIONS_PER_INSTANCE} in the predeploy hook`, connections: batch * MIGRATION_CONNECTIONS_PER_INSTANCE },
    { item: 'roles custom resource, rotation, 2 operator sessions', connections: OPERATIONS_CONNECTIONS },
  ];
  const total = lines.reduce((sum, line) => sum + line.connections, 0);
  const available = input.maxConnections - RESERVED_CONNECTIONS;
  return { lines, total, available, fits: total <= available };
}

/** The largest pool (up to the service default) whose budget fits, or undefined if not even 1 does. */
export function largestFittingPool(input: Omit<ConnectionBudgetInput, 'poolMax'>): number | undefined {
  for (let poolMax = POOL_MAX_CEILING; poolMax >= 1; poolMax--) {
    if (connectionBudget({ ...input, poolMax }).fits) return poolMax;
  }
  return undefined;
}

export function formatBudget(budget: ConnectionBudget, maxConnections: number): string {
  const rows = budget.lines.map((line) => `  ${String(line.connections).padStart(5)}  ${line.item}`);
  return [
    ...rows,
    `  ${String(budget.total).padStart(5)}  total, against ${budget.available} available (max_connections ${maxConnections} − ${RESERVED_CONNECTIONS} reserved)`,
  ].join('\n');
}

/** `BatchSize` (percent) of `.ebextensions/04-deployment.config`; a test keeps the two equal. */
export const DEPLOY_BATCH_PERCENT = 50;

export interface ConnectionPlan {
  readonly maxConnections: number;
  readonly poolMax: number;
  readonly budget: ConnectionBudget;
}

/**
 * The pool size and budget for the configured database class and fleet. Fails synthesis, with the
 * budget, when a configured pool does not fit or the class is unknown and no measured value is given.
 */
export function planConnections(config: {
  readonly databaseInstanceType: string;
  readonly databaseMaxConnections?: number;
  readonly databasePoolMax?: number;
  readonly maxInstances: number;
}): ConnectionPlan {
  const maxConnections = config.databaseMaxConnections ?? estimateMaxConnections(config.databaseInstanceType);
  if (!maxConnections) {
    throw new Error(
      `No max_connections estimate for db.${config.databaseInstanceType}: set context databaseMaxConnections (SHOW max_connections)`,
    );
  }
  const shape = { maxConnections, maxInstances: config.maxInstances, deployBatchPercent: DEPLOY_BATCH_PERCENT };
  const poolMax = config.databasePoolMax ?? largestFittingPool(shape) ?? 1;
  const budget = connectionBudget({ ...shape, poolMax });
  if (!budget.fits) {
    throw new Error(
      `The database connection budget does not fit db.${config.databaseInstanceType} (maxInstances ${config.maxInstances}, pool ${poolMax}):\n` +
        `${formatBudget(budget, maxConnections)}\n` +
        'Lower databasePoolMax or maxInstances, or choose a larger databaseInstanceType (docs/production-database.md).',
    );
  }
  return { maxConnections, poolMax, budget };
}
