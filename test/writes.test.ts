// The one write path (app/writes/): every write commits its change, audit rows, feed events and
// idempotency answer together, or none of them.
import t from 'tap'
import { sql, type Kysely } from 'kysely'
import pg from 'pg'
import type { Database } from '../app/database/schema.js'
import { FEED_CHANNEL, FEED_RETENTION, pruneFeed } from '../app/writes/feed.js'
import { pruneIdempotencyKeys } from '../app/writes/idempotency.js'
import { runWrite } from '../app/writes/unit-of-work.js'
import { buildTestApp, databaseUrl, openTestDatabase } from './helpers.js'

const nextYear = new Date().getUTCFullYear() + 1
const launch = { mission: 'Kepler Exploration X', rocket: 'Explorer IS1', target: 'Kepler-442 b', launchDate: `${nextYear}-06-01` }

function auditRows(db: Kysely<Database>) {
  return db.selectFrom('audit_events').selectAll().orderBy('id').execute()
}
function feedRows(db: Kysely<Database>) {
  return db.selectFrom('change_events').select(['type', 'payload', sql<string>`id::text`.as('id')]).orderBy('change_events.id').execute()
}
function launchCount(db: Kysely<Database>) {
  return db.selectFrom('launches').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow().then((row) => row.n)
}

t.test('scheduling and aborting leave the launch, its audit row and its feed event, from one transaction', async (t) => {
  const { app, operator } = await buildTestApp(t)
  const created = await app.inject({
    method: 'POST',
    url: '/v1/launches',
    payload: launch,
    headers: { ...operator.headers, 'x-forwarded-for': '203.0.113.9' }
  })
  t.equal(created.statusCode, 201)
  const scheduled = created.json()
  t.same(scheduled, (await app.inject({ method: 'GET', url: `/v1/launches/${scheduled.flightNumber}` })).json(), 'the answer is the launch as stored')

  const aborted = await app.inject({ method: 'DELETE', url: `/v1/launches/${scheduled.flightNumber}`, headers: operator.headers })
  t.equal(aborted.statusCode, 200)

  const audit = await auditRows(app.db)
  t.match(audit, [
    {
      action: 'launch.scheduled',
      actor_type: 'operator',
      operator_id: operator.id,
      subject_type: 'launch',
      subject_id: String(scheduled.flightNumber),
      request_id: created.headers['x-request-id'],
      details: { mission: launch.mission, target: launch.target, launchDate: scheduled.launchDate }
    },
    { action: 'launch.aborted', subject_id: String(scheduled.flightNumber), request_id: aborted.headers['x-request-id'] }
  ])
  t.equal(audit.length, 2)
  t.ok(audit[0]!.ip, 'the client address is on record')

  const feed = await feedRows(app.db)
  t.same(
    feed.map((event) => [event.type, (event.payload as { change: string }).change]),
    [
      ['launch', 'scheduled'],
      ['launch', 'aborted']
    ]
  )
  t.same((feed[0]!.payload as { launch: unknown }).launch, scheduled, 'the event carries the launch as the API returns it')
  t.match((feed[1]!.payload as { launch: unknown }).launch, { flightNumber: scheduled.flightNumber, outcome: 'aborted', upcoming: false })
  t.ok(BigInt(feed[1]!.id) > BigInt(feed[0]!.id), 'feed ids increase')
})

t.test('a write that fails leaves nothing: no launch, no audit row, no feed event', async (t) => {
  const { app, operator } = await buildTestApp(t)
  const unknownPlanet = await app.inject({ method: 'POST', url: '/v1/launches', payload: { ...launch, target: 'Kepler-0 z' }, headers: operator.headers })
  t.equal(unknownPlanet.statusCode, 400)
  const missing = await app.inject({ method: 'DELETE', url: '/v1/launches/4242', headers: operator.headers })
  t.equal(missing.statusCode, 404)
  t.equal(await launchCount(app.db), 0)
  t.same(await auditRows(app.db), [])
  t.same(await feedRows(app.db), [])
})

t.test('a change that throws after writing rolls back its rows, audit and events', async (t) => {
  const { database } = await openTestDatabase(t)
  const planet = await database.db.selectFrom('planets').select('id').limit(1).executeTakeFirstOrThrow()
  await t.rejects(
    runWrite(database.db, { actor: { type: 'system', name: 'test' } }, async (trx) => {
      await trx
        .insertInto('launches')
        .values({ mission: 'Doomed', rocket: 'R', launch_date: `${nextYear}-01-01`, target_planet_id: planet.id, status: 'upcoming', source: 'mission_control' })
        .execute()
      throw new Error('the change changed its mind')
    }),
    /changed its mind/
  )
  t.equal(await launchCount(database.db), 0)
  t.same(await auditRows(database.db), [])
  t.same(await feedRows(database.db), [])
})

