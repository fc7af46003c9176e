// `npm run bench`: the service against the anchor (bench/anchor.ts, the thinnest Fastify 5 + pg
// server) in one run, at production settings (NODE_ENV=production, the default log level), on the
// compiled service (dist/: the script builds first) and a real PostgreSQL (BENCH_DATABASE_URL,
// default postgres://postgres@127.0.0.1:5432/postgres; a scratch database is created and dropped).
// Prints one table: list pages, planets, writes, a write on one instance seen in a list on another,
// keyset pages of 1,000,000 launches, start-up; the service with READ_CACHE=off beside the cached
// one. Loopback only; measurements alternate (anchor, cached, uncached, again) since absolute
// figures vary from run to run on a shared machine.
// BENCH_DURATION_S sets the seconds per measurement (default 5).
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import autocannon from 'autocannon'
import { pino } from 'pino'
import { createApiToken } from '../app/auth/credentials.js'
import { loadConfig } from '../app/config/config.js'
import { withDatabase } from '../app/database/database.js'
import { insertOperator } from '../app/operators/operators-queries.js'
import { prepareDatabase } from '../app/prepare-database.js'
import { admin, databaseUrlFor } from './admin-database.js'
import { startServer, startService, type Server } from './server-process.js'
import { percentile } from './percentile.js'

// `npm run bench -- --soak`: the soak (bench/soak.ts) instead of this benchmark.
if (process.argv.includes('--soak')) {
  await import('./soak.js')
  process.exit()
}

const SCRATCH = 'mission_control_bench'
const LAUNCHES = 10_000
const DEEP_LAUNCHES = 1_000_000
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5)
const CONNECTIONS = 100
const ROUNDS = 2
const LIST = '/v1/launches?limit=50&page=3'
/** Two instances: launches scheduled on A one at a time, each looked for in this list on B. */
const CROSS_WRITES = 200
const NEWEST = '/v1/launches?order=desc&limit=1'
const POLL_MS = 2
/** A write not seen on B within this long counts as missed (and the next one starts). */
const SEEN_TIMEOUT_MS = 5000

const scratchUrl = databaseUrlFor(SCRATCH)

/** The service on the scratch database (startService, bench/server-process.ts). */
const startBenchService = (env: Record<string, string>) => startService(scratchUrl, env)

interface Load {
  rps: number
  /** Mean latency, ms (with decimals: single-client page latencies are around a millisecond). */
  mean: number
  p50: number
  p99: number
  errors: number
}

async function load(url: string, options: Partial<autocannon.Options> = {}): Promise<Load> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: DURATION_S, ...options })
  return {
    rps: Math.round(result.requests.average),
    mean: result.latency.mean,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx
  }
}

/** The mean of the alternating rounds. */
function mean(runs: Load[]): Load {
  const average = (key: keyof Load) => runs.reduce((sum, run) => sum + run[key], 0) / runs.length
  return { rps: Math.round(average('rps')), mean: average('mean'), p50: average('p50'), p99: average('p99'), errors: runs.reduce((sum, run) => sum + run.errors, 0) }
}

/** Launches scheduled here, one statement: flight numbers from the identity, destinations spread over the catalogue. */
async function addLaunches(count: number): Promise<void> {
  await admin(
    `insert into launches (mission, rocket, launch_date, target_planet_id, status, source)
     select 'Bench mission ' || i, 'Explorer IS' || (i % 5), now() + (i % 3650) * interval '1 day',
            (select id from planets order by id offset (i % 8) limit 1), 'upcoming', 'mission_control'
     from generate_series(1, ${count}) as i`,
    scratchUrl
  )
  // As autovacuum leaves a settled table: statistics, and the visibility map index-only scans use.
  await admin('vacuum analyze launches', scratchUrl)
}

/**
 * Schedules CROSS_WRITES launches on `a`, one at a time, with the API token; after each 201, polls
 * B's NEWEST list (one request in flight, POLL_MS between answers) until it shows the new flight
 * number. The delays, ms, from A's 201 to B's answer showing it: with the read cache on, B's entry
 * for NEWEST is current before every write, so only the change feed (LISTEN/NOTIFY) clears it.
 */
