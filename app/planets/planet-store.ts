// Writes habitable planets into the catalogue: the importer upserts, the seed only fills gaps.
import { sql, type Kysely } from 'kysely'
import type { Database, NewPlanet } from '../database/schema.js'
import { runWrite } from '../writes/unit-of-work.js'
import type { HabitablePlanet } from './habitable-planets.js'

// Ten columns per row: far below PostgreSQL's 65,535 bind parameters per statement.
const UPSERT_BATCH_SIZE = 500

export interface SaveCounts {
  inserted: number
  updated: number
}

export function planetRow(planet: HabitablePlanet, source: string): NewPlanet {
  return {
    kepler_name: planet.keplerName,
    koi_name: planet.koiName,
    kepid: planet.kepid,
    radius_earth: planet.radiusEarth,
    insolation_earth: planet.insolationEarth,
    orbital_period_days: planet.orbitalPeriodDays,
    equilibrium_temp_k: planet.equilibriumTempK,
    star_temp_k: planet.starTempK,
    star_radius_solar: planet.starRadiusSolar,
    source
  }
}

/**
 * Upserts the planets by Kepler name in one transaction: all or nothing, and running it again
 * with the same data changes nothing but `imported_at`. Planets missing from the input stay,
 * since launches may target them. The import is on record as the service's own write.
 */
export async function savePlanets(db: Kysely<Database>, planets: HabitablePlanet[], source: string): Promise<SaveCounts> {
  const { result } = await runWrite(db, { actor: { type: 'system', name: 'planet-import' } }, async (trx) => {
    const counts: SaveCounts = { inserted: 0, updated: 0 }
    for (let start = 0; start < planets.length; start += UPSERT_BATCH_SIZE) {
      const rows = planets.slice(start, start + UPSERT_BATCH_SIZE).map((planet) => planetRow(planet, source))
      const results = await trx
        .insertInto('planets')
        .values(rows)
        .onConflict((oc) =>
          oc.column('kepler_name').doUpdateSet((eb) => ({
            koi_name: eb.ref('excluded.koi_name'),
            kepid: eb.ref('excluded.kepid'),
            radius_earth: eb.ref('excluded.radius_earth'),
            insolation_earth: eb.ref('excluded.insolation_earth'),
            orbital_period_days: eb.ref('excluded.orbital_period_days'),
            equilibrium_temp_k: eb.ref('excluded.equilibrium_temp_k'),
            star_temp_k: eb.ref('excluded.star_temp_k'),
            star_radius_solar: eb.ref('excluded.star_radius_solar'),
            source: eb.ref('excluded.source'),
            imported_at: sql`now()`
          }))
        )
        // xmax is 0 only for a freshly inserted row version: tells inserts from updates.
        .returning(sql<boolean>`(xmax = 0)`.as('inserted'))
        .execute()
      for (const { inserted } of results) counts[inserted ? 'inserted' : 'updated']++
    }
    const summary = { ...counts, planets: planets.length, source }
    return { result: counts, audit: [{ action: 'planets.imported', details: summary }], events: [{ type: 'planets', payload: summary }] }
  })
  return result
}
