// `npm run db:migrate`: applies pending migrations and seeds the planet catalogue if it is empty.
// Safe to run from several instances at once (see migrateToLatest); exits non-zero on failure.
import { pino } from 'pino'
import { ConfigError, loadConfig } from '../config/config.js'
import { loggerOptions } from '../logger.js'
import { prepareDatabase } from '../prepare-database.js'
import { openDatabase } from './database.js'

const log = pino(loggerOptions('info'))
try {
  const config = loadConfig()
  const database = await openDatabase(config, log)
  log.info(`migrating ${database.description}`)
  try {
    await prepareDatabase(database.db, log)
  } finally {
    await database.destroy()
  }
  log.info('database is up to date')
} catch (error) {
  const message = error instanceof ConfigError ? `invalid configuration: ${error.message}` : (error as Error).message
  log.fatal({ err: error }, `db:migrate failed: ${message}`)
  process.exitCode = 1
}
