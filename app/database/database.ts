import { mkdir } from 'node:fs/promises'
import type { PGlite } from '@electric-sql/pglite'
import { Kysely, PGliteDialect, PostgresDialect, sql, type PostgresPool } from 'kysely'
import pg from 'pg'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../config/config.js'
import type { Database } from './schema.js'
import type { DatabaseCredentials } from './credentials/database-secret.js'
import { poolCounts, type PoolUsage } from './pool-usage.js'
import { assertNoTlsInUrl, explainTlsFailure, tlsOptions } from './credentials/tls.js'
import { DatabaseTimeoutError } from './unavailable.js'
import { MonitoredPool } from './monitored-pool.js'
import { unpackPreparedData } from './embedded-data.js'

/** How long a request that needs a new connection waits for credentials that work. */
const CREDENTIALS_WAIT_MS = 5000

export type DatabaseKind = 'postgres' | 'pglite'

/** An open database: the Kysely handle plus what the service needs to report on and close it. */
export interface DatabaseHandle {
  db: Kysely<Database>
  kind: DatabaseKind
  /** Where the data lives, without credentials, for logs. */
  description: string
  /** Resolves when the database answers `select 1` within `timeoutMs`. */
  ping(timeoutMs: number): Promise<void>
  /** Set when the handle knows why the database is refusing us (e.g. rejected credentials). */
  unavailableReason?(): string | undefined
  /** The connection pool's load, on PostgreSQL (PGlite has one in-process connection, no pool). */
  poolUsage?(): PoolUsage
  /**
   * LISTENs on `channel` in a session of its own: on PostgreSQL a dedicated connection outside the
   * pool (which would recycle it), with the pool's current credentials; on PGlite its `listen`.
   * `onLost` is called once if that session ends without `close()` (the server dropped it).
   */
  listen(channel: string, onNotification: (payload: string) => void, onLost: (error: Error) => void): Promise<Listening>
  destroy(): Promise<void>
}

export interface Listening {
  /** Rejects when the listening session no longer answers (a connection dead without a FIN). */
  ping(timeoutMs: number): Promise<void>
  close(): Promise<void>
}

/** How the LISTEN connection shows in pg_stat_activity (tests terminate it by this name). */
export const LISTEN_APPLICATION_NAME = 'mission-control-listen'

export type DatabaseConfig = Pick<
  Config,
  | 'DATABASE_URL'
  | 'DATA_DIR'
  | 'DATABASE_POOL_MAX'
  | 'DATABASE_CONNECT_TIMEOUT_MS'
  | 'DATABASE_IDLE_TIMEOUT_MS'
  | 'DATABASE_STATEMENT_TIMEOUT_MS'
  | 'DATABASE_SECRET_ID'
  | 'DATABASE_HOST'
  | 'DATABASE_PORT'
  | 'DATABASE_NAME'
  | 'DATABASE_SSL'
  | 'DATABASE_SSL_CA_FILE'
  | 'DATABASE_SECRET_REFRESH_SECONDS'
  | 'AWS_REGION'
>

/**
 * Session settings of PostgreSQL connections. Requests get the configured statement timeout;
 * migrations (`migrationSession`) get none, since building an index may take minutes, but give
 * up waiting for a lock quickly rather than queue every request behind their ALTER TABLE.
 */
export type SessionSettings = Pick<pg.PoolConfig, 'statement_timeout' | 'query_timeout' | 'lock_timeout'>

export const migrationSession = (lockTimeoutMs: number): SessionSettings => ({
  statement_timeout: 0,
  query_timeout: 0,
  lock_timeout: lockTimeoutMs
})

/**
 * Opens PostgreSQL with the credentials in Secrets Manager when DATABASE_SECRET_ID is set (AWS),
 * with DATABASE_URL when that is set (local), else the embedded PGlite under DATA_DIR.
 */
export async function openDatabase(config: DatabaseConfig, log: FastifyBaseLogger, session?: SessionSettings): Promise<DatabaseHandle> {
  if (config.DATABASE_SECRET_ID) {
    if (config.DATABASE_URL) throw new Error('set DATABASE_SECRET_ID or DATABASE_URL, not both')
    return openWithSecret(config.DATABASE_SECRET_ID, config, log, session)
  }
  if (config.DATABASE_URL) return openPostgres(config.DATABASE_URL, config, log, session)
  return openPglite(config.DATA_DIR)
}

