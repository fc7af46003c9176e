// `npm run db:migrate`: applies pending migrations and seeds the planet catalogue if it is empty.
// Safe to run from several instances at once (see migrateToLatest); exits non-zero on failure.
import { pino } from 'pino'
import { failureMessage, loadConfig } from '../config/config.js'
import { loggerOptions } from '../logger.js'
import { prepareDatabase } from '../prepare-database.js'
import { withDatabase } from './database.js'

const log = pino(loggerOptions('info'))
try {
  const config = loadConfig()
  // Migrations run as the schema's owner when it has its own secret; the service keeps the app role.
  const secretId = config.DATABASE_MIGRATION_SECRET_ID ?? config.DATABASE_SECRET_ID
  await withDatabase({ ...config, DATABASE_SECRET_ID: secretId }, log, async (database) => {
    log.info(`migrating ${database.description}`)
    await prepareDatabase(database.db, log)
  })
  log.info('database is up to date')
} catch (error) {
  log.fatal({ err: error }, `db:migrate failed: ${failureMessage(error)}`)
  process.exitCode = 1
}
