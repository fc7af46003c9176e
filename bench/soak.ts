// `npm run bench -- --soak`: ten minutes of steady mixed load (test/fleet/load.ts: reads, writes,
// aborts, event streams when the service has them) on one service process on PostgreSQL, which
// samples itself every 5 s (bench/soak-service.ts). The closing note gives the growth of each
// figure from the first minute after warm-up to the last minute: a leak shows as growth, and
// the target is below 10 %. Not a test: figures vary with the machine.
//
//   SOAK_DURATION_S (600), SOAK_WARMUP_S (60), SOAK_RATE (requests/s, 50),
//   BENCH_DATABASE_URL (postgres://postgres@127.0.0.1:5432/postgres; a scratch database is used)
import { fork } from 'node:child_process'
import { once } from 'node:events'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { openDatabase } from '../app/database/database.js'
import { LoadGenerator } from '../test/fleet/load.js'
import { createTestOperator, silentLog, testConfig } from '../test/helpers.js'
import { freePort } from '../test/support/free-port.js'
import type { SoakSample } from './soak-service.js'
import { admin, databaseUrlFor } from './admin-database.js'

const DURATION_S = Number(process.env.SOAK_DURATION_S ?? 600)
const WARMUP_S = Number(process.env.SOAK_WARMUP_S ?? 60)
const RATE = Number(process.env.SOAK_RATE ?? 50)
const WINDOW_S = Math.min(60, (DURATION_S - WARMUP_S) / 2)
const SCRATCH = 'mission_control_soak'

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0

await admin(`drop database if exists ${SCRATCH} with (force)`)
await admin(`create database ${SCRATCH}`)
const url = new URL(databaseUrlFor(SCRATCH))
const port = await freePort()
const service = fork(path.join(import.meta.dirname, 'soak-service.ts'), [], {
  execArgv: ['--import=tsx'],
  env: {
    PATH: process.env.PATH ?? '',
    DATABASE_URL: url.toString(),
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    SPACEX_SYNC_ON_START: 'false',
    // One client address and one operator send all the load: the per-IP and per-operator limits would refuse most of it.
    RATE_LIMIT_IP_READS_PER_MINUTE: '0',
    RATE_LIMIT_IP_WRITES_PER_MINUTE: '0',
    RATE_LIMIT_OPERATOR_WRITES_PER_MINUTE: '0'
  },
  stdio: ['ignore', 'ignore', 'inherit', 'ipc']
})
const samples: SoakSample[] = []
service.on('message', (message) => {
  if (typeof message === 'object') samples.push(message as SoakSample)
})
try {
  const [ready] = (await Promise.race([once(service, 'message'), once(service, 'exit')])) as [unknown]
  if (ready !== 'listening') throw new Error('the service exited before listening')
  // Writes belong to an operator: the load sends its API token (the service has migrated).
  const handle = await openDatabase(testConfig({ DATABASE_URL: url.toString() }), silentLog)
  const operator = await createTestOperator(handle.db).finally(() => handle.destroy())
  const load = new LoadGenerator({ url: `http://127.0.0.1:${port}`, headers: operator.headers, rate: RATE, streams: 2 })
  const startedAt = Date.now()
  await load.start()
  console.log(`soak: ${DURATION_S} s at ${RATE} requests/s (warm-up ${WARMUP_S} s), sampling every 5 s…`)
  await sleep(DURATION_S * 1000)
  await load.stop()
  service.send('stop')
  await once(service, 'exit')

  const window = (from: number) => samples.filter((sample) => sample.at >= from && sample.at < from + WINDOW_S * 1000)
  const first = window(startedAt + WARMUP_S * 1000)
  const last = window(startedAt + (DURATION_S - WINDOW_S) * 1000)
  // [figure, how to read it, decimals, whether it is in the closing note]
  const metrics: Array<[string, (sample: SoakSample) => number, number, boolean]> = [
    ['RSS (MB)', (s) => s.rssBytes / 2 ** 20, 1, true],
    ['heap used (MB)', (s) => s.heapUsedBytes / 2 ** 20, 1, true],
    ['open file descriptors', (s) => s.openFds, 0, true],
    ['requests waiting for a connection (max)', (s) => s.poolWaitingMax, 0, true],
    ['longest wait for a connection (ms)', (s) => s.poolWaitMaxMs, 0, false],
    ['event-loop delay p99 (ms)', (s) => s.eventLoopDelayP99Ms, 1, true],
    ['event-loop delay max (ms)', (s) => s.eventLoopDelayMaxMs, 1, false]
  ]
  const failedRequests = load.records.filter((record) => record.status !== (record.kind === 'write' ? 201 : 200)).length
  console.log(`\n${load.records.length} requests (${(load.records.length / DURATION_S).toFixed(0)}/s), ${failedRequests} failed, ${load.skipped} skipped at the in-flight bound; ${samples.length} samples\n`)
  console.log(`| figure (median of ${WINDOW_S} s windows) | after warm-up | at the end | growth |`)
  console.log('| --- | ---: | ---: | ---: |')
  const growth: string[] = []
  for (const [name, read, digits, noted] of metrics) {
    const [before, after] = [median(first.map(read)), median(last.map(read))]
    const change = before > 0 ? `${(((after - before) / before) * 100).toFixed(1)} %` : `${before.toFixed(digits)} → ${after.toFixed(digits)}`
    console.log(`| ${name} | ${before.toFixed(digits)} | ${after.toFixed(digits)} | ${change} |`)
    if (noted) growth.push(`${name.replace(/ \(.*\)/, '')} ${change}`)
  }
  console.log(`\nGrowth after warm-up: ${growth.join(', ')} (target below 10 %).`)
} finally {
  if (service.exitCode === null) service.kill('SIGKILL')
  await admin(`drop database if exists ${SCRATCH} with (force)`)
}
