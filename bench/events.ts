// `npm run bench:events`: live updates at production settings (the compiled service in dist/, so
// `npm run build` first; NODE_ENV=production, the default log level, PostgreSQL). Two instances
// on one scratch database; 1,000 clients hold GET /v1/events on instance A and one on B while
// launches are scheduled on A, one at a time. Measured: write → delivered to every client on A
// (from the moment the POST is sent), A's RSS, and write on A → delivered on B. The same clients
// and writes against the anchor first (bench/anchor.ts: bare Fastify + pg, one LISTEN connection,
// each event written to every stream), for what this machine itself costs.
// BENCH_DATABASE_URL picks the PostgreSQL server (default postgres://postgres@127.0.0.1:5432/postgres).
import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { request } from 'node:http'
import { availableParallelism } from 'node:os'
import path from 'node:path'
import { createTestOperator, silentLog, testConfig } from '../test/helpers.js'
import { withDatabase } from '../app/database/database.js'
import { admin, databaseUrlFor } from './admin-database.js'
import { startServer, startService, type Server } from './server-process.js'
import { percentile } from './percentile.js'

const root = path.resolve(import.meta.dirname, '..')
const SCRATCH = 'mission_control_bench_events'
const CLIENTS = Number(process.env.BENCH_EVENTS_CLIENTS ?? 1000)
const WRITES = Number(process.env.BENCH_EVENTS_WRITES ?? 200)
const WRITE_GAP_MS = 40

const databaseUrl = databaseUrlFor(SCRATCH)

