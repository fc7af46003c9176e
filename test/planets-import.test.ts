import { readFile } from 'node:fs/promises'
import t from 'tap'
import { PlanetImportError, type HabitablePlanet } from '../app/planets/habitable-planets.js'
import { planetSeed, seedPlanetsIfEmpty } from '../app/planets/planet-seed.js'
import { readPlanetsFromFile } from '../app/planets/planet-sources.js'
import { savePlanets } from '../app/planets/planet-store.js'
import { openTestDatabase } from './helpers.js'
import { fixture, REAL_EXPORT, REAL_EXPORT_HABITABLE, realExportExists } from './fixtures/planets/planet-fixtures.js'

t.test('an archive export with its # header: kept, rejected and skipped rows are counted', async (t) => {
  const reading = await readPlanetsFromFile(fixture('archive-export.csv'))
  t.same(reading.counts, { read: 16, kept: 3, rejected: 6, skipped: 7 })
  t.equal(reading.exportDate, '2021-02-06 12:35:10')
  t.equal(
    reading.source,
    'Kepler cumulative KOI table, NASA Exoplanet Archive export of 2021-02-06 12:35:10 (archive-export.csv)'
  )
  t.same(
    reading.planets.map((planet) => planet.keplerName),
    ['Kepler-452 b', 'Kepler-62 f', 'Kepler-1649 b']
  )
  // Quoted fields with commas sit before koi_steff and koi_srad: they still land in their columns.
  t.same(reading.planets[1], {
    keplerName: 'Kepler-62 f',
    koiName: 'K00701.04',
    kepid: 9002278,
    radiusEarth: 1.43,
    insolationEarth: 0.44,
    orbitalPeriodDays: 267.282521,
    equilibriumTempK: 207,
    starTempK: 4926,
    starRadiusSolar: 0.662
  })
  t.equal(reading.planets[2]?.equilibriumTempK, null, 'an empty optional value is null')
  t.equal(reading.planets[2]?.starRadiusSolar, 0.118)
  t.same(reading.skippedExamples, [
    { line: 28, reason: 'koi_insol is missing' },
    { line: 29, reason: 'koi_prad is not a number ("n/a")' },
    { line: 30, reason: 'kepler_name is missing' },
    { line: 31, reason: 'has 4 fields, the header has 13' },
    { line: 32, reason: 'koi_teq is not a number ("warm")' },
    { line: 33, reason: 'repeats kepler_name "Kepler-452 b" from line 19' },
    { line: 34, reason: 'koi_disposition is missing' }
  ])
})

t.test('a TAP download without a # header reads the same way, with no export date', async (t) => {
  const reading = await readPlanetsFromFile(fixture('tap-download.csv'))
  t.same(reading.counts, { read: 4, kept: 2, rejected: 2, skipped: 0 })
  t.equal(reading.exportDate, null)
  t.match(reading.source, /export of unknown date \(tap-download\.csv\)$/)
  t.same(
    reading.planets.map((planet) => planet.keplerName),
    ['Kepler-452 b', 'Kepler-442 b']
  )
})

