// The embedded first start from the data directory prepared at build time (scripts/embedded-data.ts)
// must give what migrating a new database from scratch gives: the same migrations, the same planets.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { sql, type Kysely } from 'kysely'
import { pino } from 'pino'
import t from 'tap'
import { PGlite } from '@electric-sql/pglite'
import { openDatabase, pgliteExtensions, wrapPglite } from '../app/database/database.js'
import { preparedDataFor } from '../app/database/embedded-data.js'
import type { Database } from '../app/database/schema.js'
import { prepareDatabase } from '../app/prepare-database.js'
import { openTestDatabase, silentLog, testConfig } from './helpers.js'

const repoRoot = path.resolve(import.meta.dirname, '..')

/** What a start depends on: the applied migrations and the planet catalogue (without its import time). */
async function contents(db: Kysely<Database>) {
  const migrations = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db)
  const planets = await db.selectFrom('planets').selectAll().orderBy('id').execute()
  return {
    migrations: migrations.rows.map((row) => row.name),
    planets: planets.map(({ imported_at: _, ...planet }) => planet)
  }
}

t.test('a new data directory starts from the prepared one, equal to a database migrated from scratch', async (t) => {
  const directory = await mkdtemp(path.join(tmpdir(), 'embedded-data-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  const file = path.join(directory, 'embedded-data.tar')
  await promisify(execFile)(process.execPath, ['--import=tsx', 'scripts/embedded-data.ts', file], { cwd: repoRoot })

  const dataDir = path.join(directory, 'data')
  // preparedDataFor is what openDatabase asks; here with the file just built.
  const loadDataDir = await preparedDataFor(dataDir, file)
  t.ok(loadDataDir, 'a new directory gets the prepared data')
  const loaded = wrapPglite(await PGlite.create(dataDir, { loadDataDir, extensions: await pgliteExtensions() }), 'loaded')
  const logged: string[] = []
  const log = pino({ level: 'info' }, { write: (line: string) => logged.push(JSON.parse(line).msg) })
  await prepareDatabase(loaded.db, log)
  t.same(logged, ['seeded the habitable planet catalogue'], 'the start finds nothing to migrate, and seeds as on any new database')
  const fromPrepared = await contents(loaded.db)
  await loaded.destroy()

  const { database: scratch } = await openTestDatabase(t) // migrated and seeded from nothing (test/setup)
  t.same(fromPrepared, await contents(scratch.db))
  t.ok(fromPrepared.planets.length > 0)

  t.equal(await preparedDataFor(dataDir, file), undefined, 'an existing database is never loaded over')
  t.ok(existsSync(path.join(dataDir, 'PG_VERSION')))
  // And it opens as any existing data directory does.
  const reopened = await openDatabase(testConfig({ DATA_DIR: dataDir }), silentLog)
  t.same(await contents(reopened.db), fromPrepared)
  await reopened.destroy()
})
