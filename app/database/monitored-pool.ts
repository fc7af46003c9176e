import type { PostgresPool, PostgresPoolClient } from 'kysely'
import type { PoolCounts, PoolUsage } from './pool-usage.js'

/**
 * A pool facade that knows who is waiting for a connection and since when. A queue whose oldest
 * request has waited past a second means the database has stopped answering (or cannot keep
 * up): the service sheds load on it instead of queueing requests until each one times out.
 * Opening a connection is not queueing: a slow one is the connect timeout's business.
 */
export class MonitoredPool implements PostgresPool {
  readonly #pool: PostgresPool
  /** Connections in use, and connect() calls the pool holds in its queue (all connections busy). */
  readonly #counts: () => PoolCounts
  /** Start times of the pending connect() calls, oldest first (a Set keeps insertion order). */
  readonly #waitingSince = new Set<{ since: number }>()

  constructor(pool: PostgresPool, counts: () => PoolCounts) {
    this.#pool = pool
    this.#counts = counts
  }

  get options(): object {
    return this.#pool.options
  }

  async connect(): Promise<PostgresPoolClient> {
    const waiter = { since: performance.now() }
    this.#waitingSince.add(waiter)
    try {
      return await this.#pool.connect()
    } finally {
      this.#waitingSince.delete(waiter)
    }
  }

  end(): Promise<void> {
    return this.#pool.end()
  }

  usage(): PoolUsage {
    const counts = this.#counts()
    // The queued calls are the oldest pending ones: those still opening a connection came later.
    const oldest = counts.waiting > 0 ? this.#waitingSince.values().next().value : undefined
    return { ...counts, longestWaitMs: oldest ? performance.now() - oldest.since : 0 }
  }
}
