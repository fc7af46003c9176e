// Hardening every answer: security headers on JSON over HTTP and HTTPS, request rate limits,
// the client address behind proxies, /health saying nothing private, and secrets kept out of logs.
import t from 'tap'
import { buildTestApp, createTestOperator } from './helpers.js'

// Five apps, a sign-in (a password hash) and dozens of requests: slow on a busy machine.
t.setTimeout(600_000)

const nextYear = new Date().getUTCFullYear() + 1
const launch = { mission: 'Headers', rocket: 'Explorer IS1', target: 'Kepler-442 b', launchDate: `${nextYear}-03-03` }

/** Headers only a rendered document acts on: pages carry them, JSON does not. */
const DOCUMENT_ONLY_HEADERS = ['origin-agent-cluster', 'x-dns-prefetch-control', 'x-download-options', 'x-permitted-cross-domain-policies', 'x-xss-protection']

t.test('JSON answers carry the security headers; HSTS only when the request came over HTTPS', async (t) => {
  const { app, operator } = await buildTestApp(t)
  const answers = {
    'GET /v1/planets': await app.inject({ method: 'GET', url: '/v1/planets' }),
    'a 404': await app.inject({ method: 'GET', url: '/v1/nothing' }),
    'a 401': await app.inject({ method: 'POST', url: '/v1/launches', payload: launch }),
    'a 201': await app.inject({ method: 'POST', url: '/v1/launches', payload: launch, headers: operator.headers }),
    'a 400': await app.inject({ method: 'POST', url: '/v1/launches', payload: {}, headers: operator.headers })
  }
  for (const [name, response] of Object.entries(answers)) {
    t.match(response.headers['content-type'], /application\/json/, name)
    t.equal(response.headers['content-security-policy'], "default-src 'none';frame-ancestors 'none'", `${name}: CSP`)
    t.equal(response.headers['x-content-type-options'], 'nosniff', `${name}: nosniff`)
    t.equal(response.headers['x-frame-options'], 'DENY', name)
    t.equal(response.headers['referrer-policy'], 'no-referrer', name)
    t.equal(response.headers['cross-origin-opener-policy'], 'same-origin', name)
    t.equal(response.headers['cross-origin-resource-policy'], 'same-origin', name)
    t.equal(response.headers['strict-transport-security'], undefined, `${name}: no HSTS over plain HTTP`)
    for (const header of DOCUMENT_ONLY_HEADERS) t.equal(response.headers[header], undefined, `${name}: no ${header} (pages only)`)
  }
  const page = await app.inject({ method: 'GET', url: '/launch' })
  t.match(page.headers['content-type'], /text\/html/)
  t.equal(page.headers['x-content-type-options'], 'nosniff', 'a page: nosniff')
  for (const header of DOCUMENT_ONLY_HEADERS) t.ok(page.headers[header], `a page: ${header}`)
  const https = await app.inject({ method: 'GET', url: '/v1/planets', headers: { 'x-forwarded-proto': 'https' } })
  t.equal(https.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains', 'HSTS for a year over HTTPS')
  t.equal(https.headers['x-content-type-options'], 'nosniff')
  const httpsError = await app.inject({ method: 'DELETE', url: '/v1/launches/1', headers: { 'x-forwarded-proto': 'https' } })
  t.equal(httpsError.statusCode, 401)
  t.equal(httpsError.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains', 'errors too')
})

t.test('request.ip is the address the load balancer saw: a forged X-Forwarded-For changes nothing', async (t) => {
  const { app, logs } = await buildTestApp(t)
  // As nginx forwards it: <what the client sent>, <client address the ALB appended>, <ALB address nginx appended>.
  const answer = await app.inject({ method: 'GET', url: '/v1/planets', headers: { 'x-forwarded-for': '6.6.6.6, 203.0.113.7, 10.0.1.23' } })
  const line = logs.lines.find((entry) => entry.msg === 'request completed')
  t.match(line, { req: { remoteAddress: '203.0.113.7' } }, 'the client address is the second entry from the right')
  t.match(line, { level: 30, requestId: answer.headers['x-request-id'], req: { method: 'GET', url: '/v1/planets' }, res: { statusCode: 200 }, responseTime: Number })
  t.notMatch(JSON.stringify(line), /6\.6\.6\.6/)
})

t.test('requests past a limit get 429 RATE_LIMITED with Retry-After: reads and writes per IP, writes per operator', async (t) => {
  const { app, operator, database } = await buildTestApp(t, {
    env: { RATE_LIMIT_IP_READS_PER_MINUTE: '3', RATE_LIMIT_IP_WRITES_PER_MINUTE: '4', RATE_LIMIT_OPERATOR_WRITES_PER_MINUTE: '2' }
  })
  const from = (ip: string) => ({ 'x-forwarded-for': ip })
  for (let i = 0; i < 3; i++) t.equal((await app.inject({ url: '/v1/planets', headers: from('198.51.100.1') })).statusCode, 200)
  const limited = await app.inject({ url: '/v1/launches', headers: from('198.51.100.1') })
  t.equal(limited.statusCode, 429)
  t.match(limited.json(), { code: 'RATE_LIMITED', error: String })
  const retryAfter = Number(limited.headers['retry-after'])
  t.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After ${retryAfter} s`)
  t.equal((await app.inject({ url: '/v1/planets', headers: from('198.51.100.2') })).statusCode, 200, 'another address is not limited')
  for (let i = 0; i < 5; i++) t.equal((await app.inject({ url: '/health', headers: from('198.51.100.1') })).statusCode, 200, '/health is exempt')

  const write = (headers: Record<string, string>) => app.inject({ method: 'POST', url: '/v1/launches', payload: launch, headers })
  t.equal((await write({ ...operator.headers, ...from('198.51.100.3') })).statusCode, 201)
  t.equal((await write({ ...operator.headers, ...from('198.51.100.4') })).statusCode, 201)
  const perOperator = await write({ ...operator.headers, ...from('198.51.100.5') })
  t.equal(perOperator.statusCode, 429, "an operator's third write in a minute, from a new address")
  t.ok(Number(perOperator.headers['retry-after']) > 0)
  const colleague = await createTestOperator(database.db)
  t.equal((await write({ ...colleague.headers, ...from('198.51.100.5') })).statusCode, 201, 'another operator is not limited')

  for (let i = 0; i < 4; i++) await write(from('198.51.100.6'))
  const perIp = await write(from('198.51.100.6'))
  t.equal(perIp.statusCode, 429, 'writes per address are limited before credentials are even checked')
})

t.test('/health says only ok or unavailable; the reason goes to the logs', async (t) => {
  const { app, database, logs } = await buildTestApp(t)
  const healthy = await app.inject({ url: '/health' })
  t.same(Object.keys(healthy.json()).sort(), ['db', 'status', 'uptime', 'version'])
  const reason = 'PostgreSQL at db.internal:5432/mission_control rejects the credentials of user mission_app from secret "prod/db"'
  database.ping = async () => {
    throw new Error('connection refused')
  }
  database.unavailableReason = () => reason
  const down = await app.inject({ url: '/health' })
  t.equal(down.statusCode, 503)
  t.same(Object.keys(down.json()).sort(), ['db', 'status', 'uptime', 'version'])
  t.match(down.json(), { status: 'unavailable', db: 'unavailable' })
  t.notMatch(down.body, /db\.internal|mission_app|prod\/db|5432|refused/, 'no host, user, secret or error in the public answer')
  t.ok(logs.lines.some((line) => line.level === 40 && String(line.msg).includes(reason)), 'the reason is logged')
})

t.test('cookies, Authorization, passwords and tokens never reach the logs', async (t) => {
  const password = 'correct horse battery staple'
  const { app, operator, database, logs } = await buildTestApp(t)
  const ada = await createTestOperator(database.db, { password })
  const signIn = await app.inject({ method: 'POST', url: '/v1/session', payload: { email: ada.email, password } })
  const cookie = signIn.cookies[0]!
  const csrfToken = signIn.json().csrfToken
  await app.inject({ method: 'POST', url: '/v1/session', payload: { email: ada.email, password: `${password}!` } })
  const created = await app.inject({
    method: 'POST',
    url: '/v1/tokens',
    payload: { name: 'logged?' },
    headers: { cookie: `${cookie.name}=${cookie.value}`, 'x-csrf-token': csrfToken }
  })
  const apiToken = created.json().token
  await app.inject({ method: 'POST', url: '/v1/launches', payload: launch, headers: { authorization: `Bearer ${apiToken}` } })
  await app.inject({ method: 'GET', url: `/setup?token=one-time-secret-value&x=1` })
  await app.inject({ method: 'GET', url: '/v1/launches', headers: { ...operator.headers, cookie: `${cookie.name}=${cookie.value}` } })
  // A handler that logs a whole object with secrets in it.
  app.log.info({ password, token: apiToken, headers: { authorization: `Bearer ${apiToken}`, cookie: cookie.value } }, 'careless log line')

  const text = logs.text()
  t.ok(logs.lines.length > 10, `${logs.lines.length} log lines written`)
  for (const [what, secret] of Object.entries({
    password,
    'session cookie': cookie.value,
    'CSRF token': csrfToken,
    'API token': apiToken,
    "the test operator's token": operator.token,
    'setup token': 'one-time-secret-value'
  })) {
    t.notOk(text.includes(secret), `no ${what} in the logs`)
  }
  t.match(text, /\/setup\?token=\[redacted\]&x=1/, 'the URL is logged with its token masked')
  t.match(text, /"password":"\[redacted\]"/)
})
