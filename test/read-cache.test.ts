import t from 'tap'
import { sql } from 'kysely'
import { etagOf, matchesEtag, ReadCache } from '../app/cache/read-cache.js'
import { LISTEN_APPLICATION_NAME } from '../app/database/database.js'
import { buildTestApp, openTestDatabase } from './helpers.js'

t.setTimeout(300_000)

const nextYear = new Date().getUTCFullYear() + 1
const launch = { mission: 'Cache Probe', rocket: 'Explorer IS1', target: 'Kepler-442 b', launchDate: `${nextYear}-06-01` }
const answer = (body: string) => ({ body, etag: etagOf(body), headers: {} })

t.test('the cache is bounded in bytes and evicts the least recently used answer first', async (t) => {
  const cache = new ReadCache(true, 5_000)
  const body = 'x'.repeat(1_000) // about 2.2 kB each, as UTF-16 with its bookkeeping
  cache.set('a', answer(body), cache.generation)
  cache.set('b', answer(body), cache.generation)
  t.ok(cache.get('a'), 'a is used again, so b is now the oldest')
  cache.set('c', answer(body), cache.generation)
  t.equal(cache.size, 2)
  t.ok(cache.bytes <= 5_000, `${cache.bytes} bytes within the cap`)
  t.ok(cache.get('a'))
  t.notOk(cache.get('b'), 'the least recently used answer went')
  t.ok(cache.get('c'))
  cache.set('huge', answer('y'.repeat(10_000)), cache.generation)
  t.notOk(cache.get('huge'), 'an answer larger than the whole cap is not stored')
  t.equal(cache.size, 2)
})

t.test('an answer read before a change is not stored after it; a new UTC day clears', async (t) => {
  let now = Date.UTC(2030, 0, 1, 23, 59)
  const cache = new ReadCache(true, 1_000_000, () => now)
  const before = cache.generation
  cache.clear() // a write commits while the read is in flight
  cache.set('k', answer('old'), before)
  t.notOk(cache.get('k'), 'the stale answer was dropped')
  cache.setCount('filters', 5, before)
  t.equal(cache.count('filters'), undefined, 'so was the stale total')
  cache.set('k', answer('new'), cache.generation)
  cache.setCount('filters', 6, cache.generation)
  t.equal(cache.get('k')?.body, 'new')
  t.equal(cache.count('filters'), 6)
  now += 2 * 60_000 // past midnight: yesterday's upcoming launches now report 'unknown'
  t.notOk(cache.get('k'))
  t.equal(cache.count('filters'), undefined)
  const off = new ReadCache(false, 1_000_000)
  off.set('k', answer('x'), off.generation)
  t.notOk(off.get('k'), 'READ_CACHE=off stores no answer')
})

t.test('If-None-Match follows RFC 9110 weak comparison', async (t) => {
  const etag = etagOf('[]')
  t.ok(matchesEtag(etag, etag))
  t.ok(matchesEtag(`"other", W/${etag}`, etag))
  t.ok(matchesEtag('*', etag))
  t.notOk(matchesEtag('"other"', etag))
  t.notOk(matchesEtag(undefined, etag))
})

