import t from 'tap'
import { sql } from 'kysely'
import { lastLaunchDay } from '../app/launches/launch-date.js'
import { buildTestApp } from './helpers.js'

// Hundreds of authenticated writes: past tap's default on a loaded machine.
t.setTimeout(600_000)

const target = 'Kepler-442 b'
const nextYear = new Date().getUTCFullYear() + 1
const validLaunch = { mission: 'Kepler Exploration X', rocket: 'Explorer IS1', target, launchDate: `${nextYear}-06-01` }

t.test('POST /v1/launches schedules a launch and GET lists it', async (t) => {
  const { app, operator } = await buildTestApp(t)
  const created = await app.inject({ method: 'POST', url: '/v1/launches', payload: validLaunch, headers: operator.headers })
  t.equal(created.statusCode, 201)
  const launch = created.json()
  t.same(launch, {
    flightNumber: launch.flightNumber,
    mission: 'Kepler Exploration X',
    rocket: 'Explorer IS1',
    launchDate: `${nextYear}-06-01T00:00:00.000Z`,
    target,
    customers: ['Zero to Mastery', 'NASA'],
    upcoming: true,
    success: null,
    outcome: 'upcoming',
    source: 'mission_control',
    abortedAt: null,
    scheduledBy: operator.name,
    abortedBy: null
  })
  t.ok(launch.flightNumber >= 1000, 'mission-control flight numbers never collide with SpaceX numbers')
  t.equal(created.headers.location, `/v1/launches/${launch.flightNumber}`)

  const list = await app.inject({ method: 'GET', url: '/v1/launches' })
  t.equal(list.statusCode, 200)
  t.equal(list.headers['x-total-count'], '1')
  t.same(list.json(), [launch])
  const one = await app.inject({ method: 'GET', url: `/v1/launches/${launch.flightNumber}` })
  t.same(one.json(), launch)
})

t.test('launch dates are accepted as ISO timestamps and as human dates, read as UTC', async (t) => {
  const { app, operator } = await buildTestApp(t)
  for (const [input, stored] of [
    [`January 4, ${nextYear}`, `${nextYear}-01-04T00:00:00.000Z`],
    [`${nextYear}-03-02T10:30:00.000Z`, `${nextYear}-03-02T10:30:00.000Z`],
    [`${nextYear}-03-02T10:30:00+02:00`, `${nextYear}-03-02T08:30:00.000Z`]
  ]) {
    const response = await app.inject({ method: 'POST', url: '/v1/launches', payload: { ...validLaunch, launchDate: input }, headers: operator.headers })
    t.equal(response.statusCode, 201, input)
    t.equal(response.json().launchDate, stored, input)
  }
})

