// Runs the service the way production does (app/server.ts as its own process) for tests that
// need a real listener, signals and exit codes.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { withDatabase } from '../../app/database/database.js'
import { prepareDatabase } from '../../app/prepare-database.js'
import { createTestOperator, silentLog, testConfig, type TestOperator } from '../helpers.js'
import { freePort } from './free-port.js'

interface Teardown {
  teardown(fn: () => unknown): void
}

export interface ServiceProcess {
  child: ChildProcess
  baseUrl: string
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

const root = path.resolve(import.meta.dirname, '../..')

/** Starts app/server.ts with `env` on top of a minimal environment (no inherited DATABASE_URL). */
export function spawnService(t: Teardown, env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, ['--import=tsx', 'app/server.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', SPACEX_SYNC_ON_START: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout?.on('data', (chunk) => (output += chunk))
  child.stderr?.on('data', (chunk) => (output += chunk))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal }))
  )
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    return exited
  })
  return { child, baseUrl: `http://127.0.0.1:${env.PORT ?? 8080}`, output: () => output, exited }
}

/** Polls GET /health until it answers 200; returns the milliseconds that took. */
export async function waitUntilHealthy(service: ServiceProcess, timeoutMs = 120_000): Promise<number> {
  const started = performance.now()
  while (performance.now() - started < timeoutMs) {
    if (service.child.exitCode !== null) throw new Error(`service exited early:\n${service.output()}`)
    try {
      const response = await fetch(`${service.baseUrl}/health`)
      if (response.status === 200) return performance.now() - started
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`service not healthy within ${timeoutMs} ms:\n${service.output()}`)
}

/** A fresh port and, on PGlite, a private data directory removed when the test ends. */
export async function serviceEnv(t: Teardown, databaseUrl?: string): Promise<Record<string, string>> {
  const env: Record<string, string> = { PORT: String(await freePort()), HOST: '127.0.0.1' }
  if (databaseUrl) return { ...env, DATABASE_URL: databaseUrl }
  const dataDir = await mkdtemp(path.join(tmpdir(), 'mission-control-data-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  return { ...env, DATA_DIR: dataDir }
}

/**
 * An operator (with an API token) in the database a service process will use, created before the
 * process starts: PGlite allows one process per data directory.
 */
export async function seedOperator(env: Record<string, string>): Promise<TestOperator> {
  return withDatabase(testConfig(env), silentLog, async (database) => {
    await prepareDatabase(database.db, silentLog)
    return createTestOperator(database.db)
  })
}
