import t from 'tap'
import { buildTestApp } from './helpers.js'

t.test('GET /health answers 200 with the database state, version and uptime', async (t) => {
  const { app } = await buildTestApp(t)
  const response = await app.inject({ method: 'GET', url: '/health' })
  t.equal(response.statusCode, 200)
  const body = response.json()
  t.equal(body.status, 'ok')
  t.equal(body.db, 'ok')
  t.match(body.version, /^\d+\.\d+\.\d+/)
  t.type(body.uptime, 'number')
})

t.test('the request id comes from X-Amzn-Trace-Id and is returned', async (t) => {
  const { app } = await buildTestApp(t)
  const traceId = 'Root=1-67891233-abcdef012345678912345678'
  const traced = await app.inject({ method: 'GET', url: '/health', headers: { 'x-amzn-trace-id': traceId } })
  t.equal(traced.headers['x-request-id'], traceId)
  const untraced = await app.inject({ method: 'GET', url: '/health' })
  t.match(untraced.headers['x-request-id'], /^[0-9a-f-]{36}$/)
})

t.test('unknown /v1 routes are JSON 404s', async (t) => {
  const { app } = await buildTestApp(t)
  const response = await app.inject({ method: 'GET', url: '/v1/nothing-here' })
  t.equal(response.statusCode, 404)
  t.match(response.headers['content-type'], /application\/json/)
  t.same(response.json(), { error: 'Not Found', code: 'NOT_FOUND' })
})
