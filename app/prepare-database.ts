import type { FastifyBaseLogger } from 'fastify'
import type { Kysely } from 'kysely'
import { migrateToLatest } from './database/migrate.js'
import type { Database } from './database/schema.js'
import { seedPlanetsIfEmpty } from './planets/planet-seed.js'

/** Brings a database to the current schema and makes sure the planet catalogue is never empty. */
export async function prepareDatabase(db: Kysely<Database>, log: FastifyBaseLogger): Promise<void> {
  const { results = [] } = await migrateToLatest(db)
  for (const result of results) log.info({ migration: result.migrationName, status: result.status }, 'migration')
  const seeded = await seedPlanetsIfEmpty(db)
  if (seeded > 0) log.info({ planets: seeded }, 'seeded the habitable planet catalogue')
}
