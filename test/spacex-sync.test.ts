import t from 'tap'
import type { Kysely } from 'kysely'
import type { Database } from '../app/database/schema.js'
import { SpacexApiError } from '../app/spacex/spacex-api.js'
import { syncSpacexLaunches } from '../app/spacex/spacex-sync.js'
import { createTestOperator, openTestDatabase } from './helpers.js'
import { generatedData, startFakeSpacex, type FakeFailure, type FakeSpacex } from './support/fake-spacex.js'

function sync(db: Kysely<Database>, fake: FakeSpacex, timeoutMs = 5000) {
  return syncSpacexLaunches(db, { apiUrl: fake.url, timeoutMs })
}

function storedLaunches(db: Kysely<Database>, source: 'spacex' | 'mission_control' = 'spacex') {
  return db.selectFrom('launches').selectAll().where('source', '=', source).orderBy('flight_number').execute()
}

t.test('the first sync stores every launch the table can hold and maps its fields', async (t) => {
  const { database } = await openTestDatabase(t)
  const fake = await startFakeSpacex(t)
  const result = await sync(database.db, fake)

  t.match(result, { fetched: 10, inserted: 8, updated: 0, unchanged: 0, skipped: 2 })
  t.same(
    result.skippedLaunches.map(({ spacexId, flightNumber, reason }) => [spacexId, flightNumber, reason]),
    [
      ['63161384ffc78f3b8567070e', 4, 'another SpaceX launch has this flight number'],
      ['63161384ffc78f3b8567070d', 1001, 'flight number is outside 1..999']
    ]
  )
  t.same(fake.requests[0]?.options, {
    pagination: true,
    page: 1,
    limit: 100,
    sort: { flight_number: 'asc' },
    populate: [
      { path: 'rocket', select: { name: 1 } },
      { path: 'payloads', select: { customers: 1 } }
    ]
  })

  const rows = await storedLaunches(database.db)
  t.same(
    rows.map((row) => [row.flight_number, row.mission, row.rocket, row.customers, row.status]),
    [
      [1, 'FalconSat', 'Falcon 1', ['DARPA'], 'failure'],
      [2, 'DemoSat', 'Falcon 1', ['DARPA'], 'failure'],
      [3, 'Trailblazer', 'Falcon 1', ['NASA', 'ORS'], 'failure'],
      [4, 'RatSat', 'Falcon 1', ['SpaceX'], 'success'],
      [120, 'GPS III SV04', 'Falcon 9', ['USAF'], 'unknown'],
      // Still flagged upcoming by SpaceX, but their dates passed in 2022.
      [186, 'Starlink 4-36 (v1.5)', 'Falcon 9', ['SpaceX'], 'unknown'],
      [187, 'USSF-44', 'Falcon Heavy', ['USSF'], 'unknown'],
      [205, 'Gateway Logistics 1', 'Falcon Heavy', ['NASA'], 'upcoming']
    ]
  )
  const falconSat = rows[0]!
  t.equal(falconSat.spacex_id, '5eb87cd9ffd86e000604b32a')
  t.equal(falconSat.launch_date.toISOString(), '2006-03-24T22:30:00.000Z')
  t.equal(falconSat.target_planet_id, null)
  t.equal(falconSat.aborted_at, null)
})

t.test('a sync is on record and announces every launch it wrote, then its counts', async (t) => {
  const { database } = await openTestDatabase(t)
  const fake = await startFakeSpacex(t)
  await sync(database.db, fake)
  await sync(database.db, fake)

  const audit = await database.db.selectFrom('audit_events').select(['action', 'actor_type', 'system_name', 'details']).orderBy('id').execute()
  t.match(audit, [
    { action: 'spacex.synced', actor_type: 'system', system_name: 'spacex-sync', details: { fetched: 10, inserted: 8, skipped: 2, apiUrl: fake.url } },
    { action: 'spacex.synced', details: { inserted: 0, updated: 0, unchanged: 8 } }
  ])
  const events = await database.db.selectFrom('change_events').select(['type', 'payload']).orderBy('id').execute()
  const launchEvents = events.filter((event) => event.type === 'launch').map((event) => event.payload as { change: string; launch: { flightNumber: number; source: string } })
  t.same(
    launchEvents.map((event) => [event.change, event.launch.flightNumber, event.launch.source]),
    [1, 2, 3, 4, 120, 186, 187, 205].map((flightNumber) => ['synced', flightNumber, 'spacex']),
    'the first sync announces each launch it stored, as the API shows it'
  )
  t.match(
    events.filter((event) => event.type === 'sync').map((event) => event.payload),
    [{ inserted: 8 }, { inserted: 0, unchanged: 8 }],
    'each sync announces its counts; the second wrote no launch'
  )
})

t.test('a second identical sync changes nothing, not even updated_at', async (t) => {
  const { database } = await openTestDatabase(t)
  const fake = await startFakeSpacex(t)
  await sync(database.db, fake)
  const before = await storedLaunches(database.db)

  const result = await sync(database.db, fake)
  t.match(result, { fetched: 10, inserted: 0, updated: 0, unchanged: 8, skipped: 2 })
  t.same(await storedLaunches(database.db), before)
})

t.test('a changed launch is updated and only its updated_at moves', async (t) => {
  const { database } = await openTestDatabase(t)
  const fake = await startFakeSpacex(t)
  await sync(database.db, fake)
  const before = await storedLaunches(database.db)

  const usaf = fake.launches.find((launch) => launch.flight_number === 120)!
  usaf.name = 'GPS III SV04 "Sacagawea"'
  usaf.success = true
  const result = await sync(database.db, fake)
  t.match(result, { inserted: 0, updated: 1, unchanged: 7, skipped: 2 })

  const after = await storedLaunches(database.db)
  for (const [index, row] of after.entries()) {
    const old = before[index]!
    if (row.flight_number !== 120) {
      t.same(row, old, `flight ${row.flight_number} untouched`)
      continue
    }
    t.equal(row.mission, 'GPS III SV04 "Sacagawea"')
    t.equal(row.status, 'success')
    t.equal(row.created_at.getTime(), old.created_at.getTime())
    t.ok(row.updated_at > old.updated_at, 'updated_at moved')
  }
})