t.test('POST /v1/launches rejects bad input with the original error strings and stores nothing', async (t) => {
  const { app, operator } = await buildTestApp(t)
  const cases: Array<[string, unknown, number, Record<string, string>]> = [
    ['missing property', { mission: 'M', rocket: 'R', target }, 400, { error: 'Missing required launch property', code: 'MISSING_LAUNCH_PROPERTY', field: 'launchDate' }],
    ['empty property', { ...validLaunch, mission: '' }, 400, { error: 'Missing required launch property', code: 'MISSING_LAUNCH_PROPERTY', field: 'mission' }],
    ['blank property', { ...validLaunch, rocket: '   ' }, 400, { error: 'Missing required launch property', code: 'MISSING_LAUNCH_PROPERTY', field: 'rocket' }],
    ['unparseable date', { ...validLaunch, launchDate: 'not a date' }, 400, { error: 'Invalid launch date', code: 'INVALID_LAUNCH_DATE', field: 'launchDate' }],
    ['date in the past', { ...validLaunch, launchDate: 'January 4, 2020' }, 400, { code: 'LAUNCH_DATE_IN_PAST', field: 'launchDate' }],
    ['unknown planet', { ...validLaunch, target: 'Kepler-999 z' }, 400, { error: 'No matching planet found', code: 'PLANET_NOT_FOUND', field: 'target' }],
    ['mission too long', { ...validLaunch, mission: 'x'.repeat(101) }, 400, { code: 'INVALID_REQUEST', field: 'mission' }],
    ['wrong type', { ...validLaunch, rocket: 42 }, 400, { code: 'INVALID_REQUEST', field: 'rocket' }],
    ['not an object', ['a'], 400, { code: 'INVALID_REQUEST' }],
    ['NUL in a name', { ...validLaunch, mission: 'Kepler\u0000X' }, 400, { error: 'mission must not contain control characters or unpaired surrogates', code: 'INVALID_CHARACTERS', field: 'mission' }],
    ['newline in a name', { ...validLaunch, rocket: 'Explorer\nIS1' }, 400, { code: 'INVALID_CHARACTERS', field: 'rocket' }],
    ['unpaired surrogate', { ...validLaunch, mission: 'Kepler \ud83d' }, 400, { code: 'INVALID_CHARACTERS', field: 'mission' }],
    ['control character in the date', { ...validLaunch, launchDate: `${nextYear}-06-01\u0007` }, 400, { code: 'INVALID_CHARACTERS', field: 'launchDate' }],
    ['date beyond the last launch day', { ...validLaunch, launchDate: `${nextYear + 20}-01-01` }, 400, { error: `Launch date must be ${nextYear + 19}-12-31 or earlier`, code: 'LAUNCH_DATE_TOO_FAR', field: 'launchDate' }],
    ['date hundreds of millennia ahead', { ...validLaunch, launchDate: '+275000-01-01' }, 400, { code: 'LAUNCH_DATE_TOO_FAR' }]
  ]
  for (const [name, payload, status, body] of cases) {
    const response = await app.inject({ method: 'POST', url: '/v1/launches', payload: payload as object, headers: operator.headers })
    t.equal(response.statusCode, status, name)
    t.match(response.json(), body, name)
    t.notMatch(response.body, /stack|select|insert/i, `${name}: no internals leak`)
  }
  const tooLarge = await app.inject({
    method: 'POST',
    url: '/v1/launches',
    headers: operator.headers,
    payload: { ...validLaunch, mission: 'x'.repeat(17 * 1024) }
  })
  t.equal(tooLarge.statusCode, 413)
  t.same(tooLarge.json(), { error: 'Request body is too large', code: 'PAYLOAD_TOO_LARGE' })
  const malformed = await app.inject({
    method: 'POST',
    url: '/v1/launches',
    headers: { ...operator.headers, 'content-type': 'application/json' },
    payload: '{"mission": "M",'
  })
  t.equal(malformed.statusCode, 400)
  t.same(malformed.json(), { error: 'Request body is not valid JSON', code: 'INVALID_JSON' })

  const list = await app.inject({ method: 'GET', url: '/v1/launches' })
  t.same(list.json(), [], 'no bad request stored anything')

  const lastDay = await app.inject({ method: 'POST', url: '/v1/launches', payload: { ...validLaunch, launchDate: `${nextYear + 19}-12-31T23:59:59Z` }, headers: operator.headers })
  t.equal(lastDay.statusCode, 201, 'the last launch day itself is accepted, to its last second')
  t.equal(lastLaunchDay(), `${nextYear + 19}-12-31`, 'the bound the dashboard shows')
})

t.test('query strings refuse control characters with a clear 400', async (t) => {
  const { app } = await buildTestApp(t)
  const response = await app.inject({ method: 'GET', url: '/v1/launches?q=falcon%00' })
  t.equal(response.statusCode, 400)
  t.same(response.json(), { error: 'q must not contain control characters or unpaired surrogates', code: 'INVALID_CHARACTERS', field: 'q' })
  t.equal((await app.inject({ method: 'GET', url: '/v1/launches?q=%C3%A9t%C3%A9' })).statusCode, 200, 'accented text is fine')
})

