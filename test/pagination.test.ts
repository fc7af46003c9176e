import t from 'tap'
import { sql, type Kysely } from 'kysely'
import type { Database } from '../app/database/schema.js'
import type { Launch } from '../app/launches/launch-schemas.js'
import { buildTestApp } from './helpers.js'

t.setTimeout(300_000)

/** 60 SpaceX launches (1–60) and 90 scheduled here (1000–1089): past, upcoming and aborted ones, with searchable text. */
async function seed(db: Kysely<Database>) {
  await sql`
    insert into launches (flight_number, mission, rocket, launch_date, customers, status, source, spacex_id)
    select i, 'Starlink ' || i, case when i % 2 = 0 then 'Falcon 9' else 'Falcon Heavy' end,
           timestamptz '2019-01-01' + i * interval '7 days', array['SpaceX', 'Customer ' || (i % 4)],
           case when i % 5 = 0 then 'failure' else 'success' end, 'spacex', 'sx-' || i
    from generate_series(1, 60) as i`.execute(db)
  await sql`
    insert into launches (flight_number, mission, rocket, launch_date, target_planet_id, customers, status, aborted_at, source)
    select 999 + i, 'Kepler Mission ' || i, 'Explorer IS' || (i % 3),
           now() + (i - 30) * interval '1 day', (select id from planets order by kepler_name limit 1 offset i % 3),
           array['NASA', 'Zero to Mastery'], case when i % 7 = 0 then 'aborted' else 'upcoming' end,
           case when i % 7 = 0 then now() end, 'mission_control'
    from generate_series(1, 90) as i`.execute(db)
}

t.test('keyset pages (after=, following Link) match offset pages, for every filter and order', async (t) => {
  const { app, database } = await buildTestApp(t)
  await seed(database.db)
  app.readCache.clear()
  const get = async (url: string) => {
    const response = await app.inject({ method: 'GET', url })
    t.equal(response.statusCode, 200, url)
    return { launches: response.json() as Launch[], total: Number(response.headers['x-total-count']), link: response.headers.link as string | undefined }
  }
  const filters = ['', 'source=spacex', 'upcoming=true', 'upcoming=false', 'outcome=aborted', 'outcome=unknown', 'q=falcon%20h', 'q=kepler', 'q=customer%203', 'q=442', 'source=mission_control&q=is2']
  for (const filter of filters) {
    for (const order of ['asc', 'desc']) {
      const query = `${filter}${filter ? '&' : ''}order=${order}`
      const all = await get(`/v1/launches?${query}`)
      const limit = 7
      const byOffset: Launch[] = []
      for (let page = 1; page <= Math.ceil(all.total / limit) + 1; page++) {
        const one = await get(`/v1/launches?${query}&limit=${limit}&page=${page}`)
        t.equal(one.total, all.total, `${query} page ${page}: the total of all pages`)
        byOffset.push(...one.launches)
      }
      const byKeyset: Launch[] = []
      let url: string | undefined = `/v1/launches?${query}&limit=${limit}`
      let pages = 0
      while (url) {
        const one = await get(url)
        t.equal(one.total, all.total, `${url}: the total of all pages`)
        byKeyset.push(...one.launches)
        url = one.link?.match(/^<([^>]+)>; rel="next"$/)?.[1]
        if (++pages > 100) throw new Error('the Link chain does not end')
      }
      const numbers = (launches: Launch[]) => launches.map((l) => l.flightNumber)
      t.same(numbers(byKeyset), numbers(all.launches), `${query}: keyset pages are the whole list`)
      t.same(byKeyset, byOffset, `${query}: keyset pages = offset pages`)
      t.equal(pages, Math.max(1, Math.ceil(all.total / limit)), `${query}: no empty last page`)
    }
  }
  const some = await get('/v1/launches?q=falcon%20h')
  t.ok(some.total > 0 && some.launches.every((l) => l.rocket === 'Falcon Heavy'), 'the search found what it should')
})

t.test('the Link keeps the query and replaces page; page with after is refused; past the end is empty with its total', async (t) => {
  const { app, database } = await buildTestApp(t)
  await seed(database.db)
  app.readCache.clear()
  const first = await app.inject({ method: 'GET', url: '/v1/launches?source=spacex&limit=10&page=2' })
  t.equal(first.headers.link, '</v1/launches?source=spacex&limit=10&after=20>; rel="next"')
  const both = await app.inject({ method: 'GET', url: '/v1/launches?after=20&page=2' })
  t.equal(both.statusCode, 400)
  t.match(both.json(), { code: 'INVALID_REQUEST', field: 'after' })
  const past = await app.inject({ method: 'GET', url: '/v1/launches?limit=10&page=100' })
  t.same(past.json(), [])
  t.equal(past.headers['x-total-count'], '150')
  t.equal(past.headers.link, undefined)
  const afterEnd = await app.inject({ method: 'GET', url: '/v1/launches?after=5000' })
  t.same(afterEnd.json(), [])
  t.equal(afterEnd.headers['x-total-count'], '150', 'the total counts every page, not those after the cursor')
})

t.test('q is served by the trigram index on PostgreSQL', { skip: !process.env.TEST_DATABASE_URL && 'PostgreSQL only (EXPLAIN output)' }, async (t) => {
  const { database } = await buildTestApp(t)
  await seed(database.db)
  const plan = await database.db.connection().execute(async (db) => {
    await sql`set enable_seqscan = off`.execute(db)
    const { rows } = await sql<{ 'QUERY PLAN': string }>`
      explain select flight_number from launches
      where mission ilike '%falcon h%' or rocket ilike '%falcon h%' or launch_customers_text(customers) ilike '%falcon h%'`.execute(db)
    return rows.map((row) => row['QUERY PLAN']).join('\n')
  })
  t.match(plan, /launches_(mission|rocket|customers)_trgm_idx/, plan)
})
