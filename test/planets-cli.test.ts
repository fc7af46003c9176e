// `npm run planets:import` as an operator runs it: a child process against a real database
// (a private PostgreSQL database, or a PGlite data directory) and a fake TAP service on 127.0.0.1.
import { execFile } from 'node:child_process'
import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import { createServer, type RequestListener } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import t from 'tap'
import type { Kysely } from 'kysely'
import { openDatabase } from '../app/database/database.js'
import type { Database } from '../app/database/schema.js'
import { REQUIRED_COLUMNS } from '../app/planets/habitable-planets.js'
import { openTestDatabase, silentLog, testConfig } from './helpers.js'
import { fixture } from './fixtures/planets/planet-fixtures.js'

const repoRoot = path.resolve(import.meta.dirname, '..')

// Each case starts Node, tsx and (on PGlite) a WebAssembly PostgreSQL: slower than .taprc's default.
t.setTimeout(10 * 60_000)

interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

function runCli(args: string[], env: Record<string, string>): Promise<CliResult> {
  const { DATABASE_URL: _inherited, ...parentEnv } = process.env
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import=tsx', 'app/planets/import-cli.ts', ...args],
      { cwd: repoRoot, env: { ...parentEnv, ...env }, timeout: 5 * 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? (error.code as number) : 0, stdout, stderr })
    )
  })
}

interface Tap {
  teardown(fn: () => unknown): void
  testdir(): string
}

/** The database the CLI writes into, and a way to look at it once the CLI has exited. */
async function cliDatabase(t: Tap): Promise<{ env: Record<string, string>; inspect: <T>(fn: (db: Kysely<Database>) => Promise<T>) => Promise<T> }> {
  if (process.env.TEST_DATABASE_URL) {
    const { database, url } = await openTestDatabase(t)
    await database.db.deleteFrom('planets').execute()
    return {
      env: { DATABASE_URL: url as string },
      inspect: <T>(fn: (db: Kysely<Database>) => Promise<T>) => fn(database.db)
    }
  }
  const dataDir = t.testdir()
  return {
    env: { DATA_DIR: dataDir },
    // PGlite allows one process at a time: open it only while the CLI is not running.
    inspect: async <T>(fn: (db: Kysely<Database>) => Promise<T>) => {
      const database = await openDatabase(testConfig({ DATA_DIR: dataDir }), silentLog)
      try {
        return await fn(database.db)
      } finally {
        await database.destroy()
      }
    }
  }
}

const planetNames = (db: Kysely<Database>) =>
  db.selectFrom('planets').select(['kepler_name', 'source']).orderBy('kepler_name').execute()

