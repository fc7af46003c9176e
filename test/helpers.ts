// Shared test plumbing: a private database per test file (so files run in parallel) and an app
// built on it. TEST_DATABASE_URL selects a real PostgreSQL; without it each file gets PGlite.
import { createHash, randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { pino, type Logger } from 'pino'
import pg from 'pg'
import { buildApp } from '../app/app.js'
import { createApiToken } from '../app/auth/credentials.js'
import { loadConfig, type Config } from '../app/config/config.js'
import { openDatabase, pgliteExtensions, wrapPglite, type DatabaseHandle } from '../app/database/database.js'
import { checkResponsesAgainstDocument } from './support/openapi-contract.js'
import type { Database, OperatorRole } from '../app/database/schema.js'
import { loggerOptions } from '../app/logger.js'
import { insertOperator } from '../app/operators/operators-queries.js'
import { hashPassword } from '../app/operators/passwords.js'

/**
 * The database every per-file database is cloned from (see test/setup/prepare-databases.ts). Named
 * after the checkout, so two checkouts testing against one server never drop each other's template.
 */
export const TEMPLATE_DATABASE = `mission_control_test_template_${createHash('sha256')
  .update(path.resolve(import.meta.dirname, '..'))
  .digest('hex')
  .slice(0, 8)}`

/** The migrated, seeded PGlite data directory every per-file PGlite database starts from. */
export const PGLITE_TEMPLATE = path.resolve(import.meta.dirname, '../.tap/pglite-template.tar')

export const silentLog = pino({ level: 'silent' })

interface Teardown {
  teardown(fn: () => unknown): void
}

/**
 * Configuration as the service would read it, with test-friendly defaults and overrides. Load
 * shedding is off unless a test turns it on: a busy test machine slows connections for reasons of
 * its own (test/database-outage.test.ts and the fleet test shedding).
 */
export function testConfig(env: Record<string, string> = {}): Config {
  // Metrics off: EMF lines on stdout would mix with TAP; test/metrics.test.ts turns them on.
  return loadConfig({ SPACEX_SYNC_ON_START: 'false', LOG_LEVEL: 'silent', METRICS: 'off', LOAD_SHED_POOL_WAIT_MS: '0', ...env })
}

/** A URL for another database on the same server as TEST_DATABASE_URL. */
export function databaseUrl(name: string): string {
  const url = new URL(process.env.TEST_DATABASE_URL as string)
  url.pathname = `/${name}`
  return url.toString()
}

export async function withAdminClient<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

/**
 * A fresh, migrated and seeded database owned by the calling test: a clone of the template on
 * PostgreSQL, an in-memory PGlite otherwise. It is dropped when the test ends.
 */
export async function openTestDatabase(t: Teardown): Promise<{ database: DatabaseHandle; url?: string }> {
  if (!process.env.TEST_DATABASE_URL) {
    const { PGlite } = await import('@electric-sql/pglite')
    const template = new Blob([await readFile(PGLITE_TEMPLATE)])
    const database = wrapPglite(await PGlite.create({ loadDataDir: template, extensions: await pgliteExtensions() }), 'test PGlite')
    // A PGlite that never ran a query leaves a wasm timer behind after close() and the test
    // process never exits; one query clears it.
    await database.ping(5000)
    t.teardown(() => database.destroy())
    return { database }
  }
  const name = `mission_control_test_${randomBytes(6).toString('hex')}`
  await withAdminClient((client) => client.query(`create database ${name} template ${TEMPLATE_DATABASE}`))
  const url = databaseUrl(name)
  const database = await openDatabase(testConfig({ DATABASE_URL: url }), silentLog)
  t.teardown(async () => {
    await database.destroy()
    await withAdminClient((client) => client.query(`drop database if exists ${name} with (force)`))
  })
  return { database, url }
}

/** An operator the tests act as: `headers` carries its API token (`app.inject({ …, headers: operator.headers })`). */
export interface TestOperator {
  id: number
  email: string
  name: string
  role: OperatorRole
  token: string
  headers: { authorization: string }
}

let operatorCount = 0

/**
 * Creates an operator with an API token, straight in the database. With `password` the operator
 * can also sign in (hashing costs ~100 ms, so only tests of signing in pass one).
 */
export async function createTestOperator(
  db: Kysely<Database>,
  options: { role?: OperatorRole; name?: string; email?: string; password?: string } = {}
): Promise<TestOperator> {
  operatorCount += 1
  const role = options.role ?? 'operator'
  const name = options.name ?? `Test ${role} ${operatorCount}`
  const email = options.email ?? `${role}-${operatorCount}-${randomBytes(3).toString('hex')}@example.com`
  const passwordHash = options.password ? await hashPassword(options.password) : null
  const row = await insertOperator(db, { email, name, role, passwordHash })
  const { token } = await createApiToken(db, row.id, { name: 'tests', expiresInDays: 1 })
  return { id: row.id, email, name, role, token, headers: { authorization: `Bearer ${token}` } }
}

/** Log lines a test can read (JSON objects, as the service writes them in production). */
export interface CapturedLogs {
  lines: Array<Record<string, unknown>>
  text(): string
}

function captureLogs(): { logger: Logger; logs: CapturedLogs } {
  const raw: string[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      raw.push(String(chunk))
      done()
    }
  })
  const logger = pino(loggerOptions('debug', false), stream)
  const logs: CapturedLogs = {
    get lines() {
      return raw.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>)
    },
    text: () => raw.join('')
  }
  return { logger, logs }
}

/**
 * The whole service on a private database, ready for `inject`; closed when the test ends. It comes
 * with an operator to act as: writes need credentials, so pass `headers: operator.headers`. Every
 * response `inject` returns is checked against the service's OpenAPI document.
 */
export async function buildTestApp(
  t: Teardown,
  options: { env?: Record<string, string>; database?: DatabaseHandle } = {}
): Promise<{ app: FastifyInstance; database: DatabaseHandle; operator: TestOperator; logs: CapturedLogs }> {
  const database = options.database ?? (await openTestDatabase(t)).database
  // A database passed in stays open when this app closes: its owner (or its own test) closes it.
  const lent = options.database ? { ...database, destroy: async () => {} } : database
  const { logger, logs } = captureLogs()
  const app = await buildApp({ config: testConfig(options.env), database: lent, loggerInstance: logger })
  checkResponsesAgainstDocument(app)
  t.teardown(() => app.close())
  await app.ready()
  const operator = await createTestOperator(database.db)
  return { app, database, operator, logs }
}
