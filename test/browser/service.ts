// The real service for browser tests: `node --import=tsx app/server.ts` (what `npm start` runs) as
// a child process on a free loopback port, on a private real PostgreSQL database when
// TEST_DATABASE_URL is set, else on PGlite in a temporary DATA_DIR.
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Kysely } from 'kysely'
import { chromium, type Browser } from 'playwright-core'
import { buildClient, DEFAULT_OUT_DIR } from '../../client/build.js'
import { withDatabase } from '../../app/database/database.js'
import type { Database } from '../../app/database/schema.js'
import { openTestDatabase, silentLog, testConfig } from '../helpers.js'
import { freePort } from '../support/free-port.js'
import { chromiumPath } from '../support/needs.js'
import { spawnService, waitUntilHealthy, type ServiceProcess } from '../support/service-process.js'

const PROJECT_DIR = path.resolve(import.meta.dirname, '../..')

/** Where the browser tests leave their screenshots (test-artifacts/, not committed). */
export const SCREENSHOTS = path.join(PROJECT_DIR, 'test-artifacts/screenshots')

/** The headless Chromium the browser tests drive, with the flags this machine needs; closed at the end. */
export async function launchChromium(t: Teardown): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run']
  })
  t.teardown(() => browser.close())
  return browser
}
/** Generous: a cold PGlite start on a loaded CI machine takes tens of seconds. */
const START_TIMEOUT_MS = 180_000

interface Teardown {
  teardown(fn: () => unknown): void
}

export interface RunningService {
  /** e.g. http://127.0.0.1:41234 */
  origin: string
  kind: 'postgres' | 'pglite'
  /**
   * Writes straight to the service's database. PGlite allows one process per data directory, so
   * there the service is stopped for the write and started again on the same port.
   */
  writeDatabase(write: (db: Kysely<Database>) => Promise<void>): Promise<void>
  /**
   * Stops the service with SIGTERM (as a deploy does) and starts it again on the same port and
   * database; `whileStopped` runs in between.
   */
  restart(whileStopped?: () => Promise<void>): Promise<void>
  /** What the running service process has logged so far (the first-run setup link, for one). */
  output(): string
}

/**
 * Builds client-dist/ only when it is missing or older than a client source: CI has just run
 * `npm run build`, and other test files (the EB bundle) read client-dist/ while this one runs.
 */
async function ensureClientBuilt(): Promise<void> {
  const built = await stat(path.join(DEFAULT_OUT_DIR, 'index.html')).catch(() => undefined)
  if (built) {
    const sources = await readdir(path.join(PROJECT_DIR, 'client'), { recursive: true, withFileTypes: true })
    const times = await Promise.all(sources.filter((entry) => entry.isFile()).map(async (entry) => (await stat(path.join(entry.parentPath, entry.name))).mtimeMs))
    if (Math.max(...times) <= built.mtimeMs) return
  }
  await buildClient()
}

async function stop(service: ServiceProcess): Promise<void> {
  if (service.child.exitCode !== null || service.child.signalCode !== null) return
  service.child.kill('SIGTERM')
  const forced = setTimeout(() => service.child.kill('SIGKILL'), 15_000)
  await service.exited
  clearTimeout(forced)
}

export async function startService(t: Teardown): Promise<RunningService> {
  await ensureClientBuilt()
  await mkdir(SCREENSHOTS, { recursive: true })
  const port = await freePort()
  const origin = `http://127.0.0.1:${port}`
  // PUBLIC_URL: the first-run setup link names the address the browser uses (cookies are per host).
  const env: Record<string, string> = { PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', PUBLIC_URL: origin }

  let kind: RunningService['kind']
  let writeDatabase: RunningService['writeDatabase']
  let service: ServiceProcess | undefined

  const start = async () => {
    service = spawnService(t, env)
    await waitUntilHealthy(service, START_TIMEOUT_MS)
  }

  if (process.env.TEST_DATABASE_URL) {
    kind = 'postgres'
    const { database, url } = await openTestDatabase(t)
    env.DATABASE_URL = url! // set whenever TEST_DATABASE_URL is
    writeDatabase = (write) => write(database.db)
  } else {
    kind = 'pglite'
    const dataDir = await mkdtemp(path.join(tmpdir(), 'mission-control-browser-'))
    env.DATA_DIR = dataDir
    t.teardown(() => rm(dataDir, { recursive: true, force: true }))
    writeDatabase = async (write) => {
      if (service) await stop(service)
      await withDatabase(testConfig({ DATA_DIR: dataDir }), silentLog, (database) => write(database.db))
      await start()
    }
  }

  const restart = async (whileStopped?: () => Promise<void>) => {
    if (service) await stop(service)
    await whileStopped?.()
    await start()
  }

  await start()
  return { origin, kind, writeDatabase, restart, output: () => service?.output() ?? '' }
}
