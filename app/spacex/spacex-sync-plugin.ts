import fp from 'fastify-plugin'
import { hasStoredSpacexLaunches, syncSpacexLaunches } from './spacex-sync.js'

export interface SpacexSyncPluginOptions {
  apiUrl: string
  timeoutMs: number
  /** Sync in the background once the server listens, when no SpaceX launch is stored yet. */
  syncOnStart: boolean
}

const RETRY_BASE_MS = 1000
const RETRY_MAX_MS = 5 * 60_000

/**
 * Exponential backoff with "equal jitter": half the delay is fixed, half random, so instances
 * that failed together (SpaceX down) do not retry in lockstep.
 */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (attempt - 1))
  return Math.round(delay / 2 + (random() * delay) / 2)
}

/**
 * The first SpaceX sync of a fresh database. It starts when the server listens (never for
 * `inject`, never delaying listen), runs in the background while the service already answers,
 * and retries until it succeeds or the app closes. `npm run spacex:sync` refreshes on demand.
 */
export default fp<SpacexSyncPluginOptions>(
  async (app, { apiUrl, timeoutMs, syncOnStart }) => {
    if (!syncOnStart) return
    const log = app.log.child({ task: 'spacex-sync' })
    const closing = new AbortController()
    let retryTimer: NodeJS.Timeout | undefined
    let running: Promise<void> | undefined

    async function attempt(number: number): Promise<void> {
      try {
        if (await hasStoredSpacexLaunches(app.db)) {
          log.info('SpaceX launches already stored; run `npm run spacex:sync` to refresh them')
          return
        }
        log.info({ apiUrl }, 'syncing SpaceX launches in the background')
        const started = performance.now()
        const { skippedLaunches, ...counts } = await syncSpacexLaunches(app.db, {
          apiUrl,
          timeoutMs,
          signal: closing.signal,
          onPage: (progress) => log.debug(progress, 'fetched a page of SpaceX launches')
        }).catch((error: unknown) => {
          // A sync cut short by shutdown has no outcome to report.
          if (!closing.signal.aborted) app.metrics.duration('SpacexSyncDuration', performance.now() - started, { Outcome: 'failure' })
          throw error
        })
        app.metrics.duration('SpacexSyncDuration', performance.now() - started, { Outcome: 'success' })
        if (skippedLaunches.length > 0) log.warn({ skippedLaunches }, `skipped ${skippedLaunches.length} SpaceX launches`)
        log.info(counts, 'SpaceX launches synced')
      } catch (error) {
        if (closing.signal.aborted) return
        const delayMs = retryDelayMs(number)
        log.warn({ err: error, attempt: number, retryInMs: delayMs }, `SpaceX sync failed: ${(error as Error).message}`)
        retryTimer = setTimeout(() => {
          running = attempt(number + 1)
        }, delayMs)
      }
    }

    app.addHook('onListen', async () => {
      // attempt() handles its own errors; not awaiting it keeps listen() and startup immediate.
      running ??= attempt(1)
    })
    app.addHook('onClose', async () => {
      closing.abort()
      clearTimeout(retryTimer)
      // Registered after the database plugin, so this runs before the pool closes.
      await running
    })
  },
  { name: 'spacex-sync', dependencies: ['database', 'metrics'] }
)
