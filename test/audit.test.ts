// The audit trail: every operator action leaves its row in the same transaction as its change
// (none when the change fails), launches name who scheduled and aborted them, and admins read the
// trail through GET /v1/audit, paged and filtered.
import t from 'tap'
import { buildTestApp, createTestOperator } from './helpers.js'

t.setTimeout(600_000)

const PASSWORD = 'correct horse battery staple'
const nextYear = new Date().getUTCFullYear() + 1
const launch = { mission: 'Audited', rocket: 'Explorer IS1', target: 'Kepler-442 b', launchDate: `${nextYear}-05-05` }

t.test('each action is on record with who, what, on what, from where and which request', async (t) => {
  const { app, database } = await buildTestApp(t)
  const admin = await createTestOperator(database.db, { role: 'admin', name: 'Grace Hopper' })
  const ada = await createTestOperator(database.db, { name: 'Ada Lovelace', password: PASSWORD })
  const from = { 'x-forwarded-for': '203.0.113.20' }

  await app.inject({ method: 'POST', url: '/v1/session', payload: { email: ada.email, password: 'wrong password!' }, headers: from })
  await app.inject({ method: 'POST', url: '/v1/session', payload: { email: 'stranger@example.com', password: 'wrong password!' }, headers: from })
  const signedIn = await app.inject({ method: 'POST', url: '/v1/session', payload: { email: ada.email, password: PASSWORD }, headers: from })
  const cookie = signedIn.cookies[0]!
  const session = { ...from, cookie: `${cookie.name}=${cookie.value}`, 'x-csrf-token': signedIn.json().csrfToken }
  const token = (await app.inject({ method: 'POST', url: '/v1/tokens', payload: { name: 'ci' }, headers: session })).json()
  const scheduled = await app.inject({ method: 'POST', url: '/v1/launches', payload: launch, headers: { ...from, authorization: `Bearer ${token.token}` } })
  const flightNumber = scheduled.json().flightNumber
  await app.inject({ method: 'DELETE', url: `/v1/launches/${flightNumber}`, headers: session })
  await app.inject({ method: 'DELETE', url: `/v1/tokens/${token.id}`, headers: session })
  await app.inject({ method: 'DELETE', url: '/v1/session', headers: session })
  const invited = (await app.inject({ method: 'POST', url: '/v1/operators', payload: { email: 'k@example.com', name: 'Katherine' }, headers: admin.headers })).json()
  await app.inject({ method: 'POST', url: `/v1/operators/${invited.operator.id}/disable`, headers: admin.headers })

  const trail = await app.inject({ method: 'GET', url: '/v1/audit?limit=200', headers: admin.headers })
  t.equal(trail.statusCode, 200)
  const events = trail.json().reverse()
  t.same(
    events.map((event: { action: string }) => event.action),
    [
      'session.sign_in_failed',
      'session.sign_in_failed',
      'session.signed_in',
      'token.created',
      'launch.scheduled',
      'launch.aborted',
      'token.revoked',
      'session.signed_out',
      'operator.created',
      'operator.disabled'
    ]
  )
  const [failedKnown, failedUnknown, signIn, created, schedule, abort] = events
  t.match(failedKnown, { actorType: 'anonymous', operatorId: null, subjectType: 'operator', subjectId: String(ada.id), ip: '203.0.113.20' })
  t.match(failedUnknown, { actorType: 'anonymous', subjectType: null, details: { unknownEmail: true } })
  t.notMatch(JSON.stringify(events), /stranger@example\.com/, 'an unknown email is not kept')
  t.match(signIn, { actorType: 'operator', operatorId: ada.id, operatorName: 'Ada Lovelace', tokenId: null, requestId: signedIn.headers['x-request-id'] })
  t.match(created, { operatorName: 'Ada Lovelace', subjectType: 'token', subjectId: String(token.id), details: { name: 'ci' } })
  t.match(schedule, { operatorId: ada.id, tokenId: token.id, tokenName: 'ci', subjectType: 'launch', subjectId: String(flightNumber), requestId: scheduled.headers['x-request-id'] })
  t.match(abort, { operatorId: ada.id, tokenId: null, subjectId: String(flightNumber) })
  t.match(events.at(-2), { operatorName: 'Grace Hopper', details: { email: 'k@example.com', role: 'operator', via: 'invite' } })
  t.notMatch(trail.body, new RegExp(`${token.token}|${cookie.value}|${PASSWORD}`), 'no secret in the trail')

  const launchNow = (await app.inject({ method: 'GET', url: `/v1/launches/${flightNumber}` })).json()
  t.match(launchNow, { scheduledBy: 'Ada Lovelace', abortedBy: 'Ada Lovelace', outcome: 'aborted' }, 'the launch names who scheduled and aborted it')
  t.match(scheduled.json(), { scheduledBy: 'Ada Lovelace', abortedBy: null }, 'the POST answer too')
})

