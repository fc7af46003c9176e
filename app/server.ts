// The process entry: reads the configuration, opens the database, listens, and shuts down gracefully.
import { setTimeout as sleep } from 'node:timers/promises'
import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import { ConfigError, failureMessage, loadConfig, type Config } from './config/config.js'
import { openDatabase } from './database/database.js'
import { missingMigrations } from './database/migrate.js'
import { serverLogger } from './logger.js'
import { offerFirstRunSetup } from './operators/first-run.js'
import { prepareDatabase } from './prepare-database.js'

function readConfigOrExit(): Config {
  try {
    return loadConfig()
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`mission-control: ${failureMessage(error)}\n`)
    process.exit(1)
  }
}

const config = readConfigOrExit()
const log = serverLogger(config.LOG_LEVEL)
if (!config.AUTH_REQUIRED) {
  log.warn('AUTH_REQUIRED=false: anyone who reaches this service can schedule and abort launches. Use it only on a private network.')
}

try {
  const database = await openDatabase(config, log)
  log.info({ database: database.kind }, `using ${database.description}`)
  if (config.NODE_ENV === 'production') {
    // Production migrates in the predeploy hook (npm run db:migrate), before any instance of the
    // new version starts: here the schema only has to be at least what this version needs.
    const missing = await missingMigrations(database.db)
    if (missing.length > 0) {
      throw new Error(`the database lacks migration ${missing.join(', ')}: run \`npm run db:migrate\` (the predeploy hook does)`)
    }
  } else {
    await prepareDatabase(database.db, log)
  }
  const app = await buildApp({ config, database, loggerInstance: log })

  // SIGTERM (EB stopping the web process) or SIGINT: keep serving through the drain time, since
  // the load balancer may still send requests it chose before the deregistration reached it;
  // then stop listening, let requests in flight finish and close the pool. Past
  // SHUTDOWN_TIMEOUT_MS close-with-grace exits anyway.
  closeWithGrace({ delay: config.SHUTDOWN_TIMEOUT_MS, logger: log }, async ({ signal, err }) => {
    if (err) log.error({ err }, 'shutting down after an unexpected error')
    else log.info({ signal, drainMs: config.SHUTDOWN_DRAIN_MS }, 'shutting down')
    app.startDraining()
    if (!err) await sleep(config.SHUTDOWN_DRAIN_MS)
    await app.close()
  })

  await app.listen({ port: config.PORT, host: config.HOST })
  await offerFirstRunSetup(database.db, log, config.PUBLIC_URL ?? `http://localhost:${config.PORT}`)
} catch (error) {
  log.fatal({ err: error }, `mission-control failed to start: ${(error as Error).message}`)
  process.exit(1)
}