t.test('public reads carry a strong ETag and answer 304 to a current If-None-Match', async (t) => {
  const { app, operator } = await buildTestApp(t)
  const created = (await app.inject({ method: 'POST', url: '/v1/launches', payload: launch, headers: operator.headers })).json()
  for (const url of ['/v1/launches?limit=50', `/v1/launches/${created.flightNumber}`, '/v1/launches/stats', '/v1/planets']) {
    const first = await app.inject({ method: 'GET', url })
    t.equal(first.statusCode, 200, url)
    const etag = first.headers.etag as string
    t.equal(etag, etagOf(first.body), `${url}: the ETag is the hash of the body`)
    const again = await app.inject({ method: 'GET', url })
    t.equal(again.body, first.body, `${url}: the cached answer is the same`)
    t.equal(again.headers.etag, etag)
    const notModified = await app.inject({ method: 'GET', url, headers: { 'if-none-match': etag } })
    t.equal(notModified.statusCode, 304, `${url}: 304 from the cache`)
    t.equal(notModified.body, '')
    t.equal(notModified.headers.etag, etag)
    const stale = await app.inject({ method: 'GET', url, headers: { 'if-none-match': '"something-else"' } })
    t.equal(stale.statusCode, 200, `${url}: another ETag gets the body`)
  }
  // A miss answers 304 too: the ETag is computed from the fresh body.
  app.readCache.clear()
  const etag = (await app.inject({ method: 'GET', url: '/v1/planets' })).headers.etag as string
  app.readCache.clear()
  t.equal((await app.inject({ method: 'GET', url: '/v1/planets', headers: { 'if-none-match': etag } })).statusCode, 304)
  t.equal((await app.inject({ method: 'GET', url: '/v1/launches/999999' })).statusCode, 404, 'errors are not cached answers')
})

t.test('answers are cached by normalised query, and this instance’s writes clear the cache after commit', async (t) => {
  const { app, operator } = await buildTestApp(t)
  const list = async (url: string) => (await app.inject({ method: 'GET', url })).json() as Array<{ mission: string; outcome: string }>
  t.same(await list('/v1/launches?limit=50&order=asc'), [])
  // Written behind the service's back: only a cached answer can hide it.
  await app.db.insertInto('launches').values({ flight_number: 9, mission: 'Hidden', rocket: 'Falcon 9', launch_date: '2020-01-01T00:00:00Z', status: 'success', source: 'spacex', spacex_id: 'hidden' }).execute()
  t.same(await list('/v1/launches?limit=50&order=asc'), [], 'the same URL is answered from the cache')
  t.same(await list('/v1/launches?order=asc&limit=50'), [], 'so is another spelling of the same query')
  t.same(await list('/v1/launches?limit=50&page=1'), [], 'and the defaults spelled out')
  t.same((await list('/v1/launches?limit=49')).map((l) => l.mission), ['Hidden'], 'another query reads the database')

  const created = await app.inject({ method: 'POST', url: '/v1/launches', payload: launch, headers: operator.headers })
  t.equal(created.statusCode, 201)
  t.same((await list('/v1/launches?limit=50&order=asc')).map((l) => l.mission), ['Hidden', 'Cache Probe'], 'the write cleared the cache')
  const one = `/v1/launches/${created.json().flightNumber}`
  t.equal((await app.inject({ method: 'GET', url: one })).json().outcome, 'upcoming')
  const abortHeard = new Promise<void>((resolve) => {
    const stop = app.changeFeed.subscribe((event) => {
      if (event.payload.change !== 'aborted') return
      stop()
      resolve()
    })
  })
  t.equal((await app.inject({ method: 'DELETE', url: one, headers: operator.headers })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: one })).json().outcome, 'aborted', 'the abort cleared it too')

  // A write that fails rolls back and leaves the cache as it was. (The abort's own feed event
  // clears it once more when it arrives: wait for that first.)
  await abortHeard
  await app.inject({ method: 'GET', url: one })
  const before = app.readCache.size
  const refused = await app.inject({ method: 'POST', url: '/v1/launches', payload: { ...launch, target: 'Nowhere' }, headers: operator.headers })
  t.equal(refused.statusCode, 400)
  t.equal(app.readCache.size, before)
})

t.test('answers that depend on credentials are never cached', async (t) => {
  const { app, operator } = await buildTestApp(t)
  for (const url of ['/v1/tokens', '/v1/session']) {
    const response = await app.inject({ method: 'GET', url, headers: operator.headers })
    t.equal(response.statusCode, 200, url)
    t.equal(response.headers.etag, undefined, `${url}: no ETag, no cache entry`)
  }
  t.equal(app.readCache.size, 0)
})

