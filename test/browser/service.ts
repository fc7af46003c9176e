// The real service for browser tests: `node --import=tsx app/server.ts` (what `npm start` runs) as
// a child process on a free loopback port, on a private real PostgreSQL database when
// TEST_DATABASE_URL is set, else on PGlite in a temporary DATA_DIR.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Kysely } from 'kysely'
import { buildClient, DEFAULT_OUT_DIR } from '../../client/build.js'
import { openDatabase } from '../../app/database/database.js'
import type { Database } from '../../app/database/schema.js'
import { openTestDatabase, silentLog, testConfig } from '../helpers.js'

const PROJECT_DIR = path.resolve(import.meta.dirname, '../..')
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
}

/**
 * Builds client-dist/ only when it is missing or older than a client source: CI has just run
 * `npm run build`, and other test files (the EB bundle) read client-dist/ while this one runs.
 */
export async function ensureClientBuilt(): Promise<void> {
  const built = await stat(path.join(DEFAULT_OUT_DIR, 'index.html')).catch(() => undefined)
  if (built) {
    const sources = await readdir(path.join(PROJECT_DIR, 'client'), { recursive: true, withFileTypes: true })
    const times = await Promise.all(sources.filter((entry) => entry.isFile()).map(async (entry) => (await stat(path.join(entry.parentPath, entry.name))).mtimeMs))
    if (Math.max(...times) <= built.mtimeMs) return
  }
  await buildClient()
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

async function waitUntilHealthy(origin: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode}:\n${output()}`)
    try {
      const response = await fetch(`${origin}/health`, { signal: AbortSignal.timeout(2000) })
      if (response.ok) return
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  throw new Error(`the service did not become healthy within ${START_TIMEOUT_MS} ms:\n${output()}`)
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  const forced = setTimeout(() => child.kill('SIGKILL'), 15_000)
  await exited
  clearTimeout(forced)
}

export async function startService(t: Teardown): Promise<RunningService> {
  const port = await freePort()
  const origin = `http://127.0.0.1:${port}`
  const { DATABASE_URL: _ignored, ...inherited } = process.env
  const env: NodeJS.ProcessEnv = { ...inherited, PORT: String(port), HOST: '127.0.0.1', SPACEX_SYNC_ON_START: 'false', LOG_LEVEL: 'warn' }

  let kind: RunningService['kind']
  let writeDatabase: RunningService['writeDatabase']
  let child: ChildProcess | undefined
  let output = ''

  const start = async () => {
    output = ''
    const started = spawn(process.execPath, ['--import=tsx', 'app/server.ts'], { cwd: PROJECT_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] })
    child = started
    started.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    started.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    await waitUntilHealthy(origin, started, () => output)
  }
  t.teardown(async () => {
    if (child) await stopChild(child)
  })

  if (process.env.TEST_DATABASE_URL) {
    kind = 'postgres'
    const { database, url } = await openTestDatabase(t)
    env.DATABASE_URL = url
    writeDatabase = (write) => write(database.db)
  } else {
    kind = 'pglite'
    const dataDir = await mkdtemp(path.join(tmpdir(), 'mission-control-browser-'))
    env.DATA_DIR = dataDir
    t.teardown(() => rm(dataDir, { recursive: true, force: true }))
    writeDatabase = async (write) => {
      if (child) await stopChild(child)
      const database = await openDatabase(testConfig({ DATA_DIR: dataDir }), silentLog)
      try {
        await write(database.db)
      } finally {
        await database.destroy()
      }
      await start()
    }
  }

  await start()
  return { origin, kind, writeDatabase }
}
