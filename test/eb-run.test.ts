// An Elastic Beanstalk-like run of the bundle: unzip it, run its hooks in EB's order with the
// environment the bundle defines, start the Procfile's web process, put a real nginx with EB's
// layout and the bundle's .platform/nginx in front, and talk to it the way the ALB does.
// The bundle runs in production, which needs PostgreSQL: TEST_DATABASE_URL's server when set,
// else a cluster of the test's own. Two "instances" migrate at once.
import { spawn } from 'node:child_process'
import { request, type IncomingHttpHeaders } from 'node:http'
import { connect } from 'node:net'
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises'
import { once } from 'node:events'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { gunzipSync } from 'node:zlib'
import t from 'tap'
import {
  buildBundle,
  bundleEnvironment,
  extractZip,
  fixtures,
  instanceEnvironment,
  layOutNginx,
  runHookPhase,
  startNginx,
  startWebProcess,
  temporaryDirectory,
  testNginxConfig,
  waitFor
} from './fixtures/eb/harness.js'
import { openEventStream } from './support/event-stream.js'
import { freePort } from './support/free-port.js'
import { requireNeeds } from './support/needs.js'
import { scratchDatabase } from './support/scratch-database.js'

// A cluster of its own only without TEST_DATABASE_URL (scratchDatabase).
await requireNeeds(t, process.env.TEST_DATABASE_URL ? ['nginx'] : ['nginx', 'postgres-server'])

// A production install and zip of ~5000 files before the run starts: longer than .taprc's default.
t.setTimeout(300_000)

const work = await temporaryDirectory(t, 'eb-run')
const zipFile = path.join(work, 'bundle/app.zip')
await buildBundle(zipFile)

// --- the database the environment points at ---------------------------------------------------
const database = await scratchDatabase(t, 'eb_run')

// --- unzip → hooks → web process → nginx, timed like a deployment ----------------------------
const startedAt = performance.now()
const appDirectory = path.join(work, 'var/app/current')
await extractZip(zipFile, appDirectory)
const unzippedAt = performance.now()

const bundlePort = (await bundleEnvironment(appDirectory)).PORT
const appPort = await freePort()
const nginxPort = await freePort()
// The bundle's METRICS_FILE under this run's root; on EB .ebextensions/06-metrics.config makes the directory.
const bundleMetricsFile = (await bundleEnvironment(appDirectory)).METRICS_FILE!
const metricsFile = path.join(work, bundleMetricsFile)
await mkdir(path.dirname(metricsFile), { recursive: true })
const environment = await instanceEnvironment(appDirectory, work, {
  ...database.environment,
  // Test-only: a free port instead of 8080, and no SpaceX (unreachable from here).
  PORT: String(appPort),
  METRICS_FILE: metricsFile,
  SPACEX_SYNC_ON_START: 'false'
})

const prebuild = await runHookPhase(appDirectory, 'prebuild', environment)
// Two instances of a rolling deployment migrate the same database at the same moment.
const predeploy = (await Promise.all([1, 2].map(() => runHookPhase(appDirectory, 'predeploy', environment)))).flat()
const hooksDoneAt = performance.now()