t.test('READ_CACHE=off answers with identical bodies and headers', async (t) => {
  const { app: cached, database, operator } = await buildTestApp(t)
  const { app: uncached } = await buildTestApp(t, { database, env: { READ_CACHE: 'off' } })
  t.equal(uncached.readCache.enabled, false)
  for (let i = 0; i < 7; i++) {
    await cached.inject({ method: 'POST', url: '/v1/launches', payload: { ...launch, mission: `Probe ${i}` }, headers: operator.headers })
  }
  const urls = [
    '/v1/launches',
    '/v1/launches?limit=3&page=2',
    '/v1/launches?limit=3&after=1002&order=asc',
    '/v1/launches?limit=2&order=desc&q=probe',
    '/v1/launches?upcoming=true&limit=4',
    '/v1/launches?page=99&limit=5',
    '/v1/launches/1003',
    '/v1/launches/stats',
    '/v1/planets'
  ]
  for (const url of urls) {
    for (let round = 0; round < 2; round++) {
      const [a, b] = [await cached.inject({ method: 'GET', url }), await uncached.inject({ method: 'GET', url })]
      t.equal(a.statusCode, 200, url)
      t.equal(a.body, b.body, `${url}: same body (round ${round + 1})`)
      for (const header of ['etag', 'x-total-count', 'link', 'content-type']) t.equal(a.headers[header], b.headers[header], `${url}: same ${header}`)
    }
  }
  t.ok(cached.readCache.size > 0, 'the cached instance did cache')
  t.equal(uncached.readCache.size, 0)
})

t.test('a small cap keeps the cache within it', async (t) => {
  const { app } = await buildTestApp(t, { env: { READ_CACHE_MAX_BYTES: '60000' } })
  for (let limit = 1; limit <= 40; limit++) await app.inject({ method: 'GET', url: `/v1/planets?limit=${limit}` })
  for (let limit = 1; limit <= 40; limit++) await app.inject({ method: 'GET', url: `/v1/launches?limit=${limit}` })
  t.ok(app.readCache.bytes <= 60_000, `${app.readCache.bytes} bytes`)
  t.ok(app.readCache.size > 0)
})

t.test('two instances on one database: a write on one is never served stale by the other', async (t) => {
  const { database } = await openTestDatabase(t)
  const a = await buildTestApp(t, { database })
  const b = await buildTestApp(t, { database })
  const list = async () => (await b.app.inject({ method: 'GET', url: '/v1/launches?upcoming=true' })).json<Array<{ mission: string }>>()
  t.same(await list(), [], 'B has cached the empty list')
  const cleared = new Promise<void>((resolve) => {
    const stop = b.app.changeFeed.subscribe(() => {
      stop()
      resolve()
    })
  })
  const written = await a.app.inject({ method: 'POST', url: '/v1/launches', headers: a.operator.headers, payload: launch })
  t.equal(written.statusCode, 201)
  const started = performance.now()
  await cleared
  t.comment(`B heard of the write ${(performance.now() - started).toFixed(1)} ms after A answered`)
  t.same((await list()).map((row) => row.mission), [launch.mission], "B's next read shows the write")
})

t.test('a reconnect of the change feed clears the cache (changes may have been missed)', { skip: !process.env.TEST_DATABASE_URL && 'PGlite listens in-process: there is no connection to lose' }, async (t) => {
  const { app } = await buildTestApp(t)
  await app.inject('/v1/planets')
  t.ok(app.readCache.size > 0, 'planets cached')
  const reconnected = new Promise<void>((resolve) => {
    const stop = app.changeFeed.onReconnect(() => {
      stop()
      resolve()
    })
  })
  await sql`select pg_terminate_backend(pid) from pg_stat_activity where application_name = ${LISTEN_APPLICATION_NAME} and datname = current_database()`.execute(app.db)
  await reconnected
  t.equal(app.readCache.size, 0, 'cleared when the feed came back')
})