t.test('Idempotency-Key: a retry gets the original answer and creates nothing', async (t) => {
  const { app, operator } = await buildTestApp(t)
  const post = (key: string, payload: object) =>
    app.inject({ method: 'POST', url: '/v1/launches', payload, headers: { ...operator.headers, 'idempotency-key': key } })

  const first = await post('key-1', launch)
  t.equal(first.statusCode, 201)
  const retry = await post('key-1', launch)
  t.equal(retry.statusCode, 201, 'the retry is answered like the original')
  t.same(retry.json(), first.json(), 'with the launch the first request created')
  t.equal(retry.headers.location, first.headers.location)
  t.equal(await launchCount(app.db), 1)

  const reused = await post('key-1', { ...launch, mission: 'Something else' })
  t.equal(reused.statusCode, 422)
  t.same(reused.json(), {
    error: 'This Idempotency-Key was already used for a different request; use a new key for a new request',
    code: 'IDEMPOTENCY_KEY_REUSED'
  })
  t.equal(await launchCount(app.db), 1, 'a refused retry changes nothing')

  const failed = await post('key-2', { ...launch, target: 'Kepler-0 z' })
  t.equal(failed.statusCode, 400)
  const corrected = await post('key-2', launch)
  t.equal(corrected.statusCode, 201, 'a key whose request failed is free again: nothing was stored under it')

  const other = await post('key-3', launch)
  t.not(other.json().flightNumber, first.json().flightNumber, 'another key is another launch')
  t.equal(await launchCount(app.db), 3)
  t.equal((await auditRows(app.db)).length, 3, 'replays leave no audit row')

  const badKey = await app.inject({ method: 'POST', url: '/v1/launches', payload: launch, headers: { ...operator.headers, 'idempotency-key': 'has space' } })
  t.equal(badKey.statusCode, 400)
  t.match(badKey.json(), { code: 'INVALID_REQUEST' })
})

t.test('Idempotency-Key: concurrent requests with one key create one launch', async (t) => {
  const { app, operator } = await buildTestApp(t)
  const answers = await Promise.all(
    Array.from({ length: 12 }, () =>
      app.inject({ method: 'POST', url: '/v1/launches', payload: launch, headers: { ...operator.headers, 'idempotency-key': 'same-for-all' } })
    )
  )
  t.same(
    answers.map((answer) => answer.statusCode),
    answers.map(() => 201)
  )
  t.equal(new Set(answers.map((answer) => answer.json().flightNumber)).size, 1, 'every answer names the same launch')
  t.equal(await launchCount(app.db), 1)
})

t.test('Idempotency-Key on DELETE: a retried abort answers ok instead of 409', async (t) => {
  const { app, operator } = await buildTestApp(t)
  const { flightNumber } = (await app.inject({ method: 'POST', url: '/v1/launches', payload: launch, headers: operator.headers })).json()
  const abort = () => app.inject({ method: 'DELETE', url: `/v1/launches/${flightNumber}`, headers: { ...operator.headers, 'idempotency-key': 'abort-1' } })
  t.same((await abort()).json(), { ok: true })
  const retried = await abort()
  t.equal(retried.statusCode, 200)
  t.same(retried.json(), { ok: true })
  const withoutKey = await app.inject({ method: 'DELETE', url: `/v1/launches/${flightNumber}`, headers: operator.headers })
  t.equal(withoutKey.statusCode, 409)
})

t.test('stored answers and feed events are pruned after their retention, never before', async (t) => {
  const { database } = await openTestDatabase(t)
  const { db } = database
  const old = sql<Date>`now() - interval '25 hours'`
  await db.insertInto('idempotency_keys').values({ scope: 'anonymous', key: 'old', request_hash: 'h', response: '{}', created_at: old }).execute()
  await db.insertInto('idempotency_keys').values({ scope: 'anonymous', key: 'fresh', request_hash: 'h', response: '{}' }).execute()
  t.equal(await pruneIdempotencyKeys(db), 1)
  t.same((await db.selectFrom('idempotency_keys').select('key').execute()).map((row) => row.key), ['fresh'])

  // Old events beyond the newest 10,000 go; the newest 10,000 stay whatever their age; so do recent ones.
  const extra = 5
  await sql`insert into change_events (type, payload, created_at)
    select 'sync', '{}'::jsonb, now() - interval '2 days' from generate_series(1, ${FEED_RETENTION.newest + extra})`.execute(db)
  await sql`insert into change_events (type, payload) values ('sync', '{}'::jsonb)`.execute(db)
  t.equal(await pruneFeed(db), extra + 1, 'the old events beyond the newest 10,000 are deleted')
  const kept = await db
    .selectFrom('change_events')
    .select([sql<number>`count(*)::int`.as('n'), sql<number>`count(*) filter (where created_at > now() - interval '1 hour')::int`.as('recent')])
    .executeTakeFirstOrThrow()
  t.same(kept, { n: FEED_RETENTION.newest, recent: 1 }, 'the newest 10,000 stay, the recent one among them')
  t.equal(await pruneFeed(db), 0)
})