function run(args: string[], env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'ignore', 'inherit'] })
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${args.join(' ')} exited with ${code}`))))
  })
}

/** Opens a stream and calls `delivered(write number)` for each benchmark launch it carries. */
function openStream(baseUrl: string, delivered: (write: number, at: number) => void): Promise<() => void> {
  const url = new URL('/v1/events', baseUrl)
  return new Promise((resolve, reject) => {
    const outgoing = request({ host: url.hostname, port: url.port, path: url.pathname, agent: false }, (incoming) => {
      if (incoming.statusCode !== 200) return reject(new Error(`/v1/events answered ${incoming.statusCode}`))
      incoming.setEncoding('utf8')
      let first = true
      incoming.on('data', (text: string) => {
        const at = performance.now()
        if (first) {
          first = false
          resolve(() => outgoing.destroy())
        }
        for (const match of text.matchAll(/"mission":"Bench event (\d+)"/g)) delivered(Number(match[1]), at)
      })
    })
    outgoing.on('error', reject)
    outgoing.end()
  })
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024
}

interface FanOut {
  /** Write → delivered, per client and write, on the instance written to. */
  onA: number[]
  /** Per write, first → last arrival among its clients: the fan-out's own cost. */
  fanOut: number[]
  /** How long each POST took to answer: the write's own share of write → delivered. */
  postMs: number[]
  onB: number[]
  everyClientGotEveryEvent: boolean
  rss: { idle: number; streams: number; peak: number }
  seconds: number
}

/** CLIENTS streams on `a` (and one on `b`), WRITES launches scheduled on `a` one at a time. */
async function measure(a: Server, b: Server | undefined, headers: Record<string, string>): Promise<FanOut> {
  const rssIdle = await rssMb(a.pid)
  const sentAt: number[] = []
  const postMs: number[] = []
  const onA: number[] = []
  const onB: number[] = []
  const deliveredOnA = new Array<number>(WRITES).fill(0)
  const firstOnA = new Array<number>(WRITES).fill(Infinity)
  const lastOnA = new Array<number>(WRITES).fill(0)
  const closers: Array<() => void> = []
  for (let i = 0; i < CLIENTS; i += 100) {
    closers.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(100, CLIENTS - i) }, () =>
          openStream(a.baseUrl, (write, at) => {
            onA.push(at - sentAt[write]!)
            deliveredOnA[write]! += 1
            firstOnA[write] = Math.min(firstOnA[write]!, at)
            lastOnA[write] = Math.max(lastOnA[write]!, at)
          })
        )
      ))
    )
  }
  if (b) closers.push(await openStream(b.baseUrl, (write, at) => onB.push(at - sentAt[write]!)))
  const rssStreams = await rssMb(a.pid)

  let rssPeak = rssStreams
  const started = performance.now()
  for (let write = 0; write < WRITES; write++) {
    sentAt[write] = performance.now()
    const response = await fetch(`${a.baseUrl}/v1/launches`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ mission: `Bench event ${write}`, rocket: 'Explorer IS1', target: 'Kepler-442 b', launchDate: `${new Date().getUTCFullYear() + 1}-01-01` })
    })
    if (response.status !== 201) throw new Error(`POST /v1/launches answered ${response.status}`)
    await response.arrayBuffer()
    postMs.push(performance.now() - sentAt[write]!)
    if (write % 20 === 0) rssPeak = Math.max(rssPeak, await rssMb(a.pid))
    await new Promise((resolve) => setTimeout(resolve, WRITE_GAP_MS))
  }
  const seconds = (performance.now() - started) / 1000
  // The last deliveries.
  const deadline = performance.now() + 5000
  while ((onA.length < WRITES * CLIENTS || (b && onB.length < WRITES)) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
  rssPeak = Math.max(rssPeak, await rssMb(a.pid))
  for (const close of closers) close()
  return {
    onA,
    fanOut: lastOnA.map((last, write) => last - firstOnA[write]!),
    postMs,
    onB,
    everyClientGotEveryEvent: deliveredOnA.every((count) => count === CLIENTS),
    rss: { idle: rssIdle, streams: rssStreams, peak: rssPeak },
    seconds
  }
}

await admin(`drop database if exists ${SCRATCH} with (force)`)
await admin(`create database ${SCRATCH}`)
const started: Server[] = []
try {
  await run(['dist/app/database/migrate-cli.js'], { DATABASE_URL: databaseUrl })
  const operator = await withDatabase(testConfig({ DATABASE_URL: databaseUrl }), silentLog, (database) => createTestOperator(database.db))

  const anchor = await startServer('bench/anchor.ts', { DATABASE_URL: databaseUrl }, '/hello')
  started.push(anchor)
  const bare = await measure(anchor, undefined, operator.headers)
  await anchor.stop()
  started.pop()

  const [a, b] = [await startService(databaseUrl), await startService(databaseUrl)]
  started.push(a, b)
  const service = await measure(a, b, operator.headers)

  const ms = (value: number) => `${value.toFixed(1)} ms`
  const cells = (values: number[]) => `${ms(percentile(values, 50))} | ${ms(percentile(values, 99))} | ${ms(percentile(values, 100))}`
  console.log(`\nLive updates: ${CLIENTS} /v1/events clients on instance A, 1 on instance B; ${WRITES} launches scheduled on A in ${service.seconds.toFixed(1)} s`)
  console.log('NODE_ENV=production, default log level, PostgreSQL (loopback), dist/; latencies from the moment each POST is sent')
  console.log('The anchor (bench/anchor.ts, bare Fastify + pg) ran the same clients and writes first.\n')
  console.log('| measure | p50 | p99 | max | delivered |')
  console.log('|---|---|---|---|---|')
  console.log(`| write on A → delivered to ${CLIENTS} clients on A | ${cells(service.onA)} | ${service.onA.length} of ${WRITES * CLIENTS} |`)
  console.log(`| (the anchor: write → delivered to ${CLIENTS} clients) | ${cells(bare.onA)} | ${bare.onA.length} of ${WRITES * CLIENTS} |`)
  console.log(`| (fan-out: first → last of the ${CLIENTS} clients, per write) | ${cells(service.fanOut)} | |`)
  console.log(`| (the anchor's fan-out) | ${cells(bare.fanOut)} | |`)
  console.log(`| (the POST itself, answered) | ${cells(service.postMs)} | |`)
  console.log(`| (the anchor's POST) | ${cells(bare.postMs)} | |`)
  console.log(`| write on A → delivered on B | ${cells(service.onB)} | ${service.onB.length} of ${WRITES} |`)
  console.log(`\np99 write → delivered on A: ${(percentile(service.onA, 99) / percentile(bare.onA, 99)).toFixed(2)}× the anchor's`)
  console.log(`Instance A RSS: ${service.rss.idle.toFixed(0)} MB idle, ${service.rss.streams.toFixed(0)} MB with ${CLIENTS} streams open, ${service.rss.peak.toFixed(0)} MB peak while writing (target ≤ 300 MB; the anchor ${bare.rss.peak.toFixed(0)} MB)`)
  const [load1] = (await readFile('/proc/loadavg', 'utf8')).split(' ')
  console.log(`Load average (1 min) at the end: ${load1} on ${availableParallelism()} CPUs`)
  console.log(`Targets: A p99 ≤ 250 ms, RSS ≤ 300 MB. Every client got every event: ${service.everyClientGotEveryEvent && bare.everyClientGotEveryEvent ? 'yes' : 'NO'}`)
} finally {
  await Promise.all(started.map((server) => server.stop()))
  await admin(`drop database if exists ${SCRATCH} with (force)`)
}
