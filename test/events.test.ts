// GET /v1/events and the change feed behind it: live events from any instance on one database,
// replay after a lost LISTEN connection, Last-Event-ID and reset, heartbeats, the stream cap and
// shutdown. Streams are read over real sockets (test/support/event-stream.ts).
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { sql } from 'kysely'
import type { FastifyInstance } from 'fastify'
import { LISTEN_APPLICATION_NAME } from '../app/database/database.js'
import { reconnectDelayMs } from '../app/events/feed-listener.js'
import { buildTestApp, openTestDatabase, withAdminClient, type TestOperator } from './helpers.js'
import { openEventStream, type EventMessage } from './support/event-stream.js'
import { serviceEnv, spawnService, waitUntilHealthy } from './support/service-process.js'

const onPostgres = Boolean(process.env.TEST_DATABASE_URL)
const nextYear = new Date().getUTCFullYear() + 1
// Writes come fast here; the per-operator limit is not what these tests are about.
const env = { RATE_LIMIT_OPERATOR_WRITES_PER_MINUTE: '0', RATE_LIMIT_IP_WRITES_PER_MINUTE: '0' }

async function listen(app: FastifyInstance): Promise<string> {
  return app.listen({ port: 0, host: '127.0.0.1' })
}

async function schedule(app: FastifyInstance, operator: TestOperator, mission: string) {
  const response = await app.inject({
    method: 'POST',
    url: '/v1/launches',
    headers: operator.headers,
    payload: { mission, rocket: 'Explorer IS1', target: 'Kepler-442 b', launchDate: `${nextYear}-03-01` }
  })
  if (response.statusCode !== 201) throw new Error(`scheduling answered ${response.statusCode}: ${response.body}`)
  return response.json() as { flightNumber: number; mission: string }
}

const launchEvents = (messages: EventMessage[]) =>
  messages.filter((message) => message.event === 'launch').map((message) => JSON.parse(message.data!) as { change: string; launch: { mission: string } })

t.test('a stream opens at once and delivers each write as an event: id, type and the launch as the API returns it', async (t) => {
  const { app, operator } = await buildTestApp(t, { env })
  const baseUrl = await listen(app)
  const stream = await openEventStream(baseUrl)
  t.equal(stream.status, 200)
  t.equal(stream.headers['content-type'], 'text/event-stream')
  t.equal(stream.headers['cache-control'], 'no-cache')
  t.equal(stream.headers['x-accel-buffering'], 'no')
  const opening = await stream.waitFor(() => true)
  t.same({ retry: opening.retry, id: opening.id }, { retry: '3000', id: String(app.changeFeed.lastEventId()) }, 'retry and the position come first')

  const scheduled = await schedule(app, operator, 'Live One')
  const event = await stream.waitFor((message) => message.event === 'launch')
  const stored = await app.db.selectFrom('change_events').select(sql<string>`max(id)::text`.as('id')).executeTakeFirstOrThrow()
  t.equal(event.id, stored.id, 'the event id is the feed id')
  t.same(JSON.parse(event.data!), { change: 'scheduled', launch: scheduled })
  const aborted = await app.inject({ method: 'DELETE', url: `/v1/launches/${scheduled.flightNumber}`, headers: operator.headers })
  t.equal(aborted.statusCode, 200)
  await stream.waitFor((message) => message.data?.includes('"aborted"') ?? false)
  t.same(launchEvents(stream.messages).map((data) => data.change), ['scheduled', 'aborted'])
  stream.close()
})

t.test('two instances on one database: a write on one shows in the other\'s stream, in order', async (t) => {
  const { database } = await openTestDatabase(t)
  const a = await buildTestApp(t, { database, env })
  const b = await buildTestApp(t, { database, env })
  const stream = await openEventStream(await listen(b.app))
  await stream.waitFor(() => true)
  const missions = ['Cross One', 'Cross Two', 'Cross Three']
  for (const mission of missions) await schedule(a.app, a.operator, mission)
  await stream.waitFor((message) => message.data?.includes('Cross Three') ?? false)
  t.same(launchEvents(stream.messages).map((data) => data.launch.mission), missions)
  const ids = stream.events().map((message) => Number(message.id))
  t.same(ids, [...ids].sort((x, y) => x - y), 'ids increase')
  t.equal(b.app.changeFeed.lastEventId(), ids.at(-1), "instance B's feed is at the last event")
  stream.close()
})