t.test('an event committed without a notification (a writer gone between commit and NOTIFY) is delivered by the sweep', async (t) => {
  const { app } = await buildTestApp(t)
  const delivered: number[] = []
  app.changeFeed.subscribe((event) => delivered.push(event.id))
  // What a write leaves when its process ends right after the commit: the event, and no NOTIFY.
  const { rows } = await sql<{ id: string }>`insert into change_events (type, payload) values ('sync', '{}'::jsonb) returning id::text`.execute(app.db)
  const id = Number(rows[0]!.id)
  const started = performance.now()
  while (!delivered.includes(id) && performance.now() - started < 8000) await new Promise((resolve) => setTimeout(resolve, 50))
  t.same(delivered, [id], 'delivered once')
  t.ok(performance.now() - started < 6000, `within the sweep interval (${Math.round(performance.now() - started)} ms)`)
})

const onPostgres = process.env.TEST_DATABASE_URL !== undefined

t.test('writers commit side by side; the feed is delivered in id order, without skipping an id that committed late', { skip: !onPostgres && 'needs a second connection: PostgreSQL only' }, async (t) => {
  const { app, operator } = await buildTestApp(t)
  const connectionString = await databaseUrlOf(app.db)
  const listener = new pg.Client({ connectionString })
  await listener.connect()
  t.teardown(() => listener.end())
  const notifications: string[] = []
  listener.on('notification', (message) => {
    if (message.channel === FEED_CHANNEL) notifications.push(message.payload ?? '')
  })
  await listener.query(`listen ${FEED_CHANNEL}`)
  const delivered: string[] = []
  app.changeFeed.subscribe((event) => delivered.push(`${event.id} ${event.type}`))

  // Stand-ins for writers at their last step (events appended, not yet committed), as a write's record statement leaves them.
  const inFlight = async (type: string) => {
    const writer = new pg.Client({ connectionString })
    await writer.connect()
    t.teardown(() => writer.end())
    await writer.query('begin')
    const { rows } = await writer.query<{ id: string }>(
      `insert into change_events (type, payload) select $1, '{}' from (select pg_advisory_xact_lock_shared(7231604401) offset 0) as feed_lock returning id::text`,
      [type]
    )
    await writer.query('select pg_notify($1, $2)', [FEED_CHANNEL, rows[0]!.id])
    return { writer, id: rows[0]!.id }
  }
  const late = await inFlight('sync')
  const dropped = await inFlight('planets')

  const answer = await app.inject({ method: 'POST', url: '/v1/launches', payload: launch, headers: operator.headers })
  t.equal(answer.statusCode, 201, 'a write commits while earlier writers are still in flight')
  const written = (await feedRows(app.db)).find((row) => row.type === 'launch')!
  t.ok(BigInt(written.id) > BigInt(late.id), 'the write that committed first has the later id')
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.same(delivered, [], 'nothing is delivered past an id still in flight')

  await late.writer.query('commit')
  await dropped.writer.query('rollback')
  for (let waited = 0; (delivered.length < 2 || notifications.length < 2) && waited < 5000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20))
  t.same(delivered, [`${late.id} sync`, `${written.id} launch`], 'in id order, the late commit included, the rolled-back event never')
  t.equal(app.changeFeed.lastEventId(), Number(written.id))
  t.same(notifications.sort(), [late.id, written.id].sort(), 'one notification per commit, carrying its newest event id; none for the rollback')
})

/** The test database's URL, from its name on the server (the handle only describes it). */
async function databaseUrlOf(db: Kysely<Database>): Promise<string> {
  const { rows } = await sql<{ name: string }>`select current_database() as name`.execute(db)
  return databaseUrl(rows[0]!.name)
}
