// `npm run bench`: start-up time and GET /v1/launches?limit=50 throughput of the compiled
// service (dist/, so run `npm run build` first), measured side by side on PostgreSQL and on
// embedded PGlite in one run. Loopback only. BENCH_DATABASE_URL picks the PostgreSQL server
// (default postgres://postgres@127.0.0.1:5432/postgres); a scratch database is created and dropped.
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import autocannon from 'autocannon'
import pg from 'pg'
import { freePort } from '../test/support/free-port.js'

// `npm run bench -- --soak`: the soak (bench/soak.ts) instead of this benchmark.
if (process.argv.includes('--soak')) {
  await import('./soak.js')
  process.exit()
}

const root = path.resolve(import.meta.dirname, '..')
const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const SCRATCH = 'mission_control_bench'
const LAUNCHES = 1000
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10)
const CONNECTIONS = 100

async function admin(sqlText: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    await client.query(sqlText)
  } finally {
    await client.end()
  }
}

function scratchUrl(): string {
  const url = new URL(adminUrl)
  url.pathname = `/${SCRATCH}`
  return url.toString()
}

interface Measurement {
  database: string
  startToHealthyMs: number
  requestsPerSecond: number
  latencyP50Ms: number
  latencyP99Ms: number
  errors: number
}

async function measure(database: string, env: Record<string, string>): Promise<Measurement> {
  const port = await freePort()
  const baseUrl = `http://127.0.0.1:${port}`
  const started = performance.now()
  const child = spawn(process.execPath, ['dist/app/server.js'], {
    cwd: root,
    // The read path alone: seeding writes anonymously, and no per-IP limit on one loopback client.
    env: { PATH: process.env.PATH ?? '', PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', SPACEX_SYNC_ON_START: 'false', AUTH_REQUIRED: 'false', RATE_LIMIT_IP_READS_PER_MINUTE: '0', RATE_LIMIT_IP_WRITES_PER_MINUTE: '0', ...env },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  try {
    let healthyAt = 0
    while (!healthyAt) {
      if (child.exitCode !== null) throw new Error(`service exited with ${child.exitCode}`)
      const status = await fetch(`${baseUrl}/health`).then((r) => r.status, () => 0)
      if (status === 200) healthyAt = performance.now()
      else await new Promise((resolve) => setTimeout(resolve, 20))
    }
    const startToHealthyMs = healthyAt - started

    const launchDate = `${new Date().getUTCFullYear() + 1}-01-01`
    for (let i = 0; i < LAUNCHES; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, j) =>
          fetch(`${baseUrl}/v1/launches`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ mission: `Bench ${i + j}`, rocket: 'Explorer IS1', target: 'Kepler-442 b', launchDate })
          })
        )
      )
    }
    const result = await autocannon({ url: `${baseUrl}/v1/launches?limit=50&page=3`, connections: CONNECTIONS, duration: DURATION_S })
    return {
      database,
      startToHealthyMs: Math.round(startToHealthyMs),
      requestsPerSecond: Math.round(result.requests.average),
      latencyP50Ms: result.latency.p50,
      latencyP99Ms: result.latency.p99,
      errors: result.errors + result.non2xx
    }
  } finally {
    child.kill('SIGTERM')
    await exited
  }
}

await admin(`drop database if exists ${SCRATCH} with (force)`)
await admin(`create database ${SCRATCH}`)
const dataDir = await mkdtemp(path.join(tmpdir(), 'mission-control-bench-'))
try {
  const results = [await measure('PostgreSQL', { DATABASE_URL: scratchUrl() }), await measure('PGlite', { DATA_DIR: dataDir })]
  console.log(`\nGET /v1/launches?limit=50 — autocannon, ${CONNECTIONS} connections, ${DURATION_S} s, ${LAUNCHES} launches stored\n`)
  console.log('| database | start → healthy (ms) | requests/s | p50 (ms) | p99 (ms) | errors |')
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |')
  for (const r of results) {
    console.log(`| ${r.database} | ${r.startToHealthyMs} | ${r.requestsPerSecond} | ${r.latencyP50Ms} | ${r.latencyP99Ms} | ${r.errors} |`)
  }
  const [postgres, pglite] = results as [Measurement, Measurement]
  console.log(`\nPostgreSQL / PGlite throughput ratio: ${(postgres.requestsPerSecond / pglite.requestsPerSecond).toFixed(2)}`)
} finally {
  await rm(dataDir, { recursive: true, force: true })
  await admin(`drop database if exists ${SCRATCH} with (force)`)
}
