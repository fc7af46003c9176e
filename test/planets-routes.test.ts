import t from 'tap'
import { buildTestApp } from './helpers.js'
import { REAL_EXPORT_HABITABLE } from './fixtures/planets/planet-fixtures.js'

t.test('GET /v1/planets lists the seeded catalogue sorted by Kepler name', async (t) => {
  const { app } = await buildTestApp(t)
  const response = await app.inject({ method: 'GET', url: '/v1/planets' })
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /application\/json/)
  const planets = response.json()
  t.same(
    planets.map((planet: { keplerName: string }) => planet.keplerName),
    [...REAL_EXPORT_HABITABLE].sort()
  )
  t.same(
    planets.find((planet: { keplerName: string }) => planet.keplerName === 'Kepler-452 b'),
    {
      keplerName: 'Kepler-452 b',
      koiName: 'K07016.01',
      kepid: 8311864,
      radiusEarth: 1.09,
      insolationEarth: 0.56,
      orbitalPeriodDays: 384.847556,
      equilibriumTempK: 220,
      starTempK: 5579,
      starRadiusSolar: 0.798,
      launchCount: 0
    }
  )
})

t.test('launchCount counts the launches targeting each planet that are not aborted', async (t) => {
  const { app, database } = await buildTestApp(t)
  const { db } = database
  const planetId = async (name: string) =>
    (await db.selectFrom('planets').select('id').where('kepler_name', '=', name).executeTakeFirstOrThrow()).id
  const [kepler442, kepler62] = [await planetId('Kepler-442 b'), await planetId('Kepler-62 f')]
  const launch = (target: number, status: 'upcoming' | 'success' | 'aborted') => ({
    mission: `Mission ${status}`,
    rocket: 'Explorer IS1',
    launch_date: '2030-01-04T00:00:00Z',
    target_planet_id: target,
    status,
    aborted_at: status === 'aborted' ? new Date() : null,
    source: 'mission_control' as const
  })
  await db
    .insertInto('launches')
    .values([launch(kepler442, 'upcoming'), launch(kepler442, 'success'), launch(kepler442, 'aborted'), launch(kepler62, 'aborted')])
    .execute()

  const response = await app.inject({ method: 'GET', url: '/v1/planets' })
  t.equal(response.statusCode, 200)
  const counts = Object.fromEntries(
    response.json().map((planet: { keplerName: string; launchCount: number }) => [planet.keplerName, planet.launchCount])
  )
  t.equal(counts['Kepler-442 b'], 2)
  t.equal(counts['Kepler-62 f'], 0)
  t.equal(counts['Kepler-452 b'], 0)
})

t.test('optional values come back as null, and an empty catalogue as []', async (t) => {
  const { app, database } = await buildTestApp(t)
  const { db } = database
  await db.deleteFrom('planets').execute()
  t.same((await app.inject({ method: 'GET', url: '/v1/planets' })).json(), [])
  await db
    .insertInto('planets')
    .values({ kepler_name: 'Kepler-9100 b', radius_earth: 1, insolation_earth: 0.9, source: 'test' })
    .execute()
  // Written behind the service's back (no change-feed event): the read cache is told by hand.
  app.readCache.clear()
  t.same((await app.inject({ method: 'GET', url: '/v1/planets' })).json(), [
    {
      keplerName: 'Kepler-9100 b',
      koiName: null,
      kepid: null,
      radiusEarth: 1,
      insolationEarth: 0.9,
      orbitalPeriodDays: null,
      equilibriumTempK: null,
      starTempK: null,
      starRadiusSolar: null,
      launchCount: 0
    }
  ])
})
