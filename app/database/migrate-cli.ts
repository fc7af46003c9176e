// `npm run db:migrate`: applies pending migrations and seeds the planet catalogue if it is empty.
// Safe to run from several instances at once (see migrateToLatest); exits non-zero on failure.
// Production runs it in the predeploy hook only: without the requests' statement timeout (an
// index build may take minutes) and with a short lock_timeout, retried, so that a migration
// waiting behind a busy table gives way instead of queueing every request behind its lock. A
// database that is briefly unreachable is retried too, rather than failing the deployment.
import { setTimeout as sleep } from 'node:timers/promises'
import { pino } from 'pino'
import { failureMessage, loadConfig } from '../config/config.js'
import { loggerOptions } from '../logger.js'
import { prepareDatabase } from '../prepare-database.js'
import { migrationSession, withDatabase } from './database.js'
import { isDatabaseUnavailable } from './unavailable.js'

const LOCK_TIMEOUT_MS = 5000
const ATTEMPTS = 6

const isLockTimeout = (error: unknown): boolean =>
  error instanceof Error && ((error as { code?: unknown }).code === '55P03' || isLockTimeout(error.cause))
const isTransient = (error: unknown): boolean => isLockTimeout(error) || isDatabaseUnavailable(error)

const log = pino(loggerOptions('info'))
try {
  const config = loadConfig()
  // Migrations run as the schema's owner when it has its own secret; the service keeps the app role.
  const secretId = config.DATABASE_MIGRATION_SECRET_ID ?? config.DATABASE_SECRET_ID
  await withDatabase(
    { ...config, DATABASE_SECRET_ID: secretId },
    log,
    async (database) => {
      log.info(`migrating ${database.description}`)
      for (let attempt = 1; ; attempt++) {
        try {
          await prepareDatabase(database.db, log)
          break
        } catch (error) {
          if (!isTransient(error) || attempt === ATTEMPTS) throw error
          const why = isLockTimeout(error) ? 'a table the migration needs is busy' : 'the database is unavailable'
          log.warn({ attempt, err: error }, `${why}; trying again`)
          await sleep(attempt * 1000)
        }
      }
    },
    migrationSession(LOCK_TIMEOUT_MS)
  )
  log.info('database is up to date')
} catch (error) {
  log.fatal({ err: error }, `db:migrate failed: ${failureMessage(error)}`)
  process.exitCode = 1
}
