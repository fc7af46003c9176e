import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { openDatabase, pgliteExtensions, wrapPglite } from '../app/database/database.js'
import { PGLITE_TEMPLATE, openTestDatabase, silentLog, testConfig } from './helpers.js'
import { generatedData, startFakeSpacex } from './support/fake-spacex.js'

const repoRoot = path.resolve(import.meta.dirname, '..')
const run = promisify(execFile)

interface CliRun {
  exitCode: number
  /** The `msg` of every log line, and the levels of those lines. */
  messages: string[]
  levels: number[]
}

async function syncCli(env: Record<string, string>): Promise<CliRun> {
  const result = await run(process.execPath, ['--import=tsx', 'app/spacex/sync-cli.ts'], {
    cwd: repoRoot,
    env: { ...process.env, DATABASE_URL: '', ...env }
  }).then(
    ({ stdout }) => ({ exitCode: 0, stdout }),
    (error: { code: number; stdout: string }) => ({ exitCode: error.code, stdout: error.stdout })
  )
  const lines = result.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { level: number; msg: string })
  return { exitCode: result.exitCode, messages: lines.map((line) => line.msg), levels: lines.map((line) => line.level) }
}

/** Where the CLI writes: the test PostgreSQL database, or a PGlite directory of its own. */
async function cliDatabase(
  t: Parameters<typeof openTestDatabase>[0]
): Promise<{ env: Record<string, string>; storedSpacexCount(): Promise<number> }> {
  if (process.env.TEST_DATABASE_URL) {
    const { database, url } = await openTestDatabase(t)
    return { env: { DATABASE_URL: url as string }, storedSpacexCount: () => countSpacex(database.db) }
  }
  const dataDir = await mkdtemp(path.join(tmpdir(), 'spacex-cli-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  // Starting from the migrated template spares the CLI PGlite's slow first initialisation.
  const { PGlite } = await import('@electric-sql/pglite')
  const template = new Blob([await readFile(PGLITE_TEMPLATE)])
  const seeded = wrapPglite(await PGlite.create(dataDir, { loadDataDir: template, extensions: await pgliteExtensions() }), 'CLI test PGlite')
  // As in openTestDatabase: a PGlite closed before any query leaves a timer and the file never exits.
  await seeded.ping(5000)
  await seeded.destroy()
  return {
    env: { DATA_DIR: dataDir },
    // PGlite allows one process per directory: open it only between CLI runs.
    async storedSpacexCount() {
      const database = await openDatabase(testConfig({ DATA_DIR: dataDir }), silentLog)
      try {
        return await countSpacex(database.db)
      } finally {
        await database.destroy()
      }
    }
  }
}

async function countSpacex(db: Awaited<ReturnType<typeof openDatabase>>['db']): Promise<number> {
  const rows = await db.selectFrom('launches').select('flight_number').where('source', '=', 'spacex').execute()
  return rows.length
}

// One database for the whole file: each CLI run against PGlite costs seconds.
const target = await cliDatabase(t)

t.test('npm run spacex:sync reports each page and the final counts', async (t) => {
  const fake = await startFakeSpacex(t, generatedData(150))
  const synced = await syncCli({ ...target.env, SPACEX_API_URL: fake.url })
  t.equal(synced.exitCode, 0)
  t.ok(synced.messages.includes('fetched page 1/2 (100 launches)'), 'page 1 progress')
  t.ok(synced.messages.includes('fetched page 2/2 (50 launches)'), 'page 2 progress')
  t.equal(synced.messages.at(-1), 'SpaceX sync done: 150 inserted, 0 updated, 0 unchanged, 0 skipped')
  t.equal(await target.storedSpacexCount(), 150)
})

t.test('npm run spacex:sync exits non-zero with one clear line when SpaceX fails, changing nothing', async (t) => {
  const fake = await startFakeSpacex(t)
  fake.failures.push({ status: 503 })
  const failed = await syncCli({ ...target.env, SPACEX_API_URL: fake.url })
  t.equal(failed.exitCode, 1)
  t.equal(failed.levels.filter((level) => level >= 50).length, 1, 'one error line')
  t.equal(
    failed.messages.at(-1),
    `spacex:sync failed: SpaceX API answered 503 Service Unavailable for page 1 (${fake.url}/v4/launches/query)`
  )
  t.equal(await target.storedSpacexCount(), 150)
})

t.test('npm run spacex:sync names a bad setting', async (t) => {
  const failed = await syncCli({ SPACEX_API_URL: 'ftp://api.spacexdata.com' })
  t.equal(failed.exitCode, 1)
  t.match(failed.messages.at(-1), /^spacex:sync failed: invalid configuration: SPACEX_API_URL must match pattern/)
})