/** For commands: opens the configured database, runs `work` on it and always closes it. */
export async function withDatabase<T>(
  config: DatabaseConfig,
  log: FastifyBaseLogger,
  work: (database: DatabaseHandle) => Promise<T>,
  session?: SessionSettings
): Promise<T> {
  const database = await openDatabase(config, log, session)
  try {
    return await work(database)
  } finally {
    await database.destroy()
  }
}

export function createPostgresPool(poolConfig: pg.PoolConfig, config: DatabaseConfig, log: FastifyBaseLogger): pg.Pool {
  const pool = new pg.Pool({
    application_name: 'mission-control',
    max: config.DATABASE_POOL_MAX,
    connectionTimeoutMillis: config.DATABASE_CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: config.DATABASE_IDLE_TIMEOUT_MS,
    // Server-side, so a runaway query stops on the server too; the client-side timeout is a
    // backstop for a server that stopped answering altogether.
    statement_timeout: config.DATABASE_STATEMENT_TIMEOUT_MS,
    query_timeout: config.DATABASE_STATEMENT_TIMEOUT_MS + 1000,
    ...poolConfig
  })
  // Without these listeners a database restart emits an unhandled 'error' and kills the process.
  // The pool drops the broken client by itself; checked-out clients need their own listener.
  pool.on('error', (error) => log.warn({ err: error }, 'idle database connection failed'))
  pool.on('connect', (client) => {
    client.on('error', (error) => log.warn({ err: error }, 'database connection failed'))
  })
  return pool
}

async function openPostgres(url: string, config: DatabaseConfig, log: FastifyBaseLogger, session?: SessionSettings): Promise<DatabaseHandle> {
  // Without DATABASE_SSL the URL decides (e.g. ?sslmode=verify-full&sslrootcert=…); with it, the
  // URL must not say anything about TLS, or pg would silently replace our `ssl` object.
  const poolConfig: pg.PoolConfig = { connectionString: url, ...session }
  if (config.DATABASE_SSL) {
    assertNoTlsInUrl(url)
    poolConfig.ssl = await tlsOptions(config.DATABASE_SSL, config.DATABASE_SSL_CA_FILE)
  }
  const pgPool = createPostgresPool(poolConfig, config, log)
  const pool = new MonitoredPool(pgPool, () => poolCounts(pgPool))
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  return { ...handle(db, 'postgres', describeUrl(url), listenOnPostgres(pool, log)), poolUsage: () => pool.usage() }
}

/** The production path: credentials from Secrets Manager, verified TLS, survives rotation. */
async function openWithSecret(
  secretId: string,
  config: DatabaseConfig,
  log: FastifyBaseLogger,
  session?: SessionSettings
): Promise<DatabaseHandle> {
  // Loaded on demand: the AWS SDK takes a few hundred milliseconds to load, and only AWS needs it.
  const [{ DatabaseSecretReader }, { RotatingPool }] = await Promise.all([
    import('./credentials/database-secret.js'),
    import('./credentials/rotating-pool.js')
  ])
  const ssl = await tlsOptions(config.DATABASE_SSL ?? 'verify-full', config.DATABASE_SSL_CA_FILE)
  const reader = new DatabaseSecretReader(
    secretId,
    { host: config.DATABASE_HOST, port: config.DATABASE_PORT, database: config.DATABASE_NAME },
    config.AWS_REGION
  )
  let credentials: DatabaseCredentials
  try {
    credentials = await reader.read()
  } catch (error) {
    reader.destroy()
    throw error
  }
  const server = describeServer(credentials)
  const rotating = new RotatingPool({
    reader,
    credentials,
    createPool: ({ host, port, database, user, password }) =>
      createPostgresPool({ host, port, database, user, password, ssl, ...session }, config, log),
    explainFailure: (error, current) => explainTlsFailure(error, describeServer(current), config.DATABASE_SSL_CA_FILE),
    describe: describeServer,
    // A rotation changes the password some seconds before the secret (AWS's setSecret, then
    // finishSecret): requests ride that out instead of failing; /health reports it meanwhile.
    waitForCredentialsMs: Math.max(config.DATABASE_CONNECT_TIMEOUT_MS, CREDENTIALS_WAIT_MS),
    refreshIntervalMs: config.DATABASE_SECRET_REFRESH_SECONDS * 1000,
    log
  })
  const pool = new MonitoredPool(rotating, () => rotating.counts())
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  return {
    ...handle(
      db,
      'postgres',
      `${server} (credentials from secret "${secretId}", TLS ${config.DATABASE_SSL ?? 'verify-full'})`,
      listenOnPostgres(pool, log)
    ),
    unavailableReason: () => rotating.unavailableReason(),
    poolUsage: () => pool.usage()
  }
}

