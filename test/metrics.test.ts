// The service's CloudWatch metrics: the EMF records real requests, the database pool and SpaceX
// syncs produce, parsed from the file the service writes them to, checked against the contract
// infra/'s alarms read (namespace, names, units, dimension sets, values).
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { sql } from 'kysely'
import t from 'tap'
import { buildTestApp, openTestDatabase } from './helpers.js'
import { startFakeSpacex } from './support/fake-spacex.js'

interface EmfRecord {
  _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] }
  [member: string]: unknown
}

const SERVICE_DIMENSIONS = ['Service', 'Environment']

async function metricsFile(t: { teardown(fn: () => unknown): void }): Promise<{ file: string; records: () => Promise<EmfRecord[]> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'metrics-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'metrics.log')
  const records = async () => {
    if (!existsSync(file)) return []
    const lines = (await readFile(file, 'utf8')).split('\n').filter(Boolean)
    return lines.map((line) => JSON.parse(line) as EmfRecord)
  }
  return { file, records }
}

const metricsEnv = (file: string, extra: Record<string, string> = {}) => ({
  METRICS: 'on',
  METRICS_FILE: file,
  METRICS_ENVIRONMENT: 'mission-control-test',
  ...extra
})

/** The record's metrics with their namespace, unit and dimension sets, as CloudWatch will read them. */
function declared(record: EmfRecord): Record<string, { namespace: string; unit: string; dimensions: string[][] }> {
  return Object.fromEntries(
    record._aws.CloudWatchMetrics.flatMap(({ Namespace, Dimensions, Metrics }) =>
      Metrics.map((metric) => [metric.Name, { namespace: Namespace, unit: metric.Unit, dimensions: Dimensions }])
    )
  )
}
const NAMESPACE = 'MissionControl'

t.test('requests are counted and timed per route and status class, with 5xx counted apart', async (t) => {
  const { file, records } = await metricsFile(t)
  const { database } = await openTestDatabase(t)
  // A database that stops answering pings: /health says 503, a real server error.
  const unreachable = { ...database, ping: async () => Promise.reject(new Error('connection refused')) }
  const { app } = await buildTestApp(t, { env: metricsEnv(file, { METRICS_INTERVAL_SECONDS: '3600' }), database: unreachable })
  const statuses: number[] = []
  const send = async (url: string) => statuses.push((await app.inject(url)).statusCode)
  for (let i = 0; i < 3; i++) await send('/v1/launches?limit=5')
  await send('/v1/launches/999999')
  await send('/v1/launches/424242')
  await send('/v1/launches?limit=0')
  await send('/health')
  await send('/no/such/page')
  t.same(statuses, [200, 200, 200, 404, 404, 400, 503, 404])
  t.same(await records(), [], 'nothing is written before the interval ends')
  await app.close()

  // Less the contract check's own request for /openapi.json (test/support/openapi-contract.ts).
  const written = (await records()).filter((record) => record.Route !== 'GET /openapi.json')
  const byRoute = new Map(written.map((record) => [`${record.Route} ${record.StatusClass}`, record]))
  t.same([...byRoute.keys()].sort(), ['GET (no route) 4xx', 'GET /health 5xx', 'GET /v1/launches 2xx', 'GET /v1/launches 4xx', 'GET /v1/launches/:id 4xx'])
  for (const record of written) {
    t.match(record, { Service: 'mission-control', Environment: 'mission-control-test' })
    t.ok(Math.abs(record._aws.Timestamp - Date.now()) < 60_000, 'timestamped now')
    t.same(declared(record), {
      RequestCount: { namespace: NAMESPACE, unit: 'Count', dimensions: [SERVICE_DIMENSIONS, [...SERVICE_DIMENSIONS, 'Route', 'StatusClass']] },
      Latency: { namespace: NAMESPACE, unit: 'Milliseconds', dimensions: [SERVICE_DIMENSIONS, [...SERVICE_DIMENSIONS, 'Route', 'StatusClass']] },
      ServerErrors: { namespace: NAMESPACE, unit: 'Count', dimensions: [SERVICE_DIMENSIONS] }
    })
    const latencies = record.Latency as number[]
    t.equal(latencies.length, record.RequestCount, `${record.Route} ${record.StatusClass}: one latency per request`)
    t.ok(latencies.every((ms) => typeof ms === 'number' && ms >= 0 && ms < 30_000), 'latencies are milliseconds')
  }
  t.match(byRoute.get('GET /v1/launches 2xx'), { RequestCount: 3, ServerErrors: 0 })
  t.match(byRoute.get('GET /v1/launches/:id 4xx'), { RequestCount: 2, ServerErrors: 0 }, 'the route pattern, never the flight numbers asked for')
  t.match(byRoute.get('GET /health 5xx'), { RequestCount: 1, ServerErrors: 1 })
  const total = (name: string) => written.reduce((sum, record) => sum + (record[name] as number), 0)
  t.equal(total('RequestCount'), statuses.length, 'every request is counted once')
  t.equal(total('ServerErrors'), statuses.filter((status) => status >= 500).length, 'every 5xx is counted once')
})

