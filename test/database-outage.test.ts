// A database that goes away (a restart, a failover) must not take the service with it: the
// API and /health answer 503 JSON quickly while it is down and recover without a restart. A
// slow statement and a stuck pool have answers of their own (QUERY_TIMEOUT, SERVICE_OVERLOADED).
import { readFile } from 'node:fs/promises'
import pg from 'pg'
import { pino } from 'pino'
import t, { type Test } from 'tap'
import { buildApp } from '../app/app.js'
import { openDatabase } from '../app/database/database.js'
import { prepareDatabase } from '../app/prepare-database.js'
import { createTestOperator, silentLog, testConfig } from './helpers.js'
import { checkResponsesAgainstDocument } from './support/openapi-contract.js'
import { requireNeeds } from './support/needs.js'
import { startPostgresCluster } from './support/postgres-cluster.js'

await requireNeeds(t, ['postgres-server'])

t.setTimeout(180_000)

const cluster = await startPostgresCluster(t)
await cluster.createDatabase('mission_control', 'mission_control', 'outage-test-password')
const config = testConfig({
  DATABASE_URL: `postgres://mission_control:outage-test-password@localhost:${cluster.port}/mission_control`,
  DATABASE_SSL: 'verify-full',
  DATABASE_SSL_CA_FILE: cluster.ca.caFile
})
const database = await openDatabase(config, silentLog)
await prepareDatabase(database.db, silentLog)
const operator = await createTestOperator(database.db)
const app = await buildApp({ config, database })
checkResponsesAgainstDocument(app)
t.teardown(() => app.close())

const launch = { mission: 'Outage', rocket: 'Explorer IS1', target: 'Kepler-62 f', launchDate: `${new Date().getUTCFullYear() + 1}-02-02` }

async function timed(method: 'GET' | 'POST', url: string) {
  const started = performance.now()
  const response = await app.inject({ method, url, ...(method === 'POST' ? { payload: launch, headers: operator.headers } : {}) })
  return { response, ms: performance.now() - started }
}

t.test('database stopped: /health and the API answer 503 JSON within 2 s, then recover', async (t) => {
  const before = await app.inject({ method: 'POST', url: '/v1/launches', payload: launch, headers: operator.headers })
  t.equal(before.statusCode, 201)

  await cluster.stop()
  for (const [method, url] of [['GET', '/health'], ['GET', '/v1/launches'], ['POST', '/v1/launches'], ['GET', '/v1/planets']] as const) {
    const { response, ms } = await timed(method, url)
    t.equal(response.statusCode, 503, `${method} ${url} while the database is down`)
    t.match(response.headers['content-type'], /application\/json/)
    t.ok(ms < 2000, `${method} ${url} answered in ${Math.round(ms)} ms`)
    if (url !== '/health') t.match(response.json(), { code: 'DATABASE_UNAVAILABLE' })
  }

  await cluster.start()
  const restarted = performance.now()
  let health = 0
  while (health !== 200 && performance.now() - restarted < 30_000) {
    health = (await app.inject({ method: 'GET', url: '/health' })).statusCode
    if (health !== 200) await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.equal(health, 200, `healthy again ${Math.round(performance.now() - restarted)} ms after the database came back`)
  const list = await app.inject({ method: 'GET', url: '/v1/launches' })
  t.equal(list.statusCode, 200)
  t.same(list.json().map((l: { mission: string }) => l.mission), ['Outage'], 'nothing was lost or half-written')
  const after = await app.inject({ method: 'POST', url: '/v1/launches', payload: launch, headers: operator.headers })
  t.equal(after.statusCode, 201, 'writes work again without a restart')
})

/** A second app on the same database with tight limits, its log lines collected. */
async function tightApp(t: Test, env: Record<string, string>) {
  const lines: Array<Record<string, unknown>> = []
  const loggerInstance = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) })
  const tightConfig = testConfig({ ...env, DATABASE_URL: config.DATABASE_URL!, DATABASE_SSL: 'verify-full', DATABASE_SSL_CA_FILE: cluster.ca.caFile })
  const tightDatabase = await openDatabase(tightConfig, silentLog)
  const tight = await buildApp({ config: tightConfig, database: tightDatabase, loggerInstance })
  t.teardown(() => tight.close())
  return { app: tight, lines }
}

/** Holds an exclusive lock on launches (as a long migration would) until the returned function is called. */
async function lockLaunches(): Promise<() => Promise<void>> {
  const client = new pg.Client({ host: '127.0.0.1', port: cluster.port, user: 'mission_control', password: 'outage-test-password', database: 'mission_control', ssl: { ca: await readFile(cluster.ca.caFile, 'utf8') } })
  await client.connect()
  await client.query('begin')
  await client.query('lock table launches in access exclusive mode')
  return async () => {
    await client.query('rollback')
    await client.end()
  }
}

t.test('a statement timeout is 503 QUERY_TIMEOUT with the route in a warning, not an outage', async (t) => {
  const { app: tight, lines } = await tightApp(t, { DATABASE_STATEMENT_TIMEOUT_MS: '300', LOAD_SHED_POOL_WAIT_MS: '0' })
  const unlock = await lockLaunches()
  try {
    const response = await tight.inject({ method: 'GET', url: '/v1/launches?limit=5' })
    t.equal(response.statusCode, 503)
    t.same(response.json(), { error: 'The database took too long to answer, try again shortly', code: 'QUERY_TIMEOUT' })
    t.equal(response.headers['retry-after'], '2')
  } finally {
    await unlock()
  }
  const warning = lines.find((line) => line.msg === 'database statement timeout')
  t.match(warning, { level: 40, route: 'GET /v1/launches' }, 'a warning naming the route')
  t.notOk(lines.some((line) => line.msg === 'database unavailable'), 'not reported as an outage')
})

t.test('requests waiting too long for a connection shed load: 503 SERVICE_OVERLOADED at once, /health still answers', async (t) => {
  const { app: tight } = await tightApp(t, { DATABASE_POOL_MAX: '2', DATABASE_STATEMENT_TIMEOUT_MS: '4000', LOAD_SHED_POOL_WAIT_MS: '200' })
  const unlock = await lockLaunches()
  try {
    // Two requests hold both connections behind the lock; a third waits for one of them.
    const stuck = Array.from({ length: 3 }, () => tight.inject({ method: 'GET', url: '/v1/launches?limit=5' }))
    await new Promise((resolve) => setTimeout(resolve, 800))
    const started = performance.now()
    const shed = await tight.inject({ method: 'GET', url: '/v1/planets' })
    const ms = performance.now() - started
    t.equal(shed.statusCode, 503)
    t.same(shed.json(), { error: 'The service is overloaded, try again shortly', code: 'SERVICE_OVERLOADED' })
    t.equal(shed.headers['retry-after'], '2')
    t.ok(ms < 500, `answered in ${Math.round(ms)} ms instead of queueing`)
    const health = await tight.inject({ method: 'GET', url: '/health' })
    t.match(health.json(), { status: String, db: String }, '/health is never shed: it answers for itself')
    await unlock()
    t.same((await Promise.all(stuck)).map((response) => response.statusCode), [200, 200, 200], 'the queued requests complete once the lock goes')
  } finally {
    await unlock().catch(() => {})
  }
  let status = 503
  const deadline = performance.now() + 5000
  while (status !== 200 && performance.now() < deadline) {
    status = (await tight.inject({ method: 'GET', url: '/v1/planets' })).statusCode
    if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.equal(status, 200, 'serving again once the queue moves')
})