t.test('the LISTEN connection killed while writes continue: nothing missed after the reconnect', { skip: !onPostgres && 'PGlite listens in-process: there is no connection to kill' }, async (t) => {
  const { app, operator, logs } = await buildTestApp(t, { env })
  const reconnects: number[] = []
  app.changeFeed.onReconnect(() => reconnects.push(app.changeFeed.lastEventId()))
  const delivered: number[] = []
  app.changeFeed.subscribe((event) => delivered.push(event.id))
  const stream = await openEventStream(await listen(app))
  await stream.waitFor(() => true)

  const databaseName = (await sql<{ name: string }>`select current_database() as name`.execute(app.db)).rows[0]!.name
  const writes = (async () => {
    for (let i = 0; i < 20; i++) {
      await schedule(app, operator, `Through the outage ${i}`)
      await new Promise((resolve) => setTimeout(resolve, 15))
    }
  })()
  await new Promise((resolve) => setTimeout(resolve, 60))
  const killed = await withAdminClient((client) =>
    client.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1 and datname = $2', [LISTEN_APPLICATION_NAME, databaseName])
  )
  t.equal(killed.rowCount, 1, 'one LISTEN connection per instance, outside the pool')
  await writes
  await stream.waitFor((message) => message.data?.includes('Through the outage 19') ?? false)

  const ids = (await app.db.selectFrom('change_events').select(sql<string>`id::text`.as('id')).orderBy('change_events.id').execute()).map((row) => Number(row.id))
  t.same(delivered, ids, 'every event in the table reached the subscriber, once, in order')
  t.same(
    launchEvents(stream.messages).map((data) => data.launch.mission),
    Array.from({ length: 20 }, (_, i) => `Through the outage ${i}`),
    'and the stream'
  )
  t.ok(reconnects.length === 1, 'subscribers heard about the reconnect')
  t.match(logs.text(), /the change feed LISTEN connection was lost/)
  t.match(logs.text(), /the change feed is listening again/)
  // And it listens again: a new write arrives without any further outage.
  await schedule(app, operator, 'After the outage')
  await stream.waitFor((message) => message.data?.includes('After the outage') ?? false)

  // Killed again while it reconnects: it keeps trying until a session holds.
  const kill = () =>
    withAdminClient((client) =>
      client.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1 and datname = $2', [LISTEN_APPLICATION_NAME, databaseName])
    )
  await kill()
  for (let i = 0; i < 10; i++) {
    await new Promise((resolve) => setTimeout(resolve, 40))
    await kill()
  }
  await schedule(app, operator, 'After repeated outages')
  await stream.waitFor((message) => message.data?.includes('After repeated outages') ?? false, 30_000)
  await new Promise((resolve) => setTimeout(resolve, 300))
  const listeners = await withAdminClient((client) =>
    client.query('select count(*)::int as n from pg_stat_activity where application_name = $1 and datname = $2', [LISTEN_APPLICATION_NAME, databaseName])
  )
  t.equal(listeners.rows[0].n, 1, 'one LISTEN connection again, none leaked')
  stream.close()
})

