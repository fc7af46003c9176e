// Shared test plumbing: a private database per test file (so files run in parallel) and an app
// built on it. TEST_DATABASE_URL selects a real PostgreSQL; without it each file gets PGlite.
import { createHash, randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import { pino } from 'pino'
import pg from 'pg'
import { buildApp } from '../app/app.js'
import { loadConfig, type Config } from '../app/config/config.js'
import { openDatabase, wrapPglite, type DatabaseHandle } from '../app/database/database.js'
import { checkResponsesAgainstDocument } from './support/openapi-contract.js'

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
    const database = wrapPglite(await PGlite.create({ loadDataDir: template }), 'test PGlite')
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

/**
 * The whole service on a private database, ready for `inject`; closed when the test ends. Every
 * response `inject` returns is checked against the service's OpenAPI document.
 */
export async function buildTestApp(
  t: Teardown,
  options: { env?: Record<string, string>; database?: DatabaseHandle } = {}
): Promise<{ app: FastifyInstance; database: DatabaseHandle }> {
  const database = options.database ?? (await openTestDatabase(t)).database
  // A database passed in stays open when this app closes: its owner (or its own test) closes it.
  const lent = options.database ? { ...database, destroy: async () => {} } : database
  const app = await buildApp({ config: testConfig(options.env), database: lent })
  checkResponsesAgainstDocument(app)
  t.teardown(() => app.close())
  await app.ready()
  return { app, database }
}
