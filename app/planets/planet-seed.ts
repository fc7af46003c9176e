import type { Kysely } from 'kysely'
import type { Database } from '../database/schema.js'

// PLACEHOLDER: replaced by the planets work (seed from the shipped habitable planets).
export async function seedPlanetsIfEmpty(_db: Kysely<Database>): Promise<number> {
  return 0
}
