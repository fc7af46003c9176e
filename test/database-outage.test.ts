// A database that goes away (a restart, a failover) must not take the service with it: the
// API and /health answer 503 JSON quickly while it is down and recover without a restart.
import t from 'tap'
import { buildApp } from '../app/app.js'
import { openDatabase } from '../app/database/database.js'
import { prepareDatabase } from '../app/prepare-database.js'
import { createTestOperator, silentLog, testConfig } from './helpers.js'
import { startPostgresCluster } from './support/postgres-cluster.js'

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
