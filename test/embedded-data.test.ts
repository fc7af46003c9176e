// The embedded first start from the data directory prepared at build time (scripts/embedded-data.ts)
// must give what migrating a new database from scratch gives: the same migrations, the same planets.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { sql, type Kysely } from 'kysely'
import { pino } from 'pino'
import t from 'tap'
import { PGlite } from '@electric-sql/pglite'
import { openDatabase, pgliteExtensions, wrapPglite } from '../app/database/database.js'
import { unpackPreparedData } from '../app/database/embedded-data.js'
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
  // unpackPreparedData is what openDatabase does first; here with the file just built.
  t.equal(await unpackPreparedData(dataDir, file), true, 'a new directory gets the prepared data')
  const loaded = wrapPglite(await PGlite.create(dataDir, { extensions: await pgliteExtensions() }), 'loaded')
  const logged: string[] = []
  const log = pino({ level: 'info' }, { write: (line: string) => logged.push(JSON.parse(line).msg) })
  await prepareDatabase(loaded.db, log)
  t.same(logged, ['seeded the habitable planet catalogue'], 'the start finds nothing to migrate, and seeds as on any new database')
  const fromPrepared = await contents(loaded.db)
  await loaded.destroy()

  const { database: scratch } = await openTestDatabase(t) // migrated and seeded from nothing (test/setup)
  t.same(fromPrepared, await contents(scratch.db))
  t.ok(fromPrepared.planets.length > 0)

  t.equal(await unpackPreparedData(dataDir, file), false, 'an existing database is never unpacked over')
  t.ok(existsSync(path.join(dataDir, 'PG_VERSION')))
  // And it opens as any existing data directory does.
  const reopened = await openDatabase(testConfig({ DATA_DIR: dataDir }), silentLog)
  t.same(await contents(reopened.db), fromPrepared)
  await reopened.destroy()
})

t.test('an unpack cut short is redone: PG_VERSION, which makes a directory a database, comes last', async (t) => {
  const directory = await mkdtemp(path.join(tmpdir(), 'embedded-data-'))
  t.teardown(() => rm(directory, { recursive: true, force: true }))
  const file = path.join(directory, 'embedded-data.tar')
  const dataDir = path.join(directory, 'data')
  // A tar of one directory and two files, PG_VERSION first, as far as the unpack is concerned.
  const entry = (name: string, flag: string, body = '') => {
    const header = Buffer.alloc(512)
    header.write(name, 0)
    header.write(flag === '5' ? '0000750\0' : '0000600\0', 100)
    header.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124)
    header.write(flag, 156)
    const padded = Buffer.alloc(Math.ceil(body.length / 512) * 512)
    padded.write(body)
    return Buffer.concat([header, padded])
  }
  const tar = Buffer.concat([entry('/PG_VERSION', '0', '17\n'), entry('/base', '5'), entry('/base/1', '0', 'x'.repeat(700)), Buffer.alloc(1024)])
  await writeFile(file, tar)
  t.equal(await unpackPreparedData(dataDir, file), true)
  t.equal(await readFile(path.join(dataDir, 'PG_VERSION'), 'utf8'), '17\n')
  t.equal(await readFile(path.join(dataDir, 'base/1'), 'utf8'), 'x'.repeat(700))
  t.equal((await stat(path.join(dataDir, 'base/1'))).mode & 0o777, 0o600, 'modes are kept')

  // Cut short: the files are there, PG_VERSION is not. The next start unpacks again.
  await rm(path.join(dataDir, 'PG_VERSION'))
  await writeFile(path.join(dataDir, 'base/1'), 'partial')
  t.equal(await unpackPreparedData(dataDir, file), true)
  t.equal(await readFile(path.join(dataDir, 'base/1'), 'utf8'), 'x'.repeat(700))

  await writeFile(file, Buffer.concat([entry('/../escape', '0', 'x'), Buffer.alloc(1024)]))
  await rm(path.join(dataDir, 'PG_VERSION'))
  await t.rejects(unpackPreparedData(dataDir, file), /outside the directory/, 'a name outside the directory is refused')
  await writeFile(file, Buffer.concat([entry('/link', '2'), Buffer.alloc(1024)]))
  await t.rejects(unpackPreparedData(dataDir, file), /only files and directories/, 'links and other entries are refused')
})
