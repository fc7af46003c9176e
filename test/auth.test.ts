// Who may write: credentials (session cookie or API token), CSRF, roles, session limits, tokens,
// enumeration-safe sign-in, the failed sign-in limit and AUTH_REQUIRED=false, through HTTP.
import { sql } from 'kysely'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, createTestOperator } from './helpers.js'

// Every sign-in hashes a password (~100 ms): longer than tap's default on a busy machine.
t.setTimeout(600_000)

const PASSWORD = 'correct horse battery staple'
const nextYear = new Date().getUTCFullYear() + 1
const launch = { mission: 'Auth', rocket: 'Explorer IS1', target: 'Kepler-442 b', launchDate: `${nextYear}-03-03` }

async function signIn(app: FastifyInstance, email: string, password = PASSWORD, headers: Record<string, string> = {}) {
  const response = await app.inject({ method: 'POST', url: '/v1/session', payload: { email, password }, headers })
  const cookie = response.cookies.find((c) => c.name.endsWith('mc_session'))
  return { response, cookie, headers: cookie ? { cookie: `${cookie.name}=${cookie.value}` } : {}, csrfToken: response.json().csrfToken as string }
}

t.test('writes without credentials get 401 AUTHENTICATION_REQUIRED; reads stay public', async (t) => {
  const { app, operator } = await buildTestApp(t)
  const anonymous = await app.inject({ method: 'POST', url: '/v1/launches', payload: launch })
  t.equal(anonymous.statusCode, 401)
  t.match(anonymous.json(), { code: 'AUTHENTICATION_REQUIRED', error: String })
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/launches/1000' })).statusCode, 401)
  for (const authorization of ['Bearer mc_not-a-real-token', 'Basic dXNlcjpwYXNz', 'Bearer']) {
    const bad = await app.inject({ method: 'POST', url: '/v1/launches', payload: launch, headers: { authorization } })
    t.equal(bad.statusCode, 401, authorization)
    t.equal(bad.json().code, 'AUTHENTICATION_REQUIRED')
  }
  t.equal((await app.inject({ method: 'POST', url: '/v1/launches', payload: launch, headers: operator.headers })).statusCode, 201)
  for (const url of ['/v1/launches', '/v1/planets', '/v1/launches/stats', '/health']) {
    t.equal((await app.inject({ method: 'GET', url })).statusCode, 200, `GET ${url} needs nothing`)
  }
  t.equal((await app.inject({ method: 'POST', url: '/v1/nothing-here' })).statusCode, 404, 'unknown routes stay 404s')
})

t.test('admin routes: 401 without credentials, 403 FORBIDDEN for operators, open to admins', async (t) => {
  const { app, operator, database } = await buildTestApp(t)
  const admin = await createTestOperator(database.db, { role: 'admin' })
  t.equal((await app.inject({ method: 'GET', url: '/v1/operators' })).statusCode, 401)
  const forbidden = await app.inject({ method: 'GET', url: '/v1/operators', headers: operator.headers })
  t.equal(forbidden.statusCode, 403)
  t.same(forbidden.json(), { error: 'Your role does not allow this', code: 'FORBIDDEN' })
  const created = await app.inject({ method: 'POST', url: '/v1/operators', payload: { email: 'x@example.com', name: 'X' }, headers: operator.headers })
  t.equal(created.statusCode, 403)
  t.equal((await app.inject({ method: 'GET', url: '/v1/operators', headers: admin.headers })).statusCode, 200)
})

t.test('signing in sets an HttpOnly, SameSite=Lax cookie: __Host- and Secure over HTTPS, plain over HTTP', async (t) => {
  const { app, database } = await buildTestApp(t)
  const ada = await createTestOperator(database.db, { name: 'Ada Lovelace', password: PASSWORD })

  const plain = await signIn(app, ada.email)
  t.equal(plain.response.statusCode, 200)
  t.match(plain.response.json(), { operator: { id: ada.id, email: ada.email, name: 'Ada Lovelace', role: 'operator' }, csrfToken: /^[\w-]{43}$/ })
  t.match(plain.cookie, { name: 'mc_session', httpOnly: true, sameSite: 'Lax', path: '/' })
  t.notOk(plain.cookie?.secure, 'not Secure over plain HTTP (the browser would drop it)')
  t.ok(plain.cookie!.value.length >= 43, 'a 256-bit session id')

  const https = await signIn(app, ada.email, PASSWORD, { 'x-forwarded-proto': 'https' })
  t.match(https.cookie, { name: '__Host-mc_session', httpOnly: true, secure: true, sameSite: 'Lax', path: '/' })
  t.notOk(https.cookie?.domain, '__Host- cookies carry no Domain')

  const session = await app.inject({ method: 'GET', url: '/v1/session', headers: plain.headers })
  t.equal(session.statusCode, 200)
  t.same(session.json(), plain.response.json())
  const stored = await database.db.selectFrom('operator_sessions').select('id_hash').execute()
  t.equal(stored.length, 2)
  t.notOk(stored.some((row) => row.id_hash === plain.cookie!.value), 'only a hash of the session id is stored')
  t.equal((await app.inject({ method: 'GET', url: '/v1/session' })).statusCode, 401, 'no cookie, no session')
})