t.test('Last-Event-ID replays what the client missed, then goes on live; a pruned or foreign id gets reset', async (t) => {
  const { app, operator } = await buildTestApp(t, { env })
  const baseUrl = await listen(app)
  for (const mission of ['Missed One', 'Missed Two', 'Missed Three']) await schedule(app, operator, mission)
  const ids = (await app.db.selectFrom('change_events').select(sql<string>`id::text`.as('id')).orderBy('change_events.id').execute()).map((row) => row.id)

  const resumed = await openEventStream(baseUrl, { headers: { 'last-event-id': ids[0]! } })
  t.equal(resumed.chunks[0]?.text ?? (await resumed.waitFor(() => true), resumed.chunks[0]!.text), 'retry: 3000\n\n', 'the first bytes before any query')
  await resumed.waitFor((message) => message.data?.includes('Missed Three') ?? false)
  t.same(launchEvents(resumed.messages).map((data) => data.launch.mission), ['Missed Two', 'Missed Three'])
  t.same(resumed.events().map((message) => message.id), ids.slice(1))
  await schedule(app, operator, 'Live After Replay')
  await resumed.waitFor((message) => message.data?.includes('Live After Replay') ?? false)
  t.equal(launchEvents(resumed.messages).length, 3, 'then live, nothing twice')

  const byQuery = await openEventStream(baseUrl, { path: `/v1/events?lastEventId=${ids[1]}` })
  await byQuery.waitFor((message) => message.data?.includes('Live After Replay') ?? false)
  t.same(launchEvents(byQuery.messages).map((data) => data.launch.mission), ['Missed Three', 'Live After Replay'], '?lastEventId= works the same')

  const current = await openEventStream(baseUrl, { headers: { 'last-event-id': String(app.changeFeed.lastEventId()) } })
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.same(current.events(), [], 'a client that is up to date gets nothing old')

  // The feed keeps 24 h or 10,000 events: drop the oldest as pruning would.
  await app.db.deleteFrom('change_events').where('id', '<=', sql<string>`${ids[1]}::bigint`).execute()
  const newest = String(app.changeFeed.lastEventId())
  for (const lastEventId of [ids[0]!, '999999999', 'not-an-id']) {
    const stale = await openEventStream(baseUrl, { headers: { 'last-event-id': lastEventId } })
    const reset = await stale.waitFor((message) => message.event !== undefined)
    t.same({ event: reset.event, data: reset.data, id: reset.id }, { event: 'reset', data: '{}', id: newest }, `${lastEventId}: reset, at the newest id`)
    stale.close()
  }
  const stillKept = await openEventStream(baseUrl, { headers: { 'last-event-id': ids[1]! } })
  await stillKept.waitFor((message) => message.data?.includes('Missed Three') ?? false)
  t.equal(stillKept.messages.find((message) => message.event === 'reset'), undefined, 'the id just before the oldest kept still replays')
  for (const stream of [resumed, byQuery, current, stillKept]) stream.close()
})

t.test('idle streams get a heartbeat comment', async (t) => {
  const { app } = await buildTestApp(t, { env: { EVENTS_HEARTBEAT_SECONDS: '0.2' } })
  const stream = await openEventStream(await listen(app))
  const heartbeat = await stream.waitFor((message) => message.comments.includes('heartbeat'), 2000)
  t.ok(heartbeat)
  await stream.waitFor((message) => message !== heartbeat && message.comments.includes('heartbeat'), 2000)
  t.pass('and another one')
  stream.close()
})

t.test('past the stream cap: 503 EVENT_STREAMS_FULL with Retry-After; a closed stream frees its place', async (t) => {
  const { app } = await buildTestApp(t, { env: { EVENTS_MAX_STREAMS: '2' } })
  const baseUrl = await listen(app)
  const first = await openEventStream(baseUrl)
  const second = await openEventStream(baseUrl)
  const refused = await app.inject({ method: 'GET', url: '/v1/events' })
  t.equal(refused.statusCode, 503)
  t.equal(refused.headers['retry-after'], '5')
  t.same(refused.json(), { error: 'This instance serves as many event streams as it may, try again shortly', code: 'EVENT_STREAMS_FULL' })
  first.close()
  await new Promise((resolve) => setTimeout(resolve, 100))
  const third = await openEventStream(baseUrl)
  t.equal(third.status, 200)
  second.close()
  third.close()
})

