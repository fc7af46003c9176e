// The service for `npm run bench -- --soak`: started as app/server.ts starts it (configuration
// from the environment, migrations, buildApp, listen), plus a sampler that reports to the parent
// over IPC every SAMPLE_INTERVAL_MS what only the process itself can see: RSS, heap, open file
// descriptors, requests waiting for a pooled connection, event-loop delay.
import { readdirSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { buildApp } from '../app/app.js'
import { loadConfig } from '../app/config/config.js'
import { openDatabase } from '../app/database/database.js'
import { serverLogger } from '../app/logger.js'
import { prepareDatabase } from '../app/prepare-database.js'

export interface SoakSample {
  at: number
  rssBytes: number
  heapUsedBytes: number
  openFds: number
  /** The most requests waiting for a connection at once, and the longest wait, in the interval. */
  poolWaitingMax: number
  poolWaitMaxMs: number
  eventLoopDelayP99Ms: number
  eventLoopDelayMaxMs: number
}

const SAMPLE_INTERVAL_MS = 5000
const POOL_POLL_MS = 50

const config = loadConfig()
const log = serverLogger(config.LOG_LEVEL)
const database = await openDatabase(config, log)
await prepareDatabase(database.db, log)
const app = await buildApp({ config, database, loggerInstance: log })
await app.listen({ port: config.PORT, host: config.HOST })

const histogram = monitorEventLoopDelay({ resolution: 10 })
histogram.enable()
let poolWaitingMax = 0
let poolWaitMaxMs = 0
const poll = setInterval(() => {
  const usage = database.poolUsage?.()
  poolWaitingMax = Math.max(poolWaitingMax, usage?.waiting ?? 0)
  poolWaitMaxMs = Math.max(poolWaitMaxMs, usage?.longestWaitMs ?? 0)
}, POOL_POLL_MS)
const sample = setInterval(() => {
  const memory = process.memoryUsage()
  const report: SoakSample = {
    at: Date.now(),
    rssBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
    openFds: readdirSync('/proc/self/fd').length,
    poolWaitingMax,
    poolWaitMaxMs: Math.round(poolWaitMaxMs),
    eventLoopDelayP99Ms: histogram.percentile(99) / 1e6,
    eventLoopDelayMaxMs: histogram.max / 1e6
  }
  histogram.reset()
  poolWaitingMax = 0
  poolWaitMaxMs = 0
  process.send!(report)
}, SAMPLE_INTERVAL_MS)

process.send!('listening')
process.on('message', async () => {
  clearInterval(poll)
  clearInterval(sample)
  await app.close()
  process.disconnect()
})