t.test('DELETE /v1/launches/:id aborts an upcoming launch and keeps it', async (t) => {
  const { app, operator } = await buildTestApp(t)
  const { flightNumber } = (await app.inject({ method: 'POST', url: '/v1/launches', payload: validLaunch, headers: operator.headers })).json()

  const aborted = await app.inject({ method: 'DELETE', url: `/v1/launches/${flightNumber}`, headers: operator.headers })
  t.equal(aborted.statusCode, 200)
  t.same(aborted.json(), { ok: true })

  const launch = (await app.inject({ method: 'GET', url: `/v1/launches/${flightNumber}`, headers: operator.headers })).json()
  t.match(launch, { upcoming: false, success: false, outcome: 'aborted' })
  t.ok(Date.parse(launch.abortedAt) <= Date.now(), 'the abort time is kept')

  const again = await app.inject({ method: 'DELETE', url: `/v1/launches/${flightNumber}`, headers: operator.headers })
  t.equal(again.statusCode, 409)
  t.match(again.json(), { code: 'LAUNCH_ALREADY_ABORTED' })

  const unknown = await app.inject({ method: 'DELETE', url: '/v1/launches/999999', headers: operator.headers })
  t.equal(unknown.statusCode, 404)
  t.same(unknown.json(), { error: 'Launch not found', code: 'LAUNCH_NOT_FOUND' })

  const notANumber = await app.inject({ method: 'DELETE', url: '/v1/launches/abc', headers: operator.headers })
  t.equal(notANumber.statusCode, 400)
  t.match(notANumber.json(), { code: 'INVALID_REQUEST', field: 'id' })
})

t.test('flown and SpaceX launches cannot be aborted; stale upcoming launches report an unknown outcome', async (t) => {
  const { app, operator } = await buildTestApp(t)
  const kepler442 = await app.db.selectFrom('planets').select('id').where('kepler_name', '=', 'Kepler-442 b').executeTakeFirstOrThrow()
  await app.db
    .insertInto('launches')
    .values([
      { flight_number: 1, mission: 'FalconSat', rocket: 'Falcon 1', launch_date: '2006-03-24T22:30:00Z', status: 'failure', source: 'spacex', spacex_id: 'a1', customers: ['DARPA'] },
      { flight_number: 2, mission: 'Stale', rocket: 'Falcon 9', launch_date: '2022-12-01T00:00:00Z', status: 'upcoming', source: 'spacex', spacex_id: 'a2' },
      { flight_number: 3, mission: 'Later', rocket: 'Falcon 9', launch_date: '2099-12-01T00:00:00Z', status: 'upcoming', source: 'spacex', spacex_id: 'a3' },
      { flight_number: 1500, mission: 'Gone', rocket: 'Explorer IS1', launch_date: '2024-01-01T00:00:00Z', status: 'upcoming', source: 'mission_control', target_planet_id: kepler442.id }
    ])
    .execute()
  for (const flightNumber of [1, 2, 3]) {
    const spacex = await app.inject({ method: 'DELETE', url: `/v1/launches/${flightNumber}`, headers: operator.headers })
    t.equal(spacex.statusCode, 409, `SpaceX flight ${flightNumber} is history synced from SpaceX`)
    t.match(spacex.json(), { code: 'LAUNCH_NOT_ABORTABLE' })
  }
  const flown = await app.inject({ method: 'DELETE', url: '/v1/launches/1500', headers: operator.headers })
  t.equal(flown.statusCode, 409, 'a launch whose day passed has flown (or never will)')
  t.match(flown.json(), { code: 'LAUNCH_ALREADY_FLOWN' })

  const list = (await app.inject({ method: 'GET', url: '/v1/launches' })).json()
  t.match(list, [
    { flightNumber: 1, target: null, upcoming: false, success: false, outcome: 'failure', customers: ['DARPA'] },
    { flightNumber: 2, upcoming: false, success: null, outcome: 'unknown' },
    { flightNumber: 3, upcoming: true, outcome: 'upcoming' },
    { flightNumber: 1500, upcoming: false, success: null, outcome: 'unknown', target: 'Kepler-442 b' }
  ])
  const upcoming = await app.inject({ method: 'GET', url: '/v1/launches?upcoming=true' })
  t.same(upcoming.json().map((launch: { flightNumber: number }) => launch.flightNumber), [3])
})