t.test('CSRF: cookie-authenticated writes need X-CSRF-Token; bearer tokens are exempt', async (t) => {
  const { app, operator, database } = await buildTestApp(t)
  const ada = await createTestOperator(database.db, { password: PASSWORD })
  const session = await signIn(app, ada.email)

  const missing = await app.inject({ method: 'POST', url: '/v1/launches', payload: launch, headers: session.headers })
  t.equal(missing.statusCode, 403)
  t.match(missing.json(), { code: 'CSRF_TOKEN_INVALID' })
  const other = await signIn(app, ada.email)
  const wrong = await app.inject({ method: 'POST', url: '/v1/launches', payload: launch, headers: { ...session.headers, 'x-csrf-token': other.csrfToken } })
  t.equal(wrong.statusCode, 403, "another session's token is wrong")
  t.match(wrong.json(), { code: 'CSRF_TOKEN_INVALID' })
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/session', headers: session.headers })).statusCode, 403, 'sign-out needs it too')

  const right = await app.inject({ method: 'POST', url: '/v1/launches', payload: launch, headers: { ...session.headers, 'x-csrf-token': session.csrfToken } })
  t.equal(right.statusCode, 201)
  const bearer = await app.inject({ method: 'POST', url: '/v1/launches', payload: launch, headers: operator.headers })
  t.equal(bearer.statusCode, 201, 'a bearer token needs no CSRF token')
  t.equal((await app.inject({ method: 'GET', url: '/v1/tokens', headers: session.headers })).statusCode, 200, 'reads need none')
})

t.test('sign-out ends the session on the server', async (t) => {
  const { app, database } = await buildTestApp(t)
  const ada = await createTestOperator(database.db, { password: PASSWORD })
  const session = await signIn(app, ada.email)
  const out = await app.inject({ method: 'DELETE', url: '/v1/session', headers: { ...session.headers, 'x-csrf-token': session.csrfToken } })
  t.equal(out.statusCode, 200)
  t.match(out.cookies.find((c) => c.name === 'mc_session'), { value: '' }, 'the cookie is cleared')
  const after = await app.inject({ method: 'GET', url: '/v1/session', headers: session.headers })
  t.equal(after.statusCode, 401, 'the old cookie no longer works')
  t.match(after.json(), { code: 'AUTHENTICATION_REQUIRED' })
})

t.test('sessions end after 12 h idle, after 7 days in any case, and when the operator is disabled (password resets: operators-cli.test.ts)', async (t) => {
  const { app, database } = await buildTestApp(t)
  const admin = await createTestOperator(database.db, { role: 'admin' })
  const ada = await createTestOperator(database.db, { password: PASSWORD })
  const live = async (headers: Record<string, string | undefined>) => (await app.inject({ method: 'GET', url: '/v1/session', headers })).statusCode
  const idHash = async () => (await database.db.selectFrom('operator_sessions').select('id_hash').orderBy('created_at', 'desc').executeTakeFirstOrThrow()).id_hash

  const idle = await signIn(app, ada.email)
  const idleHash = await idHash()
  await database.db.updateTable('operator_sessions').set({ last_seen_at: sql<Date>`now() - interval '11 hours 59 minutes'` }).where('id_hash', '=', idleHash).execute()
  t.equal(await live(idle.headers), 200, 'used within 12 h: alive (and the use counts as activity)')
  await database.db.updateTable('operator_sessions').set({ last_seen_at: sql<Date>`now() - interval '12 hours 1 minute'` }).where('id_hash', '=', idleHash).execute()
  t.equal(await live(idle.headers), 401, 'idle for more than 12 h: ended')

  const old = await signIn(app, ada.email)
  await database.db.updateTable('operator_sessions').set({ expires_at: sql<Date>`now() - interval '1 second'` }).where('id_hash', '=', await idHash()).execute()
  t.equal(await live(old.headers), 401, 'past its absolute lifetime: ended, however active')
  const created = await database.db.selectFrom('operator_sessions').select(sql<number>`extract(epoch from expires_at - created_at)::int`.as('lifetime')).executeTakeFirstOrThrow()
  t.equal(created.lifetime, 7 * 24 * 3600, 'the absolute lifetime is 7 days')

  const beforeDisable = await signIn(app, ada.email)
  const token = (await app.inject({ method: 'POST', url: '/v1/tokens', payload: { name: 'ci' }, headers: { ...beforeDisable.headers, 'x-csrf-token': beforeDisable.csrfToken } })).json().token
  t.equal((await app.inject({ method: 'POST', url: `/v1/operators/${ada.id}/disable`, headers: admin.headers })).statusCode, 200)
  t.equal(await live(beforeDisable.headers), 401, 'disabling ends its sessions')
  t.equal(await live({ authorization: `Bearer ${token}` }), 401, 'and refuses its tokens')
  t.equal((await signIn(app, ada.email)).response.statusCode, 401, 'and it cannot sign in')
})