t.test('a change that fails leaves no audit row', async (t) => {
  const { app, operator, database } = await buildTestApp(t)
  const admin = await createTestOperator(database.db, { role: 'admin' })
  const failures = [
    await app.inject({ method: 'POST', url: '/v1/launches', payload: { ...launch, target: 'Kepler-0 z' }, headers: operator.headers }),
    await app.inject({ method: 'DELETE', url: '/v1/launches/99999', headers: operator.headers }),
    await app.inject({ method: 'DELETE', url: '/v1/tokens/99999', headers: operator.headers }),
    await app.inject({ method: 'POST', url: '/v1/operators', payload: { email: operator.email.toUpperCase(), name: 'Again' }, headers: admin.headers }),
    await app.inject({ method: 'POST', url: '/v1/operators/99999/disable', headers: admin.headers }),
    await app.inject({ method: 'POST', url: '/v1/launches', payload: launch })
  ]
  t.same(failures.map((response) => response.statusCode), [400, 404, 404, 409, 404, 401])
  t.same(await database.db.selectFrom('audit_events').select('action').execute(), [], 'nothing on record')
  t.equal((await database.db.selectFrom('operators').select('id').execute()).length, 2, 'and no half-made operator')
})

t.test('GET /v1/audit: admins only, newest first, paged, filtered by action and operator', async (t) => {
  const { app, operator, database } = await buildTestApp(t)
  const admin = await createTestOperator(database.db, { role: 'admin' })
  const other = await createTestOperator(database.db)
  for (let i = 0; i < 3; i++) await app.inject({ method: 'POST', url: '/v1/launches', payload: { ...launch, mission: `M${i}` }, headers: operator.headers })
  await app.inject({ method: 'POST', url: '/v1/launches', payload: launch, headers: other.headers })
  await app.inject({ method: 'POST', url: '/v1/tokens', payload: { name: 'x' }, headers: operator.headers })

  t.equal((await app.inject({ method: 'GET', url: '/v1/audit' })).statusCode, 401)
  t.equal((await app.inject({ method: 'GET', url: '/v1/audit', headers: operator.headers })).statusCode, 403)
  const page1 = await app.inject({ method: 'GET', url: '/v1/audit?limit=2', headers: admin.headers })
  t.equal(page1.headers['x-total-count'], '5')
  t.same(page1.json().map((event: { action: string }) => event.action), ['token.created', 'launch.scheduled'])
  const page3 = await app.inject({ method: 'GET', url: '/v1/audit?limit=2&page=3', headers: admin.headers })
  t.equal(page3.json().length, 1)
  const byAction = await app.inject({ method: 'GET', url: '/v1/audit?action=launch.scheduled', headers: admin.headers })
  t.equal(byAction.headers['x-total-count'], '4')
  const byOperator = await app.inject({ method: 'GET', url: `/v1/audit?action=launch.scheduled&operatorId=${other.id}`, headers: admin.headers })
  t.match(byOperator.json(), [{ operatorId: other.id, details: { mission: launch.mission } }])
  t.equal(byOperator.json().length, 1)
  const bad = await app.inject({ method: 'GET', url: '/v1/audit?action=launch.exploded', headers: admin.headers })
  t.equal(bad.statusCode, 400)
})