t.test('draining ends every stream at once with a retry hint, and answers reconnects the same way', async (t) => {
  const { app } = await buildTestApp(t)
  const baseUrl = await listen(app)
  const streams = await Promise.all([1, 2, 3].map(() => openEventStream(baseUrl)))
  await Promise.all(streams.map((stream) => stream.waitFor(() => true)))
  const drainedAt = performance.now()
  app.startDraining()
  await Promise.all(streams.map((stream) => stream.ended))
  t.ok(performance.now() - drainedAt < 500, 'ended within half a second')
  for (const stream of streams) {
    const retry = Number(stream.messages.at(-1)?.retry)
    t.ok(retry >= 1000 && retry <= 3000, `the last message is a retry hint (${retry} ms)`)
  }
  const reconnect = await openEventStream(baseUrl)
  await reconnect.ended
  t.equal(reconnect.status, 200, 'a reconnect while draining is not an error EventSource would give up on')
  t.match(reconnect.messages, [{ retry: /^\d+$/ }])
})

t.test('the OpenAPI document describes the stream', async (t) => {
  const { app } = await buildTestApp(t)
  const document = (await app.inject('/openapi.json')).json()
  const operation = document.paths['/v1/events'].get
  t.ok(operation.responses['200'].content['text/event-stream'], '200 is text/event-stream')
  t.same(operation.security, [], 'public')
  t.ok(operation.responses['503'])
})

t.test('SIGTERM: the service process ends its streams at once with a retry hint, and exits without waiting for them', async (t) => {
  const url = onPostgres ? (await openTestDatabase(t)).url : undefined
  const service = spawnService(t, { ...(await serviceEnv(t, url)), SHUTDOWN_DRAIN_MS: '2000' })
  await waitUntilHealthy(service)
  const streams = await Promise.all([1, 2].map(() => openEventStream(service.baseUrl)))
  await Promise.all(streams.map((stream) => stream.waitFor(() => true)))
  const signalled = performance.now()
  service.child.kill('SIGTERM')
  await Promise.all(streams.map((stream) => stream.ended))
  const endedMs = performance.now() - signalled
  t.ok(endedMs < 1000, `streams ended ${Math.round(endedMs)} ms after SIGTERM, well inside the 2 s drain`)
  for (const stream of streams) t.match(stream.messages.at(-1), { retry: /^\d+$/ }, 'the last message is a retry hint')
  const exit = await service.exited
  t.equal(exit.code, 0)
  t.ok(performance.now() - signalled < 5000, 'and the process exited after the drain, not held by the streams')
})

t.test('metrics: open streams as a gauge; a stream\'s lifetime is not recorded as request latency', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'events-metrics-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'metrics.log')
  const { app } = await buildTestApp(t, { env: { METRICS: 'on', METRICS_FILE: file, METRICS_INTERVAL_SECONDS: '1', EVENTS_MAX_STREAMS: '1' } })
  const baseUrl = await listen(app)
  const stream = await openEventStream(baseUrl)
  await stream.waitFor(() => true)
  t.equal((await app.inject('/v1/events')).statusCode, 503)
  await new Promise((resolve) => setTimeout(resolve, 1500))
  stream.close()
  await app.close()
  const records = (await readFile(file, 'utf8')).split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>)
  t.ok(records.some((record) => record.EventStreamsOpen === 1), 'EventStreamsOpen sampled while the stream was open')
  t.same(
    records.filter((record) => record.Route === 'GET /v1/events').map((record) => record.StatusClass),
    ['5xx'],
    'only the refused request is a request record'
  )
})

t.test('reconnect backoff: 100 ms doubling to 10 s, each wait between half and all of it', async (t) => {
  t.same([0, 1, 2, 3].map((attempt) => reconnectDelayMs(attempt, () => 1)), [100, 200, 400, 800])
  t.same([0, 1, 2, 3].map((attempt) => reconnectDelayMs(attempt, () => 0)), [50, 100, 200, 400])
  t.equal(reconnectDelayMs(20, () => 1), 10_000, 'capped')
})