// The first operator, created with the bundle's command as an administrator would on an instance
// (before the web process starts: PGlite allows one process per data directory).
const OPERATOR = { email: 'ops@example.com', password: 'eb run operator passphrase' }
const operatorCreated = await new Promise<{ code: number | null; output: string }>((resolve) => {
  const child = spawn(process.execPath, ['dist/app/operators/operator-cli.js', 'create', '--email', OPERATOR.email, '--name', 'EB Operator', '--role', 'admin'], {
    cwd: appDirectory,
    env: environment,
    stdio: ['pipe', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  child.on('exit', (code) => resolve({ code, output }))
  child.stdin.end(`${OPERATOR.password}\n`)
})

const web = await startWebProcess(t, appDirectory, environment)
const service = web.child
const serviceExit = web.exited

const nginxPrefix = path.join(work, 'etc/nginx')
const nginxConfFile = await layOutNginx({
  bundleDirectory: appDirectory,
  prefix: nginxPrefix,
  listenPort: nginxPort,
  appPort,
  bundlePort: Number(bundlePort),
  nginxConf: await readFile(path.join(appDirectory, '.platform/nginx/nginx.conf'), 'utf8')
})
const nginxCheck = await testNginxConfig(nginxPrefix, nginxConfFile)
if (!nginxCheck.ok) throw new Error(`nginx -t failed:\n${nginxCheck.output}`)
await startNginx(t, nginxPrefix, nginxConfFile, nginxPort)
const postdeploy = await runHookPhase(appDirectory, 'postdeploy', environment)

interface Reply {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
}

/** One HTTP request, nothing decoded (so compression stays visible). */
function send(
  port: number,
  { method = 'GET', url, headers = {}, body }: { method?: string; url: string; headers?: Record<string, string>; body?: string }
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const outgoing = request({ host: '127.0.0.1', port, method, path: url, headers, agent: false }, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks) }))
      response.on('error', reject)
    })
    outgoing.on('error', reject)
    outgoing.end(body)
  })
}

/** A request as the ALB forwards it from a client that used `scheme`. */
const viaLoadBalancer = (scheme: 'http' | 'https', url: string, headers: Record<string, string> = {}) =>
  send(nginxPort, {
    url,
    headers: { host: 'mission-control.example.com', 'x-forwarded-proto': scheme, 'x-forwarded-for': '203.0.113.7', ...headers }
  })

const bearer = { authorization: '' }

/** Signs in through nginx as the ALB forwards HTTPS, then creates an API token with the session. */
async function signedInToken(): Promise<string> {
  const headers = { host: 'mission-control.example.com', 'x-forwarded-proto': 'https', 'content-type': 'application/json' }
  const signIn = await send(nginxPort, { method: 'POST', url: '/v1/session', headers, body: JSON.stringify(OPERATOR) })
  if (signIn.status !== 200) throw new Error(`sign-in answered ${signIn.status}: ${signIn.body}`)
  const setCookie = String(signIn.headers['set-cookie'])
  if (!/^__Host-mc_session=[^;]+;.*Secure/i.test(setCookie)) throw new Error(`unexpected cookie: ${setCookie}`)
  const { csrfToken } = JSON.parse(signIn.body.toString()) as { csrfToken: string }
  const created = await send(nginxPort, {
    method: 'POST',
    url: '/v1/tokens',
    headers: { ...headers, cookie: setCookie.split(';')[0]!, 'x-csrf-token': csrfToken },
    body: JSON.stringify({ name: 'eb-run' })
  })
  if (created.status !== 201) throw new Error(`token creation answered ${created.status}: ${created.body}`)
  bearer.authorization = `Bearer ${(JSON.parse(created.body.toString()) as { token: string }).token}`
  return bearer.authorization
}

const health = await waitFor(async () => {
  const reply = await send(nginxPort, { url: '/health', headers: { 'user-agent': 'ELB-HealthChecker/2.0' } })
  if (reply.status !== 200) throw new Error(`/health answered ${reply.status}`)
  return reply
}, 60_000, 200).catch((error: Error) => {
  throw new Error(`${error.message}\nservice output:\n${web.output()}`)
})
const healthyAt = performance.now()
const seconds = (from: number, to: number) => ((to - from) / 1000).toFixed(1)
t.comment(
  `EB-like run: unzip to healthy through nginx in ${seconds(startedAt, healthyAt)} s ` +
    `(unzip ${seconds(startedAt, unzippedAt)} s, hooks ${seconds(unzippedAt, hooksDoneAt)} s, start to healthy ${seconds(hooksDoneAt, healthyAt)} s)`
)

