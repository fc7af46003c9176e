// `npm run bench:events`: live updates at production settings (the compiled service in dist/, so
// `npm run build` first; NODE_ENV=production, the default log level, PostgreSQL). Two instances
// on one scratch database; 1,000 clients hold GET /v1/events on instance A and one on B while
// launches are scheduled on A, one at a time. Measured: write → delivered to every client on A
// (from the moment the POST is sent), A's RSS, and write on A → delivered on B.
// BENCH_DATABASE_URL picks the PostgreSQL server (default postgres://postgres@127.0.0.1:5432/postgres).
import { spawn, type ChildProcess } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { request } from 'node:http'
import { availableParallelism } from 'node:os'
import path from 'node:path'
import { createTestOperator, silentLog, testConfig } from '../test/helpers.js'
import { withDatabase } from '../app/database/database.js'
import { freePort } from '../test/support/free-port.js'
import { admin, databaseUrlFor } from './admin-database.js'
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

async function startInstance(): Promise<{ child: ChildProcess; baseUrl: string; exited: Promise<unknown> }> {
  const port = await freePort()
  const child = spawn(process.execPath, ['dist/app/server.js'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      SPACEX_SYNC_ON_START: 'false',
      // One loopback address stands for 1,000 browsers.
      RATE_LIMIT_IP_READS_PER_MINUTE: '0',
      RATE_LIMIT_IP_WRITES_PER_MINUTE: '0',
      RATE_LIMIT_OPERATOR_WRITES_PER_MINUTE: '0'
    },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  const baseUrl = `http://127.0.0.1:${port}`
  for (;;) {
    if (child.exitCode !== null) throw new Error(`service exited with ${child.exitCode}`)
    if ((await fetch(`${baseUrl}/health`).then((r) => r.status, () => 0)) === 200) return { child, baseUrl, exited }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
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

await admin(`drop database if exists ${SCRATCH} with (force)`)
await admin(`create database ${SCRATCH}`)
const instances: Array<Awaited<ReturnType<typeof startInstance>>> = []
try {
  await run(['dist/app/database/migrate-cli.js'], { DATABASE_URL: databaseUrl })
  const operator = await withDatabase(testConfig({ DATABASE_URL: databaseUrl }), silentLog, (database) => createTestOperator(database.db))
  const [a, b] = [await startInstance(), await startInstance()]
  instances.push(a, b)
  const rssIdle = await rssMb(a.child.pid!)

  const sentAt: number[] = []
  /** How long each POST took to answer: the write's own share of write → delivered. */
  const postMs: number[] = []
  const onA: number[] = []
  const onB: number[] = []
  const deliveredOnA = new Array<number>(WRITES).fill(0)
  /** Per write, the first and last arrival among A's clients: the fan-out's own cost. */
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
  closers.push(await openStream(b.baseUrl, (write, at) => onB.push(at - sentAt[write]!)))
  const rssStreams = await rssMb(a.child.pid!)

  let rssPeak = rssStreams
  const started = performance.now()
  for (let write = 0; write < WRITES; write++) {
    sentAt[write] = performance.now()
    const response = await fetch(`${a.baseUrl}/v1/launches`, {
      method: 'POST',
      headers: { ...operator.headers, 'content-type': 'application/json' },
      body: JSON.stringify({ mission: `Bench event ${write}`, rocket: 'Explorer IS1', target: 'Kepler-442 b', launchDate: `${new Date().getUTCFullYear() + 1}-01-01` })
    })
    if (response.status !== 201) throw new Error(`POST /v1/launches answered ${response.status}`)
    await response.arrayBuffer()
    postMs.push(performance.now() - sentAt[write]!)
    if (write % 20 === 0) rssPeak = Math.max(rssPeak, await rssMb(a.child.pid!))
    await new Promise((resolve) => setTimeout(resolve, WRITE_GAP_MS))
  }
  // The last deliveries.
  const deadline = performance.now() + 5000
  while ((onA.length < WRITES * CLIENTS || onB.length < WRITES) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
  rssPeak = Math.max(rssPeak, await rssMb(a.child.pid!))
  for (const close of closers) close()

  const ms = (value: number) => `${value.toFixed(1)} ms`
  console.log(`\nLive updates: ${CLIENTS} /v1/events clients on instance A, 1 on instance B; ${WRITES} launches scheduled on A in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  console.log('NODE_ENV=production, default log level, PostgreSQL (loopback), dist/; latencies from the moment each POST is sent\n')
  console.log('| measure | p50 | p99 | max | delivered |')
  console.log('|---|---|---|---|---|')
  console.log(`| write on A → delivered to ${CLIENTS} clients on A | ${ms(percentile(onA, 50))} | ${ms(percentile(onA, 99))} | ${ms(percentile(onA, 100))} | ${onA.length} of ${WRITES * CLIENTS} |`)
  const fanOut = lastOnA.map((last, write) => last - firstOnA[write]!)
  console.log(`| (fan-out: first → last of the ${CLIENTS} clients, per write) | ${ms(percentile(fanOut, 50))} | ${ms(percentile(fanOut, 99))} | ${ms(percentile(fanOut, 100))} | |`)
  console.log(`| (the POST itself, answered) | ${ms(percentile(postMs, 50))} | ${ms(percentile(postMs, 99))} | ${ms(percentile(postMs, 100))} | |`)
  console.log(`| write on A → delivered on B | ${ms(percentile(onB, 50))} | ${ms(percentile(onB, 99))} | ${ms(percentile(onB, 100))} | ${onB.length} of ${WRITES} |`)
  console.log(`\nInstance A RSS: ${rssIdle.toFixed(0)} MB idle, ${rssStreams.toFixed(0)} MB with ${CLIENTS} streams open, ${rssPeak.toFixed(0)} MB peak while writing (target ≤ 300 MB)`)
  const [load1] = (await readFile('/proc/loadavg', 'utf8')).split(' ')
  console.log(`Load average (1 min) at the end: ${load1} on ${availableParallelism()} CPUs`)
  console.log(`Targets: A p99 ≤ 250 ms, RSS ≤ 300 MB. Every client got every event: ${deliveredOnA.every((count) => count === CLIENTS) ? 'yes' : 'NO'}`)
} finally {
  for (const instance of instances) instance.child.kill('SIGTERM')
  await Promise.all(instances.map((instance) => instance.exited))
  await admin(`drop database if exists ${SCRATCH} with (force)`)
}
