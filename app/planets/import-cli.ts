// `npm run planets:import [-- --file <csv>] [--write-seed <json>]`: imports the habitable planets of
// the Kepler cumulative table (a local export, or downloaded from the archive's TAP service) into
// the configured database, or writes them as seed data. Exits 1 with one line on any failure.
import { writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { pino } from 'pino'
import { failureMessage, loadConfig, type Config } from '../config/config.js'
import { withDatabase } from '../database/database.js'
import { migrateToLatest } from '../database/migrate.js'
import { loggerOptions } from '../logger.js'
import { planetSeed } from './planet-seed.js'
import { downloadPlanets, readPlanetsFromFile, type SourcedReading } from './planet-sources.js'
import { savePlanets } from './planet-store.js'

const USAGE = `usage: npm run planets:import -- [--file <kepler.csv>] [--write-seed <seed.json>]
  --file <path>        import a local CSV export instead of downloading from EXOPLANET_ARCHIVE_URL
  --write-seed <path>  write the kept planets as seed JSON instead of importing into the database`

class UsageError extends Error {}

function readArguments(): { file?: string; writeSeed?: string; help: boolean } {
  try {
    const { values } = parseArgs({
      options: { file: { type: 'string' }, 'write-seed': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true
    })
    return { file: values.file, writeSeed: values['write-seed'], help: values.help ?? false }
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
}

function printReading(reading: SourcedReading): void {
  const { read, kept, rejected, skipped } = reading.counts
  console.log(`source: ${reading.source}`)
  console.log(`read ${read} rows: ${kept} kept, ${rejected} not habitable, ${skipped} skipped (unusable values)`)
  for (const { line, reason } of reading.skippedExamples) console.log(`  skipped line ${line}: ${reason}`)
  if (skipped > reading.skippedExamples.length) console.log(`  … and ${skipped - reading.skippedExamples.length} more`)
}

async function importIntoDatabase(config: Config, reading: SourcedReading): Promise<void> {
  // Warnings only, on stderr: stdout carries the counts.
  const log = pino(loggerOptions('warn', false), pino.destination(2))
  await withDatabase(config, log, async (database) => {
    await migrateToLatest(database.db)
    const { inserted, updated } = await savePlanets(database.db, reading.planets, reading.source)
    console.log(`saved ${reading.planets.length} planets into ${database.description}: ${inserted} new, ${updated} updated`)
  })
}

async function main(): Promise<void> {
  const args = readArguments()
  if (args.help) {
    console.log(USAGE)
    return
  }
  const config = loadConfig()
  const reading = args.file
    ? await readPlanetsFromFile(args.file)
    : await downloadPlanets(config.EXOPLANET_ARCHIVE_URL, config.EXOPLANET_TIMEOUT_MS)
  printReading(reading)
  if (args.writeSeed) {
    await writeFile(args.writeSeed, `${JSON.stringify(planetSeed(reading), null, 2)}\n`)
    console.log(`wrote ${reading.planets.length} planets to ${args.writeSeed}`)
  } else {
    await importIntoDatabase(config, reading)
  }
}

try {
  await main()
} catch (error) {
  process.stderr.write(`planets:import failed: ${failureMessage(error)}\n`)
  if (error instanceof UsageError) process.stderr.write(`${USAGE}\n`)
  process.exitCode = 1
}