t.test('hooks run in EB order and succeed, several instances at once', async (t) => {
  t.same(prebuild, [], 'no prebuild hooks')
  t.same(postdeploy, [], 'no postdeploy hooks')
  t.equal(predeploy.length, 2)
  for (const run of predeploy) {
    t.equal(run.code, 0, `${run.hook} exits 0${run.code === 0 ? '' : `:\n${run.output}`}`)
    t.match(run.output, /database is up to date/, `${run.hook} migrated`)
  }
  const client = await database.connect()
  try {
    const migrations = await client.query('SELECT name FROM kysely_migration')
    const compiled = (await readdir(path.join(appDirectory, 'dist/migrations'))).filter((file) => file.endsWith('.js'))
    t.equal(migrations.rowCount, compiled.length, 'every migration applied exactly once')
    const planets = await client.query('SELECT count(*)::int AS total, count(DISTINCT kepler_name)::int AS distinct FROM planets')
    t.ok(planets.rows[0].total > 0, 'the planet catalogue is seeded')
    t.equal(planets.rows[0].total, planets.rows[0].distinct, 'and seeded once')
  } finally {
    await client.end()
  }
})

t.test('/health answers 200 through nginx', async (t) => {
  t.equal(health.status, 200)
  t.match(JSON.parse(health.body.toString()), { status: String })
  const direct = await send(nginxPort, { url: '/health' })
  t.equal(direct.status, 200, 'also without any X-Forwarded-Proto (no load balancer in front)')
})

t.test('plain HTTP through the load balancer is redirected to HTTPS, the health checker never', async (t) => {
  const redirected = await viaLoadBalancer('http', '/v1/planets?x=1')
  t.equal(redirected.status, 301)
  t.equal(redirected.headers.location, 'https://mission-control.example.com/v1/planets?x=1')
  const dashboard = await viaLoadBalancer('http', '/')
  t.equal(dashboard.status, 301)
  for (const userAgent of ['ELB-HealthChecker/2.0', 'ELB-HealthChecker/1.0']) {
    const checked = await viaLoadBalancer('http', '/health', { 'user-agent': userAgent })
    t.equal(checked.status, 200, `${userAgent} gets the health answer`)
  }
})

