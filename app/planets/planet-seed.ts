// The shipped catalogue: the habitable planets of a real archive export, so a fresh (even offline)
// installation never starts with an empty planet list. Regenerated with `planets:import --write-seed`.
import type { Kysely } from 'kysely'
import type { Database } from '../database/schema.js'
import { HABITABILITY_CRITERIA, type HabitabilityCriteria, type HabitablePlanet, type ImportCounts } from './habitable-planets.js'
import { planetRow } from './planet-store.js'
import type { SourcedReading } from './planet-sources.js'
import seed from './habitable-planets.seed.json' with { type: 'json' }

export interface PlanetSeed {
  source: string
  exportDate: string | null
  criteria: HabitabilityCriteria
  counts: ImportCounts
  planets: HabitablePlanet[]
}

export function planetSeed(reading: SourcedReading): PlanetSeed {
  const { source, exportDate, counts, planets } = reading
  return { source, exportDate, criteria: HABITABILITY_CRITERIA, counts, planets }
}

const shippedSeed: PlanetSeed = seed

/**
 * Inserts the shipped planets when the catalogue is empty; returns how many it inserted.
 * Instances starting together may both see it empty: ON CONFLICT DO NOTHING makes the loser a no-op.
 */
export async function seedPlanetsIfEmpty(db: Kysely<Database>): Promise<number> {
  const anyPlanet = await db.selectFrom('planets').select('id').limit(1).executeTakeFirst()
  if (anyPlanet) return 0
  const result = await db
    .insertInto('planets')
    .values(shippedSeed.planets.map((planet) => planetRow(planet, shippedSeed.source)))
    .onConflict((oc) => oc.column('kepler_name').doNothing())
    .executeTakeFirst()
  return Number(result.numInsertedOrUpdatedRows ?? 0n)
}