async function writeOnASeenOnB(a: Server, b: Server, token: string): Promise<{ delays: number[]; missed: number }> {
  const delays: number[] = []
  let missed = 0
  const launchDate = `${new Date().getUTCFullYear() + 1}-01-01`
  for (let write = 0; write < CROSS_WRITES; write++) {
    const created = await fetch(`${a.baseUrl}/v1/launches`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ mission: `Bench cross ${write}`, rocket: 'Explorer IS1', target: 'Kepler-442 b', launchDate })
    })
    if (created.status !== 201) throw new Error(`POST /v1/launches on A answered ${created.status}`)
    const { flightNumber } = (await created.json()) as { flightNumber: number }
    const answeredAt = performance.now()
    for (;;) {
      const newest = (await (await fetch(`${b.baseUrl}${NEWEST}`)).json()) as Array<{ flightNumber: number }>
      if (newest[0]?.flightNumber === flightNumber) {
        delays.push(performance.now() - answeredAt)
        break
      }
      if (performance.now() - answeredAt > SEEN_TIMEOUT_MS) {
        missed++
        break
      }
      await sleep(POLL_MS)
    }
  }
  return { delays, missed }
}

const log = pino({ level: 'silent' })
const fixed = (value: number, digits = 1) => value.toFixed(digits)
const rows: string[] = []
const row = (...cells: Array<string | number>) => rows.push(`| ${cells.join(' | ')} |`)