t.test('unusable files are rejected with a message saying why', async (t) => {
  await t.rejects(readPlanetsFromFile(fixture('missing-columns.csv')), {
    name: 'PlanetImportError',
    message: /^the header row lacks the required columns koi_prad, koi_insol \(found: kepid, /
  })
  for (const name of ['empty.csv', 'comments-only.csv']) {
    await t.rejects(readPlanetsFromFile(fixture(name)), {
      message: /^the file has no header row \(it is empty or holds only comments\): expected the columns kepid, kepoi_name, /
    })
  }
  await t.rejects(readPlanetsFromFile(fixture('unterminated-quote.csv')), new PlanetImportError(
    'malformed CSV: Quote Not Closed: the parsing is finished with an opening quote at line 2'
  ))
  await t.rejects(readPlanetsFromFile(fixture('no-such-file.csv')), {
    message: `cannot read ${fixture('no-such-file.csv')}: no such file`
  })
})

t.test('saving is an idempotent upsert by Kepler name', async (t) => {
  const { database } = await openTestDatabase(t)
  const { db } = database
  await db.deleteFrom('planets').execute()
  const reading = await readPlanetsFromFile(fixture('archive-export.csv'))

  t.same(await savePlanets(db, reading.planets, reading.source), { inserted: 3, updated: 0 })
  const first = await db.selectFrom('planets').selectAll().orderBy('kepler_name').execute()
  t.same(await savePlanets(db, reading.planets, reading.source), { inserted: 0, updated: 3 })
  const second = await db.selectFrom('planets').selectAll().orderBy('kepler_name').execute()
  const withoutImportTime = (rows: typeof first) => rows.map(({ imported_at: _importedAt, ...row }) => row)
  t.same(withoutImportTime(second), withoutImportTime(first), 'the second import changes no values')
  t.match(first[0], {
    kepler_name: 'Kepler-1649 b',
    koi_name: 'K03138.01',
    kepid: 6444896,
    radius_earth: 0.49,
    insolation_earth: 0.47,
    orbital_period_days: 8.68910764,
    equilibrium_temp_k: null,
    star_temp_k: 2703,
    star_radius_solar: 0.118,
    source: reading.source
  })

  // A newer export updates the planets it shares and adds the new ones; none disappear.
  const newer = await readPlanetsFromFile(fixture('tap-download.csv'))
  t.same(await savePlanets(db, newer.planets, newer.source), { inserted: 1, updated: 1 })
  const rows = await db.selectFrom('planets').select(['kepler_name', 'radius_earth', 'source']).orderBy('kepler_name').execute()
  t.same(rows, [
    { kepler_name: 'Kepler-1649 b', radius_earth: 0.49, source: reading.source },
    { kepler_name: 'Kepler-442 b', radius_earth: 1.3, source: newer.source },
    { kepler_name: 'Kepler-452 b', radius_earth: 1.11, source: newer.source },
    { kepler_name: 'Kepler-62 f', radius_earth: 1.43, source: reading.source }
  ])

  // Each import is on record and announced to readers, by the service itself.
  const audit = await db.selectFrom('audit_events').select(['action', 'actor_type', 'system_name', 'details']).orderBy('id').execute()
  t.same(
    audit.map((row) => [row.action, row.actor_type, row.system_name, row.details.inserted, row.details.updated]),
    [
      ['planets.imported', 'system', 'planet-import', 3, 0],
      ['planets.imported', 'system', 'planet-import', 0, 3],
      ['planets.imported', 'system', 'planet-import', 1, 1]
    ]
  )
  const events = await db.selectFrom('change_events').select(['type', 'payload']).orderBy('id').execute()
  t.same(
    events.map((event) => [event.type, (event.payload as { inserted: number }).inserted]),
    [
      ['planets', 3],
      ['planets', 0],
      ['planets', 1]
    ]
  )
})

t.test('saving is all or nothing', async (t) => {
  const { database } = await openTestDatabase(t)
  const { db } = database
  const before = await db.selectFrom('planets').selectAll().orderBy('kepler_name').execute()
  const good: HabitablePlanet = {
    keplerName: 'Kepler-9100 b',
    koiName: null,
    kepid: null,
    radiusEarth: 1,
    insolationEarth: 1,
    orbitalPeriodDays: null,
    equilibriumTempK: null,
    starTempK: null,
    starRadiusSolar: null
  }
  // The database refuses the second planet (radius_earth > 0): the first must not stay behind.
  const refused = { ...good, keplerName: 'Kepler-9101 b', radiusEarth: -1 }
  await t.rejects(savePlanets(db, [good, refused], 'test'), /planets_radius_earth_check/)
  t.same(await db.selectFrom('planets').selectAll().orderBy('kepler_name').execute(), before)
})

t.test('the shipped seed fills an empty catalogue once', async (t) => {
  const { database } = await openTestDatabase(t)
  const { db } = database
  t.equal(await seedPlanetsIfEmpty(db), 0, 'the test database is already seeded')
  await db.deleteFrom('planets').execute()
  // Two instances starting together: both may see the table empty, only one inserts each planet.
  const inserted = await Promise.all([seedPlanetsIfEmpty(db), seedPlanetsIfEmpty(db)])
  t.equal(inserted[0] + inserted[1], REAL_EXPORT_HABITABLE.length)
  const rows = await db.selectFrom('planets').select(['kepler_name', 'source']).execute()
  t.same(rows.map((row) => row.kepler_name).sort(), [...REAL_EXPORT_HABITABLE].sort())
  t.same(
    new Set(rows.map((row) => row.source)),
    new Set(['Kepler cumulative KOI table, NASA Exoplanet Archive export of 2021-02-06 12:35:10 (kepler_data.csv)'])
  )
})

if (realExportExists) {
  t.test('the real 2021 export yields exactly the eight known habitable planets', async (t) => {
    const reading = await readPlanetsFromFile(REAL_EXPORT)
    t.equal(reading.counts.read, 9564)
    t.equal(reading.counts.kept, 8)
    t.same(reading.planets.map((planet) => planet.keplerName), REAL_EXPORT_HABITABLE)

    const shipped = JSON.parse(await readFile(new URL('../app/planets/habitable-planets.seed.json', import.meta.url), 'utf8'))
    t.same(shipped, planetSeed(reading), 'the shipped seed is what the importer makes of the real export')

    const { database } = await openTestDatabase(t)
    await database.db.deleteFrom('planets').execute()
    t.same(await savePlanets(database.db, reading.planets, reading.source), { inserted: 8, updated: 0 })
  })
} else {
  t.comment(`${REAL_EXPORT} is absent: the real-export test did not run`)
}
