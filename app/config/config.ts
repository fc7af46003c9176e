import { Ajv, type ValidateFunction } from 'ajv'
import { Type, type Static } from 'typebox'

/**
 * Every setting the service reads, validated once at start. A bad value stops the process
 * with one line naming the variable (see formatConfigError) instead of failing later.
 */
export const ConfigSchema = Type.Object({
  // `production` (the bundle sets it): no embedded database, no migrations at start.
  NODE_ENV: Type.Optional(Type.String()),
  PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 8080 }),
  HOST: Type.String({ minLength: 1, default: '0.0.0.0' }),
  LOG_LEVEL: Type.Union(
    [
      Type.Literal('fatal'),
      Type.Literal('error'),
      Type.Literal('warn'),
      Type.Literal('info'),
      Type.Literal('debug'),
      Type.Literal('trace'),
      Type.Literal('silent')
    ],
    { default: 'info' }
  ),

  // Without DATABASE_URL or DATABASE_SECRET_ID the service runs on embedded PGlite in DATA_DIR.
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  DATA_DIR: Type.String({ minLength: 1, default: './.data' }),
  // At least 2: a migration run holds one connection for its lock and migrates on another.
  DATABASE_POOL_MAX: Type.Integer({ minimum: 2, maximum: 100, default: 10 }),
  DATABASE_CONNECT_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60000, default: 5000 }),
  DATABASE_IDLE_TIMEOUT_MS: Type.Integer({ minimum: 1000, maximum: 600000, default: 30000 }),
  DATABASE_STATEMENT_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600000, default: 5000 }),

  // Production credentials: a Secrets Manager secret plus the endpoint when the secret lacks it.
  DATABASE_SECRET_ID: Type.Optional(Type.String({ minLength: 1 })),
  // The schema owner's secret: when set, `npm run db:migrate` (the predeploy hook) logs in with it
  // instead of DATABASE_SECRET_ID, which then only needs to read and write rows.
  DATABASE_MIGRATION_SECRET_ID: Type.Optional(Type.String({ minLength: 1 })),
  DATABASE_HOST: Type.Optional(Type.String({ minLength: 1 })),
  DATABASE_PORT: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
  DATABASE_NAME: Type.Optional(Type.String({ minLength: 1 })),
  DATABASE_SSL_CA_FILE: Type.Optional(Type.String({ minLength: 1 })),
  // TLS to PostgreSQL. Unset: verify-full with DATABASE_SECRET_ID; with DATABASE_URL the URL decides.
  // no-verify (encrypted, server unchecked) is never a default.
  DATABASE_SSL: Type.Optional(
    Type.Union([Type.Literal('verify-full'), Type.Literal('no-verify'), Type.Literal('disable')])
  ),
  // Re-read the secret this often even without a rejected password (tests use a few seconds).
  DATABASE_SECRET_REFRESH_SECONDS: Type.Integer({ minimum: 1, maximum: 86400, default: 3600 }),
  AWS_REGION: Type.Optional(Type.String({ minLength: 1 })),

  SPACEX_API_URL: Type.String({ pattern: '^https?://', default: 'https://api.spacexdata.com' }),
  SPACEX_SYNC_ON_START: Type.Boolean({ default: true }),
  SPACEX_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 300000, default: 15000 }),
  EXOPLANET_ARCHIVE_URL: Type.String({
    pattern: '^https?://',
    default: 'https://exoplanetarchive.ipac.caltech.edu/TAP/sync'
  }),
  EXOPLANET_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600000, default: 60000 }),

  // CloudWatch Embedded Metric Format records (docs/operations.md, "Metrics"): one JSON line each,
  // on stdout or appended to METRICS_FILE (on Elastic Beanstalk stdout lines get a syslog prefix,
  // which CloudWatch cannot read as EMF).
  METRICS: Type.Union([Type.Literal('on'), Type.Literal('off')], { default: 'on' }),
  METRICS_FILE: Type.Optional(Type.String({ minLength: 1 })),
  METRICS_ENVIRONMENT: Type.String({ minLength: 1, maxLength: 250, default: 'local' }),
  // How often request metrics are written and the pool gauges sampled.
  METRICS_INTERVAL_SECONDS: Type.Integer({ minimum: 1, maximum: 3600, default: 60 }),

  // Load shedding (503 SERVICE_OVERLOADED): when a request has waited this long for a database
  // connection (the database stopped answering), or the event loop lags this much; 0 turns it off.
  // Off by default for the event loop: a starved CPU delays it at start-up too, and auto scaling
  // answers CPU load.
  LOAD_SHED_POOL_WAIT_MS: Type.Integer({ minimum: 0, maximum: 60000, default: 1000 }),
  LOAD_SHED_EVENT_LOOP_DELAY_MS: Type.Integer({ minimum: 0, maximum: 60000, default: 0 }),

  // The per-instance cache of public read answers (app/cache/), kept coherent by the change feed;
  // `off` answers every read from the database (same bodies and ETags), for comparison.
  READ_CACHE: Type.Union([Type.Literal('on'), Type.Literal('off')], { default: 'on' }),
  READ_CACHE_MAX_BYTES: Type.Integer({ minimum: 0, maximum: 4_294_967_296, default: 64 * 1024 * 1024 }),

  // SIGTERM: keep serving for the drain time (whatever the load balancer still sends), then stop
  // listening and finish requests in flight; exit anyway once the shutdown timeout has passed.
  SHUTDOWN_DRAIN_MS: Type.Integer({ minimum: 0, maximum: 60000, default: 2000 }),
  SHUTDOWN_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 120000, default: 9000 }),

  // Live updates, GET /v1/events (docs/live-updates.md). Streams per instance: past the cap, 503
  // with Retry-After. The heartbeat keeps idle streams open through the ALB's 60 s idle timeout; it
  // stays under the server's 30 s connection timeout too (fractions for tests).
  EVENTS_MAX_STREAMS: Type.Integer({ minimum: 0, maximum: 100_000, default: 1000 }),
  EVENTS_HEARTBEAT_SECONDS: Type.Number({ exclusiveMinimum: 0, maximum: 25, default: 15 }),

  // Operators and security (docs/security.md).
  // false: launches can be scheduled and aborted without credentials, as in the original v1 API
  // (a private network only); refused when NODE_ENV=production.
  AUTH_REQUIRED: Type.Boolean({ default: true }),
  // Proxies in front of the service whose X-Forwarded-For entry is trusted: ALB + nginx on EB.
  TRUST_PROXY_HOPS: Type.Integer({ minimum: 0, maximum: 10, default: 2 }),
  // Where people reach the service, for the first-run setup link (default http://localhost:PORT).
  PUBLIC_URL: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$' })),
  // Per instance and per minute; 0 turns a limit off.
  RATE_LIMIT_IP_READS_PER_MINUTE: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 1200 }),
  RATE_LIMIT_IP_WRITES_PER_MINUTE: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 120 }),
  RATE_LIMIT_OPERATOR_WRITES_PER_MINUTE: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 60 }),
  // Shared by every instance (counted in the database).
  SIGN_IN_MAX_FAILURES: Type.Integer({ minimum: 1, maximum: 1000, default: 10 }),
  SIGN_IN_FAILURE_WINDOW_MINUTES: Type.Integer({ minimum: 1, maximum: 1440, default: 15 })
}, { additionalProperties: false })