function describeServer({ host, port, database }: Pick<DatabaseCredentials, 'host' | 'port' | 'database'>): string {
  return `PostgreSQL at ${host}:${port}/${database}`
}

async function openPglite(dataDir: string): Promise<DatabaseHandle> {
  // Loaded on demand: production on PostgreSQL never pays for the WebAssembly build.
  const { PGlite } = await import('@electric-sql/pglite')
  const inMemory = dataDir.startsWith('memory://')
  if (!inMemory) {
    await mkdir(dataDir, { recursive: true })
    // A new data directory starts from the one prepared at build time (app/database/embedded-data.ts).
    await unpackPreparedData(dataDir)
  }
  const pglite = await PGlite.create(dataDir, { extensions: await pgliteExtensions() })
  return wrapPglite(pglite, inMemory ? 'embedded PGlite (in memory)' : `embedded PGlite in ${dataDir}`)
}

/**
 * The extensions every PGlite must load when it is created, for the migrations' CREATE EXTENSION
 * and for the data they index (pg_trgm: the launch search). Pass them to every PGlite.create.
 */
export async function pgliteExtensions() {
  const { pg_trgm } = await import('@electric-sql/pglite/contrib/pg_trgm')
  return { pg_trgm }
}

export function wrapPglite(pglite: PGlite, description: string): DatabaseHandle {
  // PGlite runs in this process: its listeners are callbacks, and there is no connection to lose.
  const listen: DatabaseHandle['listen'] = async (channel, onNotification) => {
    const unlisten = await pglite.listen(channel, onNotification)
    return { ping: async () => {}, close: () => (pglite.closed ? Promise.resolve() : unlisten()) }
  }
  return handle(new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) }), 'pglite', description, listen)
}

/**
 * A pg.Client of its own per LISTEN session. The pool's `options` are its connection settings,
 * and a RotatingPool answers with the current credentials' pool, so a session opened after a
 * rotation logs in with the new password.
 */
function listenOnPostgres(pool: PostgresPool, log: FastifyBaseLogger): DatabaseHandle['listen'] {
  return async (channel, onNotification, onLost) => {
    const options = pool.options as pg.ClientConfig
    // pg-pool keeps the password as a non-enumerable property (out of stack traces): spread drops it.
    const client = new pg.Client({ ...options, password: options.password, application_name: LISTEN_APPLICATION_NAME, keepAlive: true })
    let closing = false
    let lost = false
    const lose = (error: Error) => {
      if (closing || lost) return
      lost = true
      onLost(error)
    }
    client.on('notification', (message) => {
      if (message.channel === channel) onNotification(message.payload ?? '')
    })
    // Without a listener an 'error' (the server terminating the session) would crash the process.
    client.on('error', (error) => lose(error))
    client.on('end', () => lose(new Error('the LISTEN connection closed')))
    try {
      await client.connect()
      await client.query(`listen ${client.escapeIdentifier(channel)}`)
    } catch (error) {
      closing = true
      await client.end().catch(() => undefined)
      throw error
    }
    return {
      ping: (timeoutMs) => withTimeout(client.query('select 1'), timeoutMs).then(() => undefined),
      close: async () => {
        closing = true
        await client.end().catch((error: unknown) => log.debug({ err: error }, 'closing the LISTEN connection failed'))
      }
    }
  }
}

function handle(db: Kysely<Database>, kind: DatabaseKind, description: string, listen: DatabaseHandle['listen']): DatabaseHandle {
  return {
    db,
    kind,
    description,
    listen,
    ping: (timeoutMs) => withTimeout(sql`select 1`.execute(db), timeoutMs).then(() => undefined),
    destroy: () => db.destroy()
  }
}

export async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DatabaseTimeoutError(ms)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** `postgres://user:***@host:5432/db` → `PostgreSQL at host:5432/db`: never log credentials. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url)
    return `PostgreSQL at ${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`
  } catch {
    return 'PostgreSQL'
  }
}