t.test('API tokens: shown once, listed without the secret, refused once revoked or expired, owned by one operator', async (t) => {
  const { app, operator, database } = await buildTestApp(t)
  const other = await createTestOperator(database.db)

  const created = await app.inject({ method: 'POST', url: '/v1/tokens', payload: { name: 'CI deploys', expiresInDays: 30 }, headers: operator.headers })
  t.equal(created.statusCode, 201)
  const token = created.json()
  t.match(token, { id: Number, name: 'CI deploys', token: /^mc_[\w-]{43}$/, lastUsedAt: null })
  const days = (Date.parse(token.expiresAt) - Date.parse(token.createdAt)) / 86_400_000
  t.equal(Math.round(days), 30)
  const bearer = { authorization: `Bearer ${token.token}` }

  t.equal((await app.inject({ method: 'POST', url: '/v1/launches', payload: launch, headers: bearer })).statusCode, 201)
  const list = await app.inject({ method: 'GET', url: '/v1/tokens', headers: bearer })
  t.notMatch(list.body, token.token, 'the list never carries a secret')
  t.notMatch(list.body, /"token"/)
  t.match(list.json().find((entry: { id: number }) => entry.id === token.id), { name: 'CI deploys', lastUsedAt: String })
  const stored = await database.db.selectFrom('api_tokens').select('token_hash').where('id', '=', token.id).executeTakeFirstOrThrow()
  t.not(stored.token_hash, token.token, 'stored as a hash')

  const notYours = await app.inject({ method: 'DELETE', url: `/v1/tokens/${token.id}`, headers: other.headers })
  t.equal(notYours.statusCode, 404, "another operator's token is not found")
  t.equal((await app.inject({ method: 'GET', url: '/v1/tokens', headers: bearer })).statusCode, 200, 'and still works')
  const othersList = await app.inject({ method: 'GET', url: '/v1/tokens', headers: other.headers })
  t.notOk(othersList.json().some((entry: { id: number }) => entry.id === token.id), 'nor listed for them')

  const revoked = await app.inject({ method: 'DELETE', url: `/v1/tokens/${token.id}`, headers: operator.headers })
  t.equal(revoked.statusCode, 200)
  const refused = await app.inject({ method: 'POST', url: '/v1/launches', payload: launch, headers: bearer })
  t.equal(refused.statusCode, 401, 'a revoked token is refused at once')
  t.match(refused.json(), { code: 'AUTHENTICATION_REQUIRED' })
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/tokens/${token.id}`, headers: operator.headers })).statusCode, 404, 'revoked once')

  await database.db.updateTable('api_tokens').set({ expires_at: sql<Date>`now() - interval '1 second'` }).where('operator_id', '=', other.id).execute()
  t.equal((await app.inject({ method: 'GET', url: '/v1/tokens', headers: other.headers })).statusCode, 401, 'an expired token is refused')

  const tooLong = await app.inject({ method: 'POST', url: '/v1/tokens', payload: { name: 'x', expiresInDays: 366 }, headers: operator.headers })
  t.equal(tooLong.statusCode, 400)
  t.match(tooLong.json(), { code: 'INVALID_REQUEST', field: 'expiresInDays' })
})

t.test('a wrong password and an unknown email get the same answer in the same time', async (t) => {
  const { app, database } = await buildTestApp(t)
  const ada = await createTestOperator(database.db, { password: PASSWORD })
  const disabled = await createTestOperator(database.db, { password: PASSWORD })
  await database.db.updateTable('operators').set({ disabled_at: sql<Date>`now()` }).where('id', '=', disabled.id).execute()
  const invited = await createTestOperator(database.db)

  const attempts: Record<string, { email: string; password: string }> = {
    'wrong password': { email: ada.email, password: 'not the password at all' },
    'unknown email': { email: 'nobody@example.com', password: 'not the password at all' },
    'disabled operator': { email: disabled.email, password: PASSWORD },
    'invited, no password yet': { email: invited.email, password: 'not the password at all' }
  }
  const times: Record<string, number[]> = {}
  const bodies = new Set<string>()
  // Interleaved rounds, each from its own address so the failure limit never interferes.
  for (let round = 0; round < 7; round++) {
    for (const [name, payload] of Object.entries(attempts)) {
      const started = performance.now()
      const response = await app.inject({ method: 'POST', url: '/v1/session', payload, headers: { 'x-forwarded-for': `198.51.100.${round * 10 + Object.keys(times).length}` } })
      ;(times[name] ??= []).push(performance.now() - started)
      t.equal(response.statusCode, 401, name)
      bodies.add(response.body)
    }
  }
  t.same([...bodies], [JSON.stringify({ error: 'Wrong email or password', code: 'INVALID_CREDENTIALS' })], 'one body for every case')
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!
  const medians = Object.fromEntries(Object.entries(times).map(([name, values]) => [name, median(values)]))
  t.comment(`median sign-in failure times (ms): ${JSON.stringify(Object.fromEntries(Object.entries(medians).map(([k, v]) => [k, Math.round(v)])))}`)
  const slowest = Math.max(...Object.values(medians))
  const fastest = Math.min(...Object.values(medians))
  t.ok(fastest > 20, 'every failure includes a password hash')
  // A case that skipped the hash would answer in ~1 ms against a hash's tens to hundreds: a ratio
  // near 0.01. A third leaves room for a busy shared machine and still catches that.
  t.ok(fastest / slowest > 1 / 3, `the medians are within noise of each other (${Math.round(fastest)}–${Math.round(slowest)} ms)`)
})

t.test('past 10 failed sign-ins in 15 minutes: 429 with Retry-After, per account and per IP', async (t) => {
  const { app, database } = await buildTestApp(t)
  const ada = await createTestOperator(database.db, { password: PASSWORD })
  for (let attempt = 1; attempt <= 10; attempt++) {
    const failed = await signIn(app, ada.email, 'wrong password!', { 'x-forwarded-for': `192.0.2.${attempt}` })
    t.equal(failed.response.statusCode, 401, `failure ${attempt} from its own address`)
  }
  const blocked = await signIn(app, ada.email.toUpperCase(), PASSWORD, { 'x-forwarded-for': '192.0.2.99' })
  t.equal(blocked.response.statusCode, 429, 'the 11th attempt is refused, even with the right password, in any letter case')
  t.match(blocked.response.json(), { code: 'TOO_MANY_SIGN_IN_ATTEMPTS', error: String })
  const retryAfter = Number(blocked.response.headers['retry-after'])
  t.ok(retryAfter > 14 * 60 && retryAfter <= 15 * 60, `Retry-After ${retryAfter} s`)
  t.notOk(blocked.cookie, 'no session')

  // The window slides: once the oldest failures are older than 15 minutes, the account may try again.
  await database.db.updateTable('sign_in_failures').set({ occurred_at: sql<Date>`now() - interval '16 minutes'` }).where('ip', '=', '192.0.2.1').execute()
  t.equal((await signIn(app, ada.email, PASSWORD, { 'x-forwarded-for': '192.0.2.99' })).response.statusCode, 200)

  // Per IP: many accounts guessed from one address.
  for (let attempt = 1; attempt <= 10; attempt++) {
    await signIn(app, `guess-${attempt}@example.com`, 'wrong password!', { 'x-forwarded-for': '203.0.113.50' })
  }
  const byIp = await signIn(app, ada.email, PASSWORD, { 'x-forwarded-for': '203.0.113.50' })
  t.equal(byIp.response.statusCode, 429, 'the address is blocked')
  t.ok(Number(byIp.response.headers['retry-after']) > 0)
  t.equal((await signIn(app, ada.email, PASSWORD, { 'x-forwarded-for': '203.0.113.51' })).response.statusCode, 200, 'other addresses are not')
})

t.test('AUTH_REQUIRED=false keeps the open v1 write API; credentials still name the operator; admin routes stay closed', async (t) => {
  const { app, operator } = await buildTestApp(t, { env: { AUTH_REQUIRED: 'false' } })
  const scheduled = await app.inject({ method: 'POST', url: '/v1/launches', payload: launch })
  t.equal(scheduled.statusCode, 201)
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/launches/${scheduled.json().flightNumber}` })).statusCode, 200)
  t.equal((await app.inject({ method: 'POST', url: '/v1/launches', payload: launch, headers: { authorization: 'Bearer mc_wrong' } })).statusCode, 401, 'a bad credential is still refused')
  t.equal((await app.inject({ method: 'POST', url: '/v1/launches', payload: launch, headers: operator.headers })).statusCode, 201)
  t.equal((await app.inject({ method: 'GET', url: '/v1/operators' })).statusCode, 401)
  t.equal((await app.inject({ method: 'GET', url: '/v1/tokens' })).statusCode, 401, 'tokens belong to someone')
})