export type Config = Static<typeof ConfigSchema>

export class ConfigError extends Error {}

/** The one line a command prints when it fails: configuration errors say that they are. */
export function failureMessage(error: unknown): string {
  if (error instanceof ConfigError) return `invalid configuration: ${error.message}`
  return error instanceof Error ? error.message : String(error)
}

interface AjvError {
  instancePath: string
  keyword: string
  message?: string
  params: Record<string, unknown>
}

/** `postgres://user:secret@host/db` → `postgres://user:***@host/db`: a rejected value may be a URL with a password. */
export function maskSecrets(value: string | undefined): string | undefined {
  return value?.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/?#@]*:)[^\s/?#@]*@/gi, '$1***@')
}

/** One line naming the first bad variable, e.g. `PORT must be <= 65535 (got "70000")`. */
function formatConfigError(errors: AjvError[], env: NodeJS.ProcessEnv): string {
  const first = errors.find((e) => e.keyword !== 'anyOf') ?? errors[0]
  if (!first) return 'invalid configuration'
  const name =
    first.keyword === 'required' ? String(first.params.missingProperty) : first.instancePath.replace(/^\//, '')
  if (first.keyword === 'const' || first.keyword === 'anyOf') {
    const allowed = errors.filter((e) => e.keyword === 'const' && e.instancePath === first.instancePath)
    const values = allowed.map((e) => JSON.stringify(e.params.allowedValue)).join(', ')
    return `${name} must be one of ${values} (got ${JSON.stringify(maskSecrets(env[name]))})`
  }
  return `${name} ${first.message ?? 'is invalid'} (got ${JSON.stringify(maskSecrets(env[name]))})`
}

/**
 * The configuration's check, compiled on first use: text coerced to numbers and booleans, defaults
 * filled in, unknown variables dropped (additionalProperties: false), every error reported. This
 * is what env-schema did, without the Ajv instance it builds and checks its options with when it is
 * imported (about 0.1 s of every start). validateSchema: false as in app/validation.ts: the schema
 * is a constant, checked against the meta-schema by test/schemas.test.ts.
 */
let checkConfig: ValidateFunction<Config> | undefined
const configCheck = () =>
  (checkConfig ??= new Ajv({
    validateSchema: false,
    allErrors: true,
    removeAdditional: true,
    useDefaults: true,
    coerceTypes: true,
    allowUnionTypes: true,
    addUsedSchema: false
  }).compile<Config>(ConfigSchema))

/** Reads and validates the configuration from an environment (process.env by default). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings mean "unset" so that `FOO=` in an env file falls back to the default.
  const data = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''))
  // The check fills in defaults and coerces in place: a copy, so errors quote the text as given.
  const config: Record<string, unknown> = { ...data }
  const check = configCheck()
  if (!check(config)) throw new ConfigError(formatConfigError((check.errors ?? []) as AjvError[], data))
  // Each instance would get a database of its own, and lose it when the instance is replaced.
  if (config.NODE_ENV === 'production' && !config.DATABASE_URL && !config.DATABASE_SECRET_ID) {
    throw new ConfigError('NODE_ENV=production needs DATABASE_SECRET_ID or DATABASE_URL (the embedded database would be private to one instance)')
  }
  if (config.SHUTDOWN_DRAIN_MS >= config.SHUTDOWN_TIMEOUT_MS) {
    throw new ConfigError(`SHUTDOWN_DRAIN_MS must be less than SHUTDOWN_TIMEOUT_MS (got ${config.SHUTDOWN_DRAIN_MS} and ${config.SHUTDOWN_TIMEOUT_MS})`)
  }
  if (!config.AUTH_REQUIRED && config.NODE_ENV === 'production') {
    throw new ConfigError('AUTH_REQUIRED=false is refused when NODE_ENV=production: anyone could schedule and abort launches')
  }
  return config
}
