import underPressure from '@fastify/under-pressure'
import fp from 'fastify-plugin'
import { serviceOverloaded } from '../errors/http-errors.js'

export interface LoadSheddingOptions {
  /** Shed while a request has waited this long for a database connection; 0: never. */
  poolWaitMs: number
  /** Shed while the event loop lags this much; 0: never. */
  eventLoopDelayMs: number
}

/** How often the pool's queue is looked at. */
const CHECK_INTERVAL_MS = 250
/** At most one log line per shedding episode of this length. */
const LOG_EVERY_MS = 5000

/**
 * Answers 503 SERVICE_OVERLOADED with Retry-After at once, instead of queueing, while the
 * database has stopped handing out connections (it hangs, or cannot keep up) or the event loop
 * lags: requests then fail in milliseconds rather than each waiting out its timeouts, and the
 * queue cannot grow without bound. /health is never shed: it reports the database itself.
 */
export default fp<LoadSheddingOptions>(
  async (app, { poolWaitMs, eventLoopDelayMs }) => {
    const usage = app.database.poolUsage
    const watchPool = poolWaitMs > 0 && usage !== undefined
    // The embedded database runs its queries on the event loop: there, delay is not overload.
    const watchEventLoop = eventLoopDelayMs > 0 && app.database.kind === 'postgres'
    if (!watchPool && !watchEventLoop) return
    let loggedAt = -Infinity
    await app.register(underPressure, {
      maxEventLoopDelay: watchEventLoop ? eventLoopDelayMs : 0,
      ...(watchPool && {
        healthCheck: async () => usage().longestWaitMs < poolWaitMs,
        healthCheckInterval: CHECK_INTERVAL_MS
      }),
      // Resolving lets the request through; rejecting hands the 503 to the error handler.
      pressureHandler: async (request, _reply, type, value) => {
        if (request.routeOptions.url === '/health') return
        if (performance.now() - loggedAt > LOG_EVERY_MS) {
          loggedAt = performance.now()
          request.log.warn({ pressure: type, value, pool: usage?.() }, 'shedding load')
        }
        throw serviceOverloaded()
      }
    })
  },
  { name: 'load-shedding', dependencies: ['database'] }
)
