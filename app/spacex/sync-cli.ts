// `npm run spacex:sync`: fetches every SpaceX launch and upserts it into the configured database,
// logging each page and the final counts. Safe next to running instances (the sync takes an
// advisory lock); exits non-zero with one line naming the failure.
import { pino } from 'pino'
import { failureMessage, loadConfig } from '../config/config.js'
import { withDatabase } from '../database/database.js'
import { migrateToLatest } from '../database/migrate.js'
import { loggerOptions } from '../logger.js'
import { syncSpacexLaunches } from './spacex-sync.js'

const log = pino(loggerOptions('info'))
try {
  const config = loadConfig()
  await withDatabase(config, log, async (database) => {
    await migrateToLatest(database.db)
    log.info(`syncing SpaceX launches from ${config.SPACEX_API_URL} into ${database.description}`)
    const { skippedLaunches, ...counts } = await syncSpacexLaunches(database.db, {
      apiUrl: config.SPACEX_API_URL,
      timeoutMs: config.SPACEX_TIMEOUT_MS,
      onPage: ({ page, totalPages, docs, totalDocs }) =>
        log.info({ page, totalPages, docs, totalDocs }, `fetched page ${page}/${totalPages} (${docs} launches)`)
    })
    for (const skipped of skippedLaunches) log.warn(skipped, `skipped SpaceX launch ${skipped.spacexId}: ${skipped.reason}`)
    log.info(
      counts,
      `SpaceX sync done: ${counts.inserted} inserted, ${counts.updated} updated, ${counts.unchanged} unchanged, ${counts.skipped} skipped`
    )
  })
} catch (error) {
  log.fatal(`spacex:sync failed: ${failureMessage(error)}`)
  process.exitCode = 1
}