t.test('launches scheduled here are never touched', async (t) => {
  const { database } = await openTestDatabase(t)
  const planet = await database.db.selectFrom('planets').select('id').executeTakeFirstOrThrow()
  await database.db
    .insertInto('launches')
    .values({
      mission: 'Kepler Exploration X',
      rocket: 'Explorer IS1',
      launch_date: '2030-01-04T00:00:00Z',
      target_planet_id: planet.id,
      customers: ['Zero to Mastery', 'NASA'],
      status: 'upcoming',
      source: 'mission_control'
    })
    .execute()
  const before = await storedLaunches(database.db, 'mission_control')

  const fake = await startFakeSpacex(t)
  await sync(database.db, fake)
  t.match(await sync(database.db, fake), { inserted: 0, updated: 0, unchanged: 8 })
  t.same(await storedLaunches(database.db, 'mission_control'), before)
  t.equal(before[0]?.flight_number, 1000)
})

t.test('a SpaceX launch aborted before that was refused is set back to what SpaceX says, and the sync succeeds', async (t) => {
  const { database } = await openTestDatabase(t)
  const fake = await startFakeSpacex(t)
  await sync(database.db, fake)
  const operator = await createTestOperator(database.db)
  await database.db
    .updateTable('launches')
    .set({ status: 'aborted', aborted_at: new Date(), aborted_by: operator.id })
    .where('flight_number', '=', 205)
    .execute()
  const result = await sync(database.db, fake)
  t.match(result, { inserted: 0, updated: 1, unchanged: 7 })
  const row = await database.db.selectFrom('launches').select(['status', 'aborted_at', 'aborted_by']).where('flight_number', '=', 205).executeTakeFirstOrThrow()
  t.same(row, { status: 'upcoming', aborted_at: null, aborted_by: null }, 'the abort time and the aborter go with the abort')
})

t.test('pages are followed until the last one', async (t) => {
  const { database } = await openTestDatabase(t)
  const fake = await startFakeSpacex(t, generatedData(250))
  const result = await sync(database.db, fake)
  t.match(result, { fetched: 250, inserted: 250, skipped: 0 })
  t.same(
    fake.requests.map((request) => request.options.page),
    [1, 2, 3]
  )
  t.equal((await storedLaunches(database.db)).length, 250)
})

t.test('a stored launch keeps its flight number against a new launch claiming it', async (t) => {
  const { database } = await openTestDatabase(t)
  const fake = await startFakeSpacex(t)
  await sync(database.db, fake)
  // SpaceX lists the newcomer first, but RatSat (stored) keeps number 4.
  fake.launches.reverse()
  const result = await sync(database.db, fake)
  t.match(result, { inserted: 0, updated: 0, unchanged: 8, skipped: 2 })
  t.equal(result.skippedLaunches.find((skipped) => skipped.flightNumber === 4)?.spacexId, '63161384ffc78f3b8567070e')
})

t.test('concurrent syncs take turns and together write each launch once', async (t) => {
  const { database } = await openTestDatabase(t)
  const fake = await startFakeSpacex(t)
  const results = await Promise.all([sync(database.db, fake), sync(database.db, fake)])
  t.same(
    results.map(({ inserted, unchanged }) => [inserted, unchanged]).sort(),
    [
      [0, 8],
      [8, 0]
    ]
  )
})

const failures: Array<{ name: string; failure: FakeFailure; message: string | RegExp; timeoutMs?: number }> = [
  { name: 'a 503', failure: { status: 503 }, message: /^SpaceX API answered 503 Service Unavailable for page 1/ },
  { name: 'truncated JSON', failure: 'truncated-json', message: /^SpaceX API sent invalid JSON for page 1: / },
  {
    name: 'launches without their rocket populated',
    failure: 'unpopulated',
    message: 'SpaceX API sent an unexpected response for page 1: /docs/0/rocket must be object'
  },
  { name: 'no answer', failure: 'hang', message: /^SpaceX API did not answer page 1 within 1000 ms/, timeoutMs: 1000 }
]

for (const { name, failure, message, timeoutMs = 5000 } of failures) {
  t.test(`${name} fails the sync with a clear error and writes nothing`, async (t) => {
    const { database } = await openTestDatabase(t)
    const fake = await startFakeSpacex(t)
    fake.failures.push(failure)
    await t.rejects(sync(database.db, fake, timeoutMs), { name: 'SpacexApiError', message })
    t.same(await storedLaunches(database.db), [])
  })
}

t.test('a failure on a later page writes nothing from the earlier ones', async (t) => {
  const { database } = await openTestDatabase(t)
  const fake = await startFakeSpacex(t, generatedData(150))
  fake.failures.push(null, { status: 502 })
  await t.rejects(sync(database.db, fake), new SpacexApiError(`SpaceX API answered 502 Bad Gateway for page 2 (${fake.url}/v4/launches/query)`))
  t.same(await storedLaunches(database.db), [])
})

t.test('an unreachable API is a clear error', async (t) => {
  const { database } = await openTestDatabase(t)
  const fake = await startFakeSpacex(t)
  await fake.close()
  await t.rejects(sync(database.db, fake), { message: /^SpaceX API request for page 1 failed: .*ECONNREFUSED/ })
})
