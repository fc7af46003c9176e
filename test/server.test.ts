// The service as a process: configuration errors, start-up on either database, graceful SIGTERM,
// production guard rails.
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { request, type IncomingHttpHeaders } from 'node:http'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import t from 'tap'
import { databaseUrl, openTestDatabase, withAdminClient } from './helpers.js'
import { seedOperator, serviceEnv, spawnService, waitUntilHealthy } from './support/service-process.js'

// Each test starts a whole process (tsx compiles the service on the way): generous on a busy machine.
t.setTimeout(900_000)

t.test('a bad configuration value stops the process with one line naming the variable', async (t) => {
  const service = spawnService(t, { PORT: '70000' })
  const { code } = await service.exited
  t.equal(code, 1)
  t.equal(service.output(), 'mission-control: invalid configuration: PORT must be <= 65535 (got "70000")\n')
})

t.test('starts, says which database it uses, serves the planets and becomes healthy', async (t) => {
  const url = process.env.TEST_DATABASE_URL ? (await openTestDatabase(t)).url : undefined
  const service = spawnService(t, await serviceEnv(t, url))
  const ms = await waitUntilHealthy(service)
  t.comment(`start to healthy: ${Math.round(ms)} ms on ${url ? 'PostgreSQL' : 'PGlite'}`)
  t.match(service.output(), url ? /using PostgreSQL at 127\.0\.0\.1:5432\/mission_control_test_/ : /using embedded PGlite in /)
  t.notMatch(service.output(), /password/i)
  const planets = await (await fetch(`${service.baseUrl}/v1/planets`)).json()
  t.equal(planets.length, 8, 'the shipped habitable planets are there on a fresh database')
  service.child.kill('SIGTERM')
  t.match(await service.exited, { code: 0 })
  // Without METRICS_FILE the EMF records are stdout lines of their own, written at the latest on exit.
  const records = service.output().split('\n').filter((line) => line.startsWith('{"_aws"')).map((line) => JSON.parse(line))
  t.match(
    records.find((record) => record.Route === 'GET /v1/planets'),
    { Service: 'mission-control', Environment: 'local', StatusClass: '2xx', RequestCount: 1 },
    'the request is in an EMF record on stdout'
  )
})

t.test('SIGTERM lets in-flight requests finish, then exits within 10 s', async (t) => {
  const url = process.env.TEST_DATABASE_URL ? (await openTestDatabase(t)).url : undefined
  const env = await serviceEnv(t, url)
  const operator = await seedOperator(env)
  // At debug level each request is logged as it arrives: the test sees when all five are in.
  const service = spawnService(t, { ...env, LOG_LEVEL: 'debug' })
  await waitUntilHealthy(service)
  const launchDate = `${new Date().getUTCFullYear() + 1}-01-01`
  const encoder = new TextEncoder()
  // Requests whose bodies are still arriving when the signal comes: accepted, unfinished work.
  const slowRequests = Array.from({ length: 5 }, (_, i) => {
    let body!: ReadableStreamDefaultController<Uint8Array>
    const stream = new ReadableStream<Uint8Array>({ start: (controller) => void (body = controller) })
    body.enqueue(encoder.encode(`{"mission": "Shutdown ${i}", `))
    const status = fetch(`${service.baseUrl}/v1/launches`, {
      method: 'POST',
      headers: { ...operator.headers, 'content-type': 'application/json' },
      body: stream,
      duplex: 'half'
    } as RequestInit).then((response) => response.status)
    const finish = () => {
      body.enqueue(encoder.encode(`"rocket": "Explorer IS1", "target": "Kepler-442 b", "launchDate": "${launchDate}"}`))
      body.close()
    }
    return { status, finish }
  })
  const accepted = () => service.output().split('"incoming request"').length - 1
  while (accepted() < slowRequests.length) await new Promise((resolve) => setTimeout(resolve, 20))

  const signalled = performance.now()
  service.child.kill('SIGTERM')
  await new Promise((resolve) => setTimeout(resolve, 500))
  t.equal(service.child.exitCode, null, 'still running while requests are in flight')
  for (const request of slowRequests) request.finish()
  const statuses = await Promise.all(slowRequests.map((request) => request.status))
  t.same(statuses, [201, 201, 201, 201, 201], 'every request in flight at SIGTERM completed')
  const exit = await service.exited
  const ms = performance.now() - signalled
  t.equal(exit.code, 0)
  t.ok(ms < 10_000, `exited ${Math.round(ms)} ms after SIGTERM`)
  t.match(service.output(), /shutting down/)
})

t.test('SIGTERM: new requests during the drain time are still answered, each closing its connection', async (t) => {
  const url = process.env.TEST_DATABASE_URL ? (await openTestDatabase(t)).url : undefined
  const service = spawnService(t, { ...(await serviceEnv(t, url)), SHUTDOWN_DRAIN_MS: '1500' })
  await waitUntilHealthy(service)
  const port = Number(new URL(service.baseUrl).port)
  const signalled = performance.now()
  service.child.kill('SIGTERM')
  await new Promise((resolve) => setTimeout(resolve, 300))
  const during = await get(port, '/v1/planets')
  t.equal(during.status, 200, 'a request arriving 0.3 s after SIGTERM is served')
  t.equal(during.headers.connection, 'close', 'and tells the client to reconnect elsewhere')
  t.equal(service.child.exitCode, null, 'still running during the drain time')
  const exit = await service.exited
  t.equal(exit.code, 0)
  t.ok(performance.now() - signalled >= 1500, 'exited after the drain time')
  t.ok(await get(port, '/health').then(() => false, () => true), 'nothing listens afterwards')
})