t.test('HSTS over X-Forwarded-Proto https only; security headers on pages and JSON', async (t) => {
  const https = await viaLoadBalancer('https', '/v1/planets')
  t.equal(https.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains')
  t.equal(https.headers['x-content-type-options'], 'nosniff')
  const page = await viaLoadBalancer('https', '/launch')
  t.equal(page.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains')
  t.match(page.headers['content-security-policy'], /default-src 'self'/)
  const checker = await viaLoadBalancer('http', '/health', { 'user-agent': 'ELB-HealthChecker/2.0' })
  t.equal(checker.headers['strict-transport-security'], undefined, 'not over plain HTTP')
})

t.test('the logs show the true client address when X-Forwarded-For is forged', async (t) => {
  // The client sent X-Forwarded-For: 6.6.6.6; the ALB appended the address it saw.
  await viaLoadBalancer('https', '/v1/planets?forged=1', { 'x-forwarded-for': '6.6.6.6, 203.0.113.7' })
  const line = await waitFor(async () => {
    const found = web
      .output()
      .split('\n')
      .find((text) => text.includes('"request completed"') && text.includes('forged=1'))
    if (!found) throw new Error('no log line yet')
    return JSON.parse(found) as { req: { remoteAddress: string } }
  }, 5000)
  t.equal(line.req.remoteAddress, '203.0.113.7')
  t.notMatch(JSON.stringify(line), /6\.6\.6\.6/)
})

t.test('the operator created with the bundle signs in over HTTPS: a __Host- cookie, then an API token', async (t) => {
  t.equal(operatorCreated.code, 0, operatorCreated.output)
  t.match(operatorCreated.output, /^created admin ops@example\.com \(EB Operator, id \d+\)/)
  const authorization = await signedInToken()
  t.match(authorization, /^Bearer mc_/)
  const whoami = await send(nginxPort, { url: '/v1/session', headers: { 'x-forwarded-proto': 'https', authorization } })
  t.equal(whoami.status, 200)
  t.match(JSON.parse(whoami.body.toString()), { operator: { email: OPERATOR.email, role: 'admin' }, csrfToken: null })
})

t.test('over HTTPS the dashboard and the API answer', async (t) => {
  const dashboard = await viaLoadBalancer('https', '/')
  t.equal(dashboard.status, 200, 'dashboard')
  t.match(dashboard.headers['content-type'], /^text\/html/)
  const planets = await viaLoadBalancer('https', '/v1/planets')
  t.equal(planets.status, 200, 'API')
  const list = JSON.parse(planets.body.toString()) as Array<{ keplerName: string }>
  t.ok(list.length > 0 && typeof list[0]!.keplerName === 'string', 'planets from the migrated, seeded database')
  const unknown = await viaLoadBalancer('https', '/v1/nothing-here')
  t.equal(unknown.status, 404)
  t.match(JSON.parse(unknown.body.toString()), { error: String, code: String }, "the service's error shape")
})

t.test('JSON is gzipped', async (t) => {
  const reply = await viaLoadBalancer('https', '/v1/planets', { 'accept-encoding': 'gzip' })
  t.equal(reply.status, 200)
  t.equal(reply.headers['content-encoding'], 'gzip')
  t.match(reply.headers.vary, /Accept-Encoding/i)
  const json = JSON.parse(gunzipSync(reply.body).toString()) as unknown[]
  t.ok(json.length > 0, 'decompresses to the planet list')
  const identity = await viaLoadBalancer('https', '/v1/planets')
  t.equal(identity.headers['content-encoding'], undefined, 'not for clients that do not ask')
})

t.test("bodies over the service's limit stop at nginx, in the service's error shape", async (t) => {
  const tooLarge = await send(nginxPort, {
    method: 'POST',
    url: '/v1/launches',
    headers: { 'x-forwarded-proto': 'https', 'content-type': 'application/json' },
    body: JSON.stringify({ mission: 'x'.repeat(17 * 1024) })
  })
  t.equal(tooLarge.status, 413)
  t.same(JSON.parse(tooLarge.body.toString()), { error: 'Request body is too large', code: 'PAYLOAD_TOO_LARGE' })
})

t.test('GET /v1/events through nginx: the first byte within 1 s, then each change as it commits, uncompressed', async (t) => {
  const started = performance.now()
  const stream = await openEventStream(`http://127.0.0.1:${nginxPort}`, {
    headers: { host: 'mission-control.example.com', 'x-forwarded-proto': 'https', 'accept-encoding': 'gzip' }
  })
  t.teardown(() => stream.close())
  t.equal(stream.status, 200)
  t.equal(stream.headers['content-type'], 'text/event-stream')
  t.equal(stream.headers['content-encoding'], undefined, 'not compressed (compression would hold events back)')
  const opening = await stream.waitFor(() => true, 5000)
  const firstByteMs = stream.chunks[0]!.at - started
  t.ok(firstByteMs < 1000, `first byte after ${firstByteMs.toFixed(0)} ms`)
  t.match(opening, { retry: '3000', id: /^\d+$/ })

  const planets = JSON.parse((await viaLoadBalancer('https', '/v1/planets')).body.toString()) as Array<{ keplerName: string }>
  const body = JSON.stringify({ mission: 'Through nginx', rocket: 'Explorer IS1', target: planets[0]!.keplerName, launchDate: '2031-02-03' })
  const created = await send(nginxPort, {
    method: 'POST',
    url: '/v1/launches',
    headers: { 'x-forwarded-proto': 'https', 'content-type': 'application/json', authorization: bearer.authorization },
    body
  })
  t.equal(created.status, 201)
  const writtenAt = performance.now()
  const event = await stream.waitFor((message) => message.event === 'launch', 5000)
  t.match(JSON.parse(event.data!), { change: 'scheduled', launch: { mission: 'Through nginx' } })
  t.ok(event.at - writtenAt < 1000, `delivered ${Math.max(0, event.at - writtenAt).toFixed(0)} ms after the write answered, not buffered`)
  t.notOk(stream.isEnded(), 'the stream stays open')
})

t.test('SIGTERM: the service finishes requests in flight and exits within 10 s', async (t) => {
  const planets = JSON.parse((await viaLoadBalancer('https', '/v1/planets')).body.toString()) as Array<{ keplerName: string }>
  const body = JSON.stringify({ mission: 'Shutdown drill', rocket: 'Explorer IS1', target: planets[0]!.keplerName, launchDate: '2031-01-04' })
  // A request the service has started (headers read) whose body is still on its way.
  const socket = connect(appPort, '127.0.0.1')
  await once(socket, 'connect')
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  const closed = once(socket, 'close')
  socket.write(
    `POST /v1/launches HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${bearer.authorization}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`
  )
  socket.write(body.slice(0, 10))
  await sleep(300)
  const signalledAt = performance.now()
  service.kill('SIGTERM')
  await sleep(500)
  // Written, not ended: a half-closed socket is something neither nginx nor the ALB does.
  socket.write(body.slice(10))
  await closed
  const response = Buffer.concat(chunks).toString()
  t.match(response, /^HTTP\/1\.1 201 /, 'the request in flight completed')
  t.match(response, /"mission":"Shutdown drill"/)
  const [code, signal] = await serviceExit
  const seconds = (performance.now() - signalledAt) / 1000
  t.equal(code, 0, `exit code 0 (signal ${signal})`)
  t.ok(seconds < 10, `exited ${seconds.toFixed(1)} s after SIGTERM`)
  const refused = await send(appPort, { url: '/health' }).then(
    () => false,
    () => true
  )
  t.ok(refused, 'nothing listens afterwards')
})

t.test('the metrics file holds one EMF record per line, nothing around it, for the requests served', async (t) => {
  t.equal(bundleMetricsFile, '/var/log/mission-control/metrics.log', 'the file the CloudWatch agent is told to stream')
  const lines = (await readFile(metricsFile, 'utf8')).split('\n').filter(Boolean)
  const records = lines.map((line) => JSON.parse(line) as { _aws: { CloudWatchMetrics: unknown[] }; Route?: string; RequestCount?: number })
  t.ok(records.every((record) => record._aws.CloudWatchMetrics.length > 0), `${records.length} records, each a JSON object with metric directives`)
  t.ok(records.some((record) => record.Route === 'GET /v1/planets' && (record.RequestCount ?? 0) >= 1), 'the requests through nginx are counted')
  t.notOk(web.output().includes('"_aws"'), 'and none of it goes to stdout (web.stdout.log)')
})

t.test("EB's default nginx.conf rejects gzip in conf.d/elasticbeanstalk, the reason nginx.conf is replaced", async (t) => {
  const prefix = path.join(work, 'etc/nginx-default')
  const confFile = await layOutNginx({
    bundleDirectory: appDirectory,
    prefix,
    listenPort: nginxPort,
    appPort,
    bundlePort: Number(bundlePort),
    nginxConf: await readFile(path.join(fixtures, 'nginx.conf'), 'utf8')
  })
  t.ok((await testNginxConfig(prefix, confFile)).ok, "EB's default accepts the bundle's conf.d files")
  await mkdir(path.join(prefix, 'conf.d/elasticbeanstalk'), { recursive: true })
  await writeFile(path.join(prefix, 'conf.d/elasticbeanstalk/gzip.conf'), 'gzip on;\n')
  const withGzip = await testNginxConfig(prefix, confFile)
  t.notOk(withGzip.ok)
  t.match(withGzip.output, /"gzip" directive is duplicate/)
})