t.test('a route and status class is written as soon as it holds 100 latencies', async (t) => {
  const { file, records } = await metricsFile(t)
  const { app } = await buildTestApp(t, { env: metricsEnv(file, { METRICS_INTERVAL_SECONDS: '3600' }) })
  for (let i = 0; i < 101; i++) await app.inject('/no/such/page')
  const [first, ...rest] = await records()
  t.equal(rest.length, 0, 'one record so far')
  t.match(first, { Route: 'GET (no route)', StatusClass: '4xx', RequestCount: 100 })
  t.equal((first!.Latency as number[]).length, 100, 'the EMF limit of 100 values per metric')
  await app.close()
  t.match((await records())[1], { RequestCount: 1 }, 'the rest when the app closes')
})

t.test('the database pool is sampled every interval: connections in use and requests waiting', async (t) => {
  const { file, records } = await metricsFile(t)
  const { app, database } = await buildTestApp(t, { env: metricsEnv(file, { METRICS_INTERVAL_SECONDS: '1' }) })
  const gaugeRecords = async () => (await records()).filter((record) => 'DbPoolInUse' in record)
  if (database.kind === 'pglite') {
    await sleep(2500)
    t.same(await gaugeRecords(), [], 'PGlite has no pool to report')
    return
  }
  // Two connections busy for longer than an interval: the next sample sees them.
  const busy = Promise.all([1, 2].map(() => sql`select pg_sleep(2.5)`.execute(app.db)))
  let sample: EmfRecord | undefined
  const deadline = Date.now() + 10_000
  while (!sample && Date.now() < deadline) {
    await sleep(200)
    sample = (await gaugeRecords()).find((record) => (record.DbPoolInUse as number) >= 2)
  }
  await busy
  t.ok(sample, 'a sample counts the two busy connections')
  // Other gauges (EventStreamsOpen) share the record.
  t.match(declared(sample!), { DbPoolInUse: { namespace: NAMESPACE, unit: 'Count', dimensions: [SERVICE_DIMENSIONS] }, DbPoolWaiting: { namespace: NAMESPACE, unit: 'Count', dimensions: [SERVICE_DIMENSIONS] } })
  t.match(sample, { Service: 'mission-control', Environment: 'mission-control-test', DbPoolWaiting: 0 })
})

t.test('each SpaceX sync writes its duration by outcome', async (t) => {
  const { file, records } = await metricsFile(t)
  const fake = await startFakeSpacex(t)
  fake.failures.push({ status: 503 })
  const env = metricsEnv(file, { SPACEX_SYNC_ON_START: 'true', SPACEX_API_URL: fake.url, METRICS_INTERVAL_SECONDS: '3600' })
  const { app } = await buildTestApp(t, { env })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const syncs = async () => (await records()).filter((record) => 'SpacexSyncDuration' in record)
  const deadline = Date.now() + 30_000
  while ((await syncs()).length < 2 && Date.now() < deadline) await sleep(100)
  const [failure, success] = await syncs()
  t.match(failure, { Outcome: 'failure', Service: 'mission-control', Environment: 'mission-control-test' })
  t.match(success, { Outcome: 'success' })
  for (const record of [failure!, success!]) {
    t.same(declared(record), { SpacexSyncDuration: { namespace: NAMESPACE, unit: 'Milliseconds', dimensions: [[...SERVICE_DIMENSIONS, 'Outcome']] } })
    t.ok(Number.isInteger(record.SpacexSyncDuration) && (record.SpacexSyncDuration as number) >= 0, 'a duration in whole milliseconds')
  }
})

t.test('METRICS=off writes nothing', async (t) => {
  const { file, records } = await metricsFile(t)
  const { app } = await buildTestApp(t, { env: { ...metricsEnv(file), METRICS: 'off' } })
  await app.inject('/health')
  await app.close()
  t.same(await records(), [])
})