async function fakeArchive(t: Tap, handler: RequestListener): Promise<string> {
  const server = createServer(handler)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/TAP/sync`
}

const ARCHIVE_SOURCE = 'Kepler cumulative KOI table, NASA Exoplanet Archive export of 2021-02-06 12:35:10 (archive-export.csv)'

t.test('--file imports a local export, prints the counts, and is idempotent', async (t) => {
  const database = await cliDatabase(t)
  const first = await runCli(['--file', fixture('archive-export.csv')], database.env)
  t.equal(first.code, 0, first.stderr)
  t.match(first.stdout, `source: ${ARCHIVE_SOURCE}\n`)
  t.match(first.stdout, 'read 16 rows: 3 kept, 6 not habitable, 7 skipped (unusable values)\n')
  t.match(first.stdout, '  skipped line 29: koi_prad is not a number ("n/a")\n')
  t.match(first.stdout, /saved 3 planets into .+: 3 new, 0 updated\n$/)
  const rows = await database.inspect(planetNames)
  t.same(rows, ['Kepler-1649 b', 'Kepler-452 b', 'Kepler-62 f'].map((name) => ({ kepler_name: name, source: ARCHIVE_SOURCE })))

  const second = await runCli(['--file', fixture('archive-export.csv')], database.env)
  t.equal(second.code, 0, second.stderr)
  t.match(second.stdout, /saved 3 planets into .+: 0 new, 3 updated\n$/)
  t.same(await database.inspect(planetNames), rows)

  // A bad file afterwards fails with one line and leaves the catalogue as it was.
  const bad = await runCli(['--file', fixture('missing-columns.csv')], database.env)
  t.equal(bad.code, 1)
  t.equal(bad.stdout, '')
  t.equal(
    bad.stderr,
    'planets:import failed: the header row lacks the required columns koi_prad, koi_insol (found: kepid, kepoi_name, kepler_name, koi_disposition, koi_period, koi_teq, koi_steff, koi_srad)\n'
  )
  t.same(await database.inspect(planetNames), rows)
})

t.test('unusable input exits 1 with one line saying why', async (t) => {
  const env = { DATA_DIR: t.testdir() }
  const cases: Array<[string[], RegExp]> = [
    [['--file', fixture('empty.csv')], /^planets:import failed: the file has no header row \(it is empty or holds only comments\): expected the columns kepid, .+\n$/],
    [['--file', fixture('unterminated-quote.csv')], /^planets:import failed: malformed CSV: Quote Not Closed: .+ at line 2\n$/],
    [['--file', fixture('nothing-here.csv')], /^planets:import failed: cannot read .+nothing-here\.csv: no such file\n$/]
  ]
  for (const [args, message] of cases) {
    const result = await runCli(args, env)
    t.equal(result.code, 1, args.join(' '))
    t.match(result.stderr, message)
  }
  const usage = await runCli(['--fiel', 'x.csv'], env)
  t.equal(usage.code, 1)
  t.match(usage.stderr, /^planets:import failed: Unknown option '--fiel'.*\nusage: npm run planets:import/)
})

t.test('--write-seed writes the kept planets with source, export date and criteria', async (t) => {
  const seedPath = path.join(t.testdir(), 'seed.json')
  const result = await runCli(['--file', fixture('archive-export.csv'), '--write-seed', seedPath], {})
  t.equal(result.code, 0, result.stderr)
  t.match(result.stdout, `wrote 3 planets to ${seedPath}\n`)
  const seed = JSON.parse(await readFile(seedPath, 'utf8'))
  t.equal(seed.source, ARCHIVE_SOURCE)
  t.equal(seed.exportDate, '2021-02-06 12:35:10')
  t.same(seed.criteria, { disposition: 'CONFIRMED', insolationEarth: { above: 0.36, below: 1.11 }, radiusEarth: { below: 1.6 } })
  t.same(seed.counts, { read: 16, kept: 3, rejected: 6, skipped: 7 })
  t.same(
    seed.planets.map((planet: { keplerName: string }) => planet.keplerName),
    ['Kepler-452 b', 'Kepler-62 f', 'Kepler-1649 b']
  )
})

t.test('without --file it downloads the table from the TAP service', async (t) => {
  const body = await readFile(fixture('tap-download.csv'))
  const requests: URL[] = []
  const archiveUrl = await fakeArchive(t, (request, response) => {
    requests.push(new URL(request.url ?? '/', 'http://127.0.0.1'))
    response.writeHead(200, { 'content-type': 'text/csv' })
    // In two pieces, split inside a row, as a network delivers it.
    response.write(body.subarray(0, 150))
    setTimeout(() => response.end(body.subarray(150)), 20)
  })
  const database = await cliDatabase(t)
  const result = await runCli([], { ...database.env, EXOPLANET_ARCHIVE_URL: archiveUrl })
  t.equal(result.code, 0, result.stderr)
  t.equal(requests.length, 1)
  t.equal(requests[0]?.pathname, '/TAP/sync')
  t.equal(
    requests[0]?.searchParams.get('query'),
    'select kepid,kepoi_name,kepler_name,koi_disposition,koi_period,koi_prad,koi_insol,koi_teq,koi_steff,koi_srad from cumulative'
  )
  t.equal(requests[0]?.searchParams.get('format'), 'csv')
  t.match(result.stdout, 'read 4 rows: 2 kept, 2 not habitable, 0 skipped (unusable values)\n')
  const rows = await database.inspect(planetNames)
  t.same(rows.map((row) => row.kepler_name), ['Kepler-442 b', 'Kepler-452 b'])
  t.match(rows[0]?.source, new RegExp(`^Kepler cumulative KOI table, NASA Exoplanet Archive TAP download at \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z \\(${archiveUrl}\\)$`))
})

t.test('a failing, silent, unreachable or wrong archive answer exits 1 with one line', async (t) => {
  const env = { DATA_DIR: t.testdir(), EXOPLANET_TIMEOUT_MS: '2000' }
  const failing = await fakeArchive(t, (_request, response) => {
    response.writeHead(500, { 'content-type': 'text/plain' })
    response.end('internal error')
  })
  const silent = await fakeArchive(t, () => {})
  const notTheTable = await fakeArchive(t, (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain' })
    response.end('Internal error: the cumulative table is being reloaded\n')
  })
  const stalling = await fakeArchive(t, (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/csv' })
    response.write('kepid,kepoi_name,kepler_name,koi_disposition,koi_period,koi_prad,koi_insol,koi_teq,koi_steff,koi_srad\n')
  })
  // A port that was just free: nothing listens there any more.
  const closedServer = createServer().listen(0, '127.0.0.1')
  await once(closedServer, 'listening')
  const closedServerUrl = `http://127.0.0.1:${(closedServer.address() as AddressInfo).port}/TAP/sync`
  closedServer.close()
  await once(closedServer, 'close')

  const cases: Array<[string, string]> = [
    [failing, `the Exoplanet Archive at ${failing} answered HTTP 500`],
    [silent, `the Exoplanet Archive at ${silent} did not answer within 2000 ms`],
    [stalling, `the Exoplanet Archive at ${stalling} did not answer within 2000 ms`],
    [notTheTable, `the header row lacks the required columns ${REQUIRED_COLUMNS.join(', ')} (found: Internal error: the cumulative table is being reloaded)`],
    [closedServerUrl, `cannot reach the Exoplanet Archive at ${closedServerUrl}: ECONNREFUSED`]
  ]
  for (const [url, message] of cases) {
    const result = await runCli([], { ...env, EXOPLANET_ARCHIVE_URL: url })
    t.equal(result.code, 1, url)
    t.equal(result.stderr, `planets:import failed: ${message}\n`)
    t.equal(result.stdout, '')
  }
})