t.test('GET /v1/launches paginates, filters, searches and validates its query', async (t) => {
  const { app, operator } = await buildTestApp(t)
  const missions = ['Alpha', 'Bravo', 'Charlie', 'Delta', 'Echo']
  const numbers: number[] = []
  for (const mission of missions) {
    const response = await app.inject({ method: 'POST', url: '/v1/launches', payload: { ...validLaunch, mission }, headers: operator.headers })
    numbers.push(response.json().flightNumber)
  }
  await app.inject({ method: 'DELETE', url: `/v1/launches/${numbers[1]}`, headers: operator.headers })
  await app.db
    .insertInto('launches')
    .values({ flight_number: 7, mission: 'CRS-20', rocket: 'Falcon 9', launch_date: '2020-03-07T04:50:00Z', status: 'success', source: 'spacex', spacex_id: 'crs20', customers: ['NASA (CRS)'] })
    .execute()

  const page2 = await app.inject({ method: 'GET', url: '/v1/launches?page=2&limit=2' })
  t.equal(page2.headers['x-total-count'], '6')
  t.same(page2.json().map((l: { mission: string }) => l.mission), ['Bravo', 'Charlie'], 'sorted by flight number')

  const mission = async (query: string) => (await app.inject({ method: 'GET', url: `/v1/launches?${query}` })).json().map((l: { mission: string }) => l.mission)
  t.same(await mission('order=desc&limit=2'), ['Echo', 'Delta'])
  t.same(await mission('source=spacex'), ['CRS-20'])
  t.same(await mission('outcome=aborted'), ['Bravo'])
  t.same(await mission('upcoming=true'), ['Alpha', 'Charlie', 'Delta', 'Echo'])
  t.same(await mission('upcoming=false'), ['CRS-20', 'Bravo'])
  t.same(await mission('q=crs'), ['CRS-20'], 'search is case-insensitive')
  t.same(await mission('q=nasa'), ['CRS-20', 'Alpha', 'Bravo', 'Charlie', 'Delta', 'Echo'], 'search covers customers')
  t.same(await mission('q=442'), ['Alpha', 'Bravo', 'Charlie', 'Delta', 'Echo'], 'search covers the target')
  t.same(await mission('q=%25'), [], 'LIKE wildcards are matched literally')

  for (const query of ['page=0', 'limit=0', 'limit=1001', 'limit=abc', 'upcoming=maybe', 'outcome=exploded', 'order=sideways']) {
    const response = await app.inject({ method: 'GET', url: `/v1/launches?${query}` })
    t.equal(response.statusCode, 400, query)
    t.equal(response.json().code, 'INVALID_REQUEST', query)
  }

  const stats = await app.inject({ method: 'GET', url: '/v1/launches/stats' })
  t.same(stats.json(), {
    years: [
      { year: 2020, upcoming: 0, success: 1, failure: 0, aborted: 0, unknown: 0 },
      { year: nextYear, upcoming: 4, success: 0, failure: 0, aborted: 1, unknown: 0 }
    ]
  })
})

t.test('200 concurrent schedules get 200 distinct flight numbers, all stored', async (t) => {
  // One operator writing 200 times at once: past the default per-minute write limits, and, on a
  // busy machine, past the pool's 5 s wait (a 503 the client may retry; not what this test is about).
  const { app, operator } = await buildTestApp(t, {
    env: { RATE_LIMIT_OPERATOR_WRITES_PER_MINUTE: '0', RATE_LIMIT_IP_WRITES_PER_MINUTE: '0', DATABASE_CONNECT_TIMEOUT_MS: '60000' }
  })
  const responses = await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      app.inject({ method: 'POST', url: '/v1/launches', payload: { ...validLaunch, mission: `Concurrent ${i}` }, headers: operator.headers })
    )
  )
  t.same(new Set(responses.map((r) => r.statusCode)), new Set([201]), responses.find((r) => r.statusCode !== 201)?.body ?? 'all 201')
  const numbers = new Set(responses.map((r) => r.json().flightNumber))
  t.equal(numbers.size, 200)
  const stored = await app.db.selectFrom('launches').select(sql<number>`count(distinct flight_number)::int`.as('n')).executeTakeFirstOrThrow()
  t.equal(stored.n, 200)
})

t.test('a server error answers a generic 500 without stack or SQL', async (t) => {
  const { app } = await buildTestApp(t)
  await sql`alter table launches rename to launches_gone`.execute(app.db)
  const response = await app.inject({ method: 'GET', url: '/v1/launches' })
  t.equal(response.statusCode, 500)
  t.same(response.json(), { error: 'Internal Server Error', code: 'INTERNAL' })
})
