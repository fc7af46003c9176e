import type { App } from 'aws-cdk-lib';

/**
 * Every deployment-specific value, read from CDK context (`cdk.json` "context" or `-c key=value`).
 * Defaults are placeholders that let `cdk synth` run offline; docs/infrastructure.md lists them.
 */
export interface MissionControlConfig {
  readonly account: string;
  readonly region: string;
  /** Prefix of every stack name, so several copies (e.g. staging) can share an account. */
  readonly stackPrefix: string;
  readonly domainName: string;
  readonly hostedZoneId: string;
  readonly hostedZoneName: string;
  readonly repositoryOwner: string;
  readonly repositoryName: string;
  readonly repositoryBranch: string;
  readonly connectionArn: string;
  readonly applicationName: string;
  /** EB environment name, also its CNAME prefix (`<name>.<region>.elasticbeanstalk.com`). */
  readonly environmentName: string;
  /**
   * EB platform branch; the environment is created on the branch's recommended version and
   * managed updates move it within the branch (docs/infrastructure.md, "Platform upgrades").
   */
  readonly platformBranch: string;
  /** Weekly window for managed platform updates, `Day:HH:MM` in UTC. */
  readonly maintenanceWindowStart: string;
  readonly instanceTypes: string[];
  readonly minInstances: number;
  readonly maxInstances: number;
  readonly natGateways: number;
  readonly databaseInstanceType: string;
  readonly databaseAllocatedStorageGiB: number;
  readonly databaseMaxAllocatedStorageGiB: number;
  readonly databaseMultiAz: boolean;
  readonly databaseName: string;
  /** Connections per web instance (DATABASE_POOL_MAX); unset: the largest that fits the budget. */
  readonly databasePoolMax?: number;
  /** The instance's max_connections (`SHOW max_connections`); unset: estimated from the class. */
  readonly databaseMaxConnections?: number;
  /** Alarm above this many connections; unset: 80 % of max_connections. */
  readonly databaseConnectionsAlarmThreshold?: number;
  readonly wafRateLimitPer5Minutes: number;
  readonly alarmEmail: string;
  readonly monthlyBudgetUsd: number;
}

export const DEFAULT_CONFIG: MissionControlConfig = {
  account: '123456789012',
  region: 'us-east-1',
  stackPrefix: 'MissionControl',
  domainName: 'mission-control.example.com',
  hostedZoneId: 'Z0123456789EXAMPLE',
  hostedZoneName: 'example.com',
  repositoryOwner: 'example-org',
  repositoryName: 'mission-control',
  repositoryBranch: 'main',
  connectionArn:
    'arn:aws:codeconnections:us-east-1:123456789012:connection/00000000-0000-0000-0000-000000000000',
  applicationName: 'mission-control',
  environmentName: 'mission-control-prod',
  platformBranch: 'Node.js 22 running on 64bit Amazon Linux 2023',
  maintenanceWindowStart: 'Sun:03:00',
  instanceTypes: ['t3.small'],
  minInstances: 2,
  maxInstances: 6,
  natGateways: 1,
  databaseInstanceType: 't4g.micro',
  databaseAllocatedStorageGiB: 20,
  databaseMaxAllocatedStorageGiB: 100,
  databaseMultiAz: true,
  databaseName: 'mission_control',
  wafRateLimitPer5Minutes: 1000,
  alarmEmail: 'ops@example.com',
  monthlyBudgetUsd: 250,
};

/** Keys without a default: when absent, infra derives them (see their comments). */
const OPTIONAL_NUMBERS = ['databasePoolMax', 'databaseMaxConnections', 'databaseConnectionsAlarmThreshold'] as const;

type ContextReader = (key: string) => unknown;

/** Context given on the command line arrives as strings; cdk.json may hold real JSON types. */
function coerce<T>(key: string, raw: unknown, fallback: T): T {
  if (raw === undefined) return fallback;
  if (Array.isArray(fallback)) {
    const list = Array.isArray(raw) ? raw : String(raw).split(',');
    return list.map((item) => String(item).trim()).filter(Boolean) as T;
  }
  if (typeof fallback === 'number') {
    const value = Number(raw);
    if (!Number.isFinite(value)) throw new Error(`Context "${key}" must be a number, got "${raw}"`);
    return value as T;
  }
  if (typeof fallback === 'boolean') {
    if (raw === true || raw === 'true') return true as T;
    if (raw === false || raw === 'false') return false as T;
    throw new Error(`Context "${key}" must be true or false, got "${raw}"`);
  }
  return String(raw) as T;
}

export function readConfig(read: ContextReader): MissionControlConfig {
  const entries = Object.entries(DEFAULT_CONFIG).map(([key, fallback]) => [
    key,
    coerce(key, read(key), fallback),
  ]);
  for (const key of OPTIONAL_NUMBERS) {
    const raw = read(key);
    if (raw !== undefined) entries.push([key, coerce(key, raw, 0)]);
  }
  const config = Object.fromEntries(entries) as MissionControlConfig;
  if (config.minInstances < 1 || config.maxInstances < config.minInstances) {
    throw new Error('Context needs 1 <= minInstances <= maxInstances');
  }
  if (config.instanceTypes.length === 0) throw new Error('Context "instanceTypes" is empty');
  if (!/^arn:[^:]+:(codeconnections|codestar-connections):/.test(config.connectionArn)) {
    throw new Error('Context "connectionArn" must be a codeconnections or codestar-connections ARN');
  }
  return config;
}

export function readAppConfig(app: App): MissionControlConfig {
  return readConfig((key) => app.node.tryGetContext(key));
}
