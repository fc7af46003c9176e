import { promises as fs } from 'node:fs'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { sql, type Kysely } from 'kysely'
import { FileMigrationProvider, Migrator, type Migration, type MigrationResult, type MigrationResultSet } from 'kysely/migration'
import { projectDirectory } from '../project-directory.js'

// <repo>/migrations from the sources (tsx), dist/migrations from the compiled service, whether
// this module runs from dist/app/database or bundled into dist/app/service.js (scripts/server-bundle.ts).
export const migrationsFolder = path.join(projectDirectory(), import.meta.filename.endsWith('.ts') ? 'migrations' : 'dist/migrations')

/**
 * A migration that cannot run inside a transaction (CREATE INDEX CONCURRENTLY) exports
 * `export const transactional = false`. Such a migration holds one idempotent statement: if it
 * fails, nothing records it and the next run repeats it.
 */
type MigrationModule = Migration & { transactional?: boolean }

/** Any fixed key: serialises whole migration runs across instances (Kysely's own lock covers one step). */
const MIGRATION_RUN_LOCK = 7_230_114_511
const RUN_LOCK_POLL_MS = 250

function migrationProvider(): FileMigrationProvider {
  return new FileMigrationProvider({ fs, path, migrationFolder: migrationsFolder })
}

/**
 * Applies every pending migration, one transaction per migration (none for those that opt out).
 * Instances deploying at once take turns on an advisory lock, so each migration runs exactly once
 * and each in the mode it asks for.
 */
export async function migrateToLatest(db: Kysely<any>): Promise<MigrationResultSet> {
  // The usual case, every start of an up-to-date database: nothing pending, which one query says
  // (as Kysely's getMigrations below would, by name). Going through the Migrator costs more than
  // the rest of an embedded start's database work: importing each migration module (and with
  // them Kysely from node_modules, about 0.2 s of CPU) and introspecting every table's columns.
  if ((await missingMigrations(db)).length === 0) return { results: [] }
  const provider = migrationProvider()
  const modules = (await provider.getMigrations()) as Record<string, MigrationModule>
  const migrator = new Migrator({ db, provider })
  const applyPending = async (): Promise<MigrationResultSet> => {
    const results: MigrationResult[] = []
    for (;;) {
      const next = (await migrator.getMigrations()).find((migration) => migration.executedAt === undefined)
      if (!next) return { results }
      const step = await migrator.migrateUp({ disableTransactions: modules[next.name]?.transactional === false })
      results.push(...(step.results ?? []))
      if (step.error) throw migrationError(step)
    }
  }
  // PGlite has one connection, and nobody to take turns with.
  if (!db.getExecutor().adapter.supportsMultipleConnections) return applyPending()
  return db.connection().execute(async (connection) => {
    // Polled rather than waited for inside one statement: a waiting statement is an open
    // transaction, and `create index concurrently` in the other run would wait for it in turn.
    while (!(await sql<{ locked: boolean }>`select pg_try_advisory_lock(${MIGRATION_RUN_LOCK}) as locked`.execute(connection)).rows[0]!.locked) {
      await sleep(RUN_LOCK_POLL_MS)
    }
    try {
      return await applyPending()
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_RUN_LOCK})`.execute(connection)
    }
  })
}

function migrationError({ error, results = [] }: MigrationResultSet): Error {
  const failed = results.find((result) => result.status === 'Error')
  // No failed migration means none ran: the database could not be reached or locked.
  const what = failed ? `migration ${failed.migrationName} failed` : 'cannot apply migrations'
  return new Error(`${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
}

/**
 * The migrations this version ships that the database has not applied. Migrations applied by a
 * newer version are fine: during a rolling deploy the old version runs on the expanded schema.
 */
export async function missingMigrations(db: Kysely<any>): Promise<string[]> {
  const shipped = await shippedMigrationNames()
  const applied = await sql<{ name: string }>`select name from kysely_migration`
    .execute(db)
    .then(({ rows }) => new Set(rows.map((row) => row.name)))
    .catch((error: { code?: string }) => {
      if (error.code === '42P01') return new Set<string>() // undefined_table: never migrated
      throw error
    })
  return shipped.filter((name) => !applied.has(name)).sort()
}

/**
 * The names FileMigrationProvider gives the migrations in the folder, from the file names alone:
 * the production start checks the schema without loading every migration module.
 */
async function shippedMigrationNames(): Promise<string[]> {
  const files = await fs.readdir(migrationsFolder)
  return files
    .filter((file) => /\.(?:[cm]?js|[cm]?ts)$/.test(file) && !/\.d\.[cm]?ts$/.test(file))
    .map((file) => file.slice(0, file.lastIndexOf('.')))
}
