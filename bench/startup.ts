// `npm run bench:startup` (after `npm run build`): start → /health 200 of the compiled service,
// three ways, each STARTUP_RUNS times (default 3; the median is printed): on PostgreSQL with the
// schema current (NODE_ENV=production, BENCH_DATABASE_URL, default
// postgres://postgres@127.0.0.1:5432/postgres; a scratch database is created and dropped), embedded
// PGlite on a new data directory (first start), and embedded again on that directory.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pino } from 'pino'
import { loadConfig } from '../app/config/config.js'
import { withDatabase } from '../app/database/database.js'
import { prepareDatabase } from '../app/prepare-database.js'
import { admin, databaseUrlFor } from './admin-database.js'
import { startServer } from './server-process.js'

const SCRATCH = 'mission_control_bench_startup'
const RUNS = Number(process.env.STARTUP_RUNS ?? 3)
const scratchUrl = databaseUrlFor(SCRATCH)

/** Starts dist/app/server.js and returns the milliseconds until /health answers 200, then stops it. */
async function startToHealthy(env: Record<string, string>): Promise<number> {
  const server = await startServer('dist/app/server.js', { SPACEX_SYNC_ON_START: 'false', ...env }, '/health')
  await server.stop()
  return server.startToHealthyMs
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

await admin(`drop database if exists ${SCRATCH} with (force)`)
await admin(`create database ${SCRATCH}`)
const log = pino({ level: 'silent' })
try {
  await withDatabase(loadConfig({ DATABASE_URL: scratchUrl }), log, (database) => prepareDatabase(database.db, log))
  const postgres: number[] = []
  const first: number[] = []
  const again: number[] = []
  for (let run = 0; run < RUNS; run++) {
    postgres.push(await startToHealthy({ NODE_ENV: 'production', DATABASE_URL: scratchUrl }))
    const dataDir = path.join(await mkdtemp(path.join(tmpdir(), 'mission-control-startup-')), 'data')
    try {
      first.push(await startToHealthy({ DATA_DIR: dataDir }))
      again.push(await startToHealthy({ DATA_DIR: dataDir }))
    } finally {
      await rm(path.dirname(dataDir), { recursive: true, force: true })
    }
  }
  const show = (values: number[]) => `${median(values)} (${values.join(', ')})`
  process.stdout.write(
    [
      `start → /health 200, ms, median of ${RUNS} (each run):`,
      `  PostgreSQL, schema current:   ${show(postgres)}   target ≤ 1000`,
      `  embedded, existing data:      ${show(again)}   target ≤ 3000`,
      `  embedded, first start:        ${show(first)}   target ≤ 5000`,
      ''
    ].join('\n')
  )
} finally {
  await admin(`drop database if exists ${SCRATCH} with (force)`)
}