t.test('NODE_ENV=production without a database stops with one line and never opens an embedded one', async (t) => {
  const dataDir = path.join(await mkdtemp(path.join(tmpdir(), 'mission-control-prod-')), 'data')
  t.teardown(() => rm(path.dirname(dataDir), { recursive: true, force: true }))
  const service = spawnService(t, { NODE_ENV: 'production', DATA_DIR: dataDir })
  const { code } = await service.exited
  t.equal(code, 1)
  t.equal(
    service.output(),
    'mission-control: invalid configuration: NODE_ENV=production needs DATABASE_SECRET_ID or DATABASE_URL (the embedded database would be private to one instance)\n'
  )
  t.notOk(existsSync(dataDir), 'no embedded data directory was created')
})

t.test('in production the service never migrates: it refuses a schema older than it needs', { skip: !process.env.TEST_DATABASE_URL && 'needs PostgreSQL' }, async (t) => {
  const name = `mission_control_unmigrated_${process.pid}`
  await withAdminClient((client) => client.query(`create database ${name}`))
  t.teardown(() => withAdminClient((client) => client.query(`drop database if exists ${name} with (force)`)))
  const service = spawnService(t, { NODE_ENV: 'production', DATABASE_URL: databaseUrl(name) })
  const { code } = await service.exited
  t.equal(code, 1)
  const lines = service.output().trim().split('\n')
  t.match(JSON.parse(lines.at(-1)!), { level: 60, msg: /^mission-control failed to start: the database lacks migration 2026_11_27_000000_create_planets_and_launches.*npm run db:migrate/ })
  const tables = await (async () => {
    const client = new pg.Client({ connectionString: databaseUrl(name) })
    await client.connect()
    try {
      return (await client.query("select table_name from information_schema.tables where table_schema = 'public'")).rowCount
    } finally {
      await client.end()
    }
  })()
  t.equal(tables, 0, 'nothing was created: migrations belong to the predeploy hook')
})

/** One GET on a fresh connection, headers and status only. */
function get(port: number, url: string): Promise<{ status: number; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: url, agent: false }, (response) => {
      response.resume()
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers }))
    })
      .on('error', reject)
      .end()
  })
}

t.test('first run: the start logs one setup link, which creates the first admin; later starts log none', async (t) => {
  const url = process.env.TEST_DATABASE_URL ? (await openTestDatabase(t)).url : undefined
  const env = await serviceEnv(t, url)
  const first = spawnService(t, env)
  await waitUntilHealthy(first)
  const linkPattern = new RegExp(`http://localhost:${env.PORT}/setup\\?token=[\\w-]{43}`)
  const waitForLink = async () => {
    for (let tries = 0; tries < 100 && !linkPattern.test(first.output()); tries++) await new Promise((resolve) => setTimeout(resolve, 50))
    return first.output().match(new RegExp(linkPattern, 'g')) ?? []
  }
  const links = await waitForLink()
  t.equal(new Set(links).size, 1, 'one link')
  t.equal(first.output().split('\n').filter((line) => linkPattern.test(line)).length, 1, 'logged once')
  t.match(first.output(), /No operator exists yet/)
  const token = new URL(links[0]!).searchParams.get('token')!
  const created = await fetch(`${first.baseUrl}/v1/setup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token, email: 'first@example.com', name: 'First Admin', password: 'first admin passphrase' })
  })
  t.equal(created.status, 201)
  first.child.kill('SIGTERM')
  await first.exited

  const second = spawnService(t, env)
  await waitUntilHealthy(second)
  await new Promise((resolve) => setTimeout(resolve, 500))
  t.notMatch(second.output(), /setup\?token=/, 'an operator exists: no link')
  second.child.kill('SIGTERM')
  await second.exited
})

t.test('AUTH_REQUIRED=false warns at every start, and stops the process when NODE_ENV=production', async (t) => {
  const url = process.env.TEST_DATABASE_URL ? (await openTestDatabase(t)).url : undefined
  const env = await serviceEnv(t, url)
  // The warning comes first, before the database is opened: no need to wait for a healthy start.
  const open = spawnService(t, { ...env, AUTH_REQUIRED: 'false' })
  const warning = /AUTH_REQUIRED=false: anyone who reaches this service can schedule and abort launches/
  for (let tries = 0; tries < 1200 && !warning.test(open.output()) && open.child.exitCode === null; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.match(open.output(), warning)
  open.child.kill('SIGTERM')
  await open.exited

  // Production also needs a database server; the configuration is refused before it is reached.
  const production = spawnService(t, { ...env, AUTH_REQUIRED: 'false', NODE_ENV: 'production', DATABASE_URL: url ?? 'postgres://mc@db.example.com/mission_control' })
  const { code } = await production.exited
  t.equal(code, 1)
  t.equal(
    production.output(),
    'mission-control: invalid configuration: AUTH_REQUIRED=false is refused when NODE_ENV=production: anyone could schedule and abort launches\n'
  )
})
