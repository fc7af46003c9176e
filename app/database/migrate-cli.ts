// `npm run db:migrate`: applies pending migrations and seeds the planet catalogue if it is empty.
// Safe to run from several instances at once (see migrateToLatest); exits non-zero on failure.
import { pino } from 'pino'
import { failureMessage, loadConfig } from '../config/config.js'
import { loggerOptions } from '../logger.js'
import { prepareDatabase } from '../prepare-database.js'
import { withDatabase } from './database.js'

const log = pino(loggerOptions('info'))
try {
  await withDatabase(loadConfig(), log, async (database) => {
    log.info(`migrating ${database.description}`)
    await prepareDatabase(database.db, log)
  })
  log.info('database is up to date')
} catch (error) {
  log.fatal({ err: error }, `db:migrate failed: ${failureMessage(error)}`)
  process.exitCode = 1
}