await admin(`drop database if exists ${SCRATCH} with (force)`)
await admin(`create database ${SCRATCH}`)
const dataDir = await mkdtemp(path.join(tmpdir(), 'mission-control-bench-'))
try {
  const token = await withDatabase(loadConfig({ DATABASE_URL: scratchUrl }), log, async (database) => {
    await prepareDatabase(database.db, log)
    const operator = await insertOperator(database.db, { email: 'bench@example.com', name: 'Bench', role: 'operator', passwordHash: null })
    return (await createApiToken(database.db, operator.id, { name: 'bench', expiresInDays: 1 })).token
  })
  await addLaunches(LAUNCHES)
  process.stderr.write(`${LAUNCHES} launches stored; measuring ${DURATION_S} s per run…\n`)

  // 1. Reads at 100 connections: the anchor, the cached service, the service with READ_CACHE=off.
  const anchor = await startServer('bench/anchor.ts', { DATABASE_URL: scratchUrl }, '/hello')
  const cached = await startBenchService({})
  const uncached = await startBenchService({ READ_CACHE: 'off' })
  const startPostgresMs = cached.startToHealthyMs
  const runs = { anchorList: [] as Load[], cachedList: [] as Load[], uncachedList: [] as Load[], hello: [] as Load[], cachedPlanets: [] as Load[], uncachedPlanets: [] as Load[] }
  try {
    for (let round = 0; round < ROUNDS; round++) {
      runs.anchorList.push(await load(`${anchor.baseUrl}${LIST}`))
      runs.cachedList.push(await load(`${cached.baseUrl}${LIST}`))
      runs.uncachedList.push(await load(`${uncached.baseUrl}${LIST}`))
      runs.hello.push(await load(`${anchor.baseUrl}/hello`))
      runs.cachedPlanets.push(await load(`${cached.baseUrl}/v1/planets`))
      runs.uncachedPlanets.push(await load(`${uncached.baseUrl}/v1/planets`))
    }
  } finally {
    await Promise.all([anchor.stop(), uncached.stop()])
  }
  const [anchorList, cachedList, uncachedList] = [mean(runs.anchorList), mean(runs.cachedList), mean(runs.uncachedList)]
  const [hello, cachedPlanets, uncachedPlanets] = [mean(runs.hello), mean(runs.cachedPlanets), mean(runs.uncachedPlanets)]
  const failed = [anchorList, cachedList, uncachedList, hello, cachedPlanets, uncachedPlanets].reduce((sum, run) => sum + run.errors, 0)
  if (failed > 0) process.stderr.write(`warning: ${failed} read requests failed (errors, timeouts or non-2xx answers)\n`)
  row(
    `GET ${LIST} (${LAUNCHES.toLocaleString('en')} launches), req/s · p99 ms`,
    `${cachedList.rps} · ${cachedList.p99}`,
    `${uncachedList.rps} · ${uncachedList.p99}`,
    `${anchorList.rps} · ${anchorList.p99}`,
    `${fixed(cachedList.rps / anchorList.rps, 2)}× (off: ${fixed(uncachedList.rps / anchorList.rps, 2)}×)`,
    '≥ 3×, p99 ≤ anchor'
  )
  row(
    'GET /v1/planets vs the anchor’s hello world, req/s · p99 ms',
    `${cachedPlanets.rps} · ${cachedPlanets.p99}`,
    `${uncachedPlanets.rps} · ${uncachedPlanets.p99}`,
    `${hello.rps} · ${hello.p99}`,
    `${fixed(cachedPlanets.rps / hello.rps, 2)}× (off: ${fixed(uncachedPlanets.rps / hello.rps, 2)}×)`,
    '≥ 0.5×'
  )

  // 2. Writes at 100 connections, as one operator with an API token; every flight number must be new.
  //    The anchor runs the same statements (bench/anchor.ts), alternating with the service.
  const launchDate = `${new Date().getUTCFullYear() + 1}-01-01`
  const writeRuns = { service: [] as number[], anchor: [] as number[], serviceP99: [] as number[], anchorP99: [] as number[] }
  const flightNumbers: number[] = []
  let refused = 0
  let statuses = ''
  const writeAnchor = await startServer('bench/anchor.ts', { DATABASE_URL: scratchUrl }, '/hello')
  try {
    /** Launches stored per second, and the p99: refused requests (503 while writes queue past the pool-wait limit) do not count. */
    const storeLaunches = async (baseUrl: string, record: boolean) => {
      let stored = 0
      const writes = await load(`${baseUrl}/v1/launches`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ mission: 'Bench write', rocket: 'Explorer IS1', target: 'Kepler-442 b', launchDate }),
        requests: [
          {
            onResponse: (status: number, body: string) => {
              if (status === 201) {
                stored++
                flightNumbers.push(JSON.parse(body).flightNumber)
              } else if (record && !statuses.includes(String(status))) statuses += ` ${status}`
            }
          }
        ]
      })
      if (record) refused += writes.errors
      return { perSecond: stored / DURATION_S, p99: writes.p99 }
    }
    for (let round = 0; round < ROUNDS; round++) {
      const anchorWrites = await storeLaunches(writeAnchor.baseUrl, false)
      writeRuns.anchor.push(anchorWrites.perSecond)
      writeRuns.anchorP99.push(anchorWrites.p99)
      const serviceWrites = await storeLaunches(cached.baseUrl, true)
      writeRuns.service.push(serviceWrites.perSecond)
      writeRuns.serviceP99.push(serviceWrites.p99)
    }
  } finally {
    await Promise.all([cached.stop(), writeAnchor.stop()])
  }
  const average = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length
  const duplicates = flightNumbers.length - new Set(flightNumbers).size
  const [serviceWrites, anchorWrites] = [average(writeRuns.service), average(writeRuns.anchor)]
  row(
    'POST /v1/launches (API token), launches stored/s · p99 ms',
    `${Math.round(serviceWrites)} · ${Math.round(average(writeRuns.serviceP99))}`,
    '',
    `${Math.round(anchorWrites)} · ${Math.round(average(writeRuns.anchorP99))}`,
    `${fixed(serviceWrites / anchorWrites, 2)}×; ${duplicates} duplicate flight numbers in ${flightNumbers.length} launches${refused ? `; ${refused} refused (${statuses.trim()})` : ''}`,
    '≥ 1,000/s, 0 duplicates'
  )

  // 3. A write on instance A visible in a list from instance B: two instances on the one database,
  //    then two more with READ_CACHE=off (the database alone, for comparison).
  const crossInstance = async (env: Record<string, string>) => {
    const a = await startBenchService(env)
    try {
      const b = await startBenchService(env)
      try {
        return await writeOnASeenOnB(a, b, token)
      } finally {
        await b.stop()
      }
    } finally {
      await a.stop()
    }
  }
  const crossCached = await crossInstance({})
  const crossUncached = await crossInstance({ READ_CACHE: 'off' })
  const delays = ({ delays: values, missed }: { delays: number[]; missed: number }) =>
    `${[50, 99, 100].map((p) => fixed(percentile(values, p))).join(' · ')}${missed ? ` (${missed} not seen in ${SEEN_TIMEOUT_MS / 1000} s)` : ''}`
  row(
    `write on A → in B's GET ${NEWEST} (2 instances, 1 database, ${CROSS_WRITES} writes one at a time; B polled every ${POLL_MS} ms, one request in flight), p50 · p99 · max ms`,
    delays(crossCached),
    delays(crossUncached),
    '',
    `${crossCached.delays.length} of ${CROSS_WRITES} seen (off: ${crossUncached.delays.length})`,
    'p99 ≤ 100 ms'
  )

  // 4. Keyset pages of a million launches: the last page by `after` against the first, one client
  //    at a time, READ_CACHE=off (a cached page would measure the cache); a deep offset page beside.
  const loadStarted = performance.now()
  const [stored] = await admin<{ count: number }>('select count(*)::int as count from launches', scratchUrl)
  await addLaunches(DEEP_LAUNCHES - stored!.count)
  process.stderr.write(`${DEEP_LAUNCHES} launches stored in ${Math.round((performance.now() - loadStarted) / 1000)} s\n`)
  const deep = await startBenchService({ READ_CACHE: 'off' })
  try {
    const last = (await (await fetch(`${deep.baseUrl}/v1/launches?limit=1&order=desc`)).json()) as Array<{ flightNumber: number }>
    const lastPageAfter = last[0]!.flightNumber - 50
    const one = { connections: 1, duration: Math.max(2, Math.round(DURATION_S / 2)) }
    const first = await load(`${deep.baseUrl}/v1/launches?limit=50`, one)
    const keyset = await load(`${deep.baseUrl}/v1/launches?limit=50&after=${lastPageAfter}`, one)
    const offset = await load(`${deep.baseUrl}/v1/launches?limit=50&page=${DEEP_LAUNCHES / 50}`, one)
    const latency = (run: Load) => (run.errors ? `${run.errors} errors` : `${fixed(run.mean, 2)} · ${run.p99}`)
    row(
      `last page of ${DEEP_LAUNCHES.toLocaleString('en')} launches by after= vs the first page, mean · p99 ms (1 client)`,
      '',
      `first ${latency(first)}; last ${latency(keyset)}`,
      '',
      `${fixed(keyset.mean / first.mean, 2)}× (the last page by page=: ${latency(offset)} ms, ${fixed(offset.mean / first.mean, 1)}×)`,
      '≤ 1.5×'
    )
  } finally {
    await deep.stop()
  }

  // 5. Start → /health 200: PostgreSQL with the schema current (the cached service above), embedded
  //    PGlite the first time (initdb and every migration) and again on the existing data directory.
  const embedded = { SPACEX_SYNC_ON_START: 'false', DATA_DIR: dataDir }
  const firstEmbedded = await startServer('dist/app/server.js', embedded, '/health')
  await firstEmbedded.stop()
  const againEmbedded = await startServer('dist/app/server.js', embedded, '/health')
  await againEmbedded.stop()
  row(
    'start → /health 200, ms: PostgreSQL (schema current) · embedded, existing data · embedded, first start',
    `${startPostgresMs} · ${againEmbedded.startToHealthyMs} · ${firstEmbedded.startToHealthyMs}`,
    '',
    '',
    '',
    '≤ 1,000 · ≤ 3,000 · ≤ 5,000'
  )
} finally {
  await rm(dataDir, { recursive: true, force: true })
  await admin(`drop database if exists ${SCRATCH} with (force)`)
}

console.log(`\nnpm run bench — autocannon, ${CONNECTIONS} connections unless said, ${DURATION_S} s per run, ${ROUNDS} alternating rounds for reads (means)\n`)
console.log('| measure | service | service, READ_CACHE=off | anchor | ratio / result | target |')
console.log('| --- | ---: | ---: | ---: | --- | --- |')
for (const line of rows) console.log(line)
