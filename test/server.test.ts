// The service as a process: configuration errors, start-up on either database, graceful SIGTERM.
import t from 'tap'
import { openTestDatabase } from './helpers.js'
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
})

t.test('SIGTERM lets in-flight requests finish, then exits within 10 s', async (t) => {
  const url = process.env.TEST_DATABASE_URL ? (await openTestDatabase(t)).url : undefined
  const env = await serviceEnv(t, url)
  const operator = await seedOperator(env)
  const service = spawnService(t, env)
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

  const production = spawnService(t, { ...env, AUTH_REQUIRED: 'false', NODE_ENV: 'production' })
  const { code } = await production.exited
  t.equal(code, 1)
  t.equal(
    production.output(),
    'mission-control: invalid configuration: AUTH_REQUIRED=false is refused when NODE_ENV=production: anyone could schedule and abort launches\n'
  )
})
