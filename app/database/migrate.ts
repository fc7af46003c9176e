import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { Kysely } from 'kysely'
import { FileMigrationProvider, Migrator, type MigrationResultSet } from 'kysely/migration'

// Resolves to <repo>/migrations from app/database (tsx) and to dist/migrations from dist/app/database.
export const migrationsFolder = path.resolve(import.meta.dirname, '../../migrations')

/**
 * Applies every pending migration. Kysely's Postgres adapter takes an advisory lock inside the
 * migration transaction, so several instances deploying at once apply each migration exactly once.
 */
export async function migrateToLatest(db: Kysely<any>): Promise<MigrationResultSet> {
  const migrator = new Migrator({
    db,
    provider: new FileMigrationProvider({ fs, path, migrationFolder: migrationsFolder })
  })
  const resultSet = await migrator.migrateToLatest()
  if (resultSet.error) {
    const failed = resultSet.results?.find((result) => result.status === 'Error')
    // No failed migration means none ran: the database could not be reached or locked.
    const what = failed ? `migration ${failed.migrationName} failed` : 'cannot apply migrations'
    throw new Error(`${what}: ${errorMessage(resultSet.error)}`, { cause: resultSet.error })
  }
  return resultSet
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
