import type pg from 'pg'

/** How busy a connection pool is: connections checked out, and requests queued for one. */
export interface PoolCounts {
  inUse: number
  waiting: number
}

export interface PoolUsage extends PoolCounts {
  /** How long the longest-waiting request has waited for a connection, in ms (0 when none waits). */
  longestWaitMs: number
}

export function poolCounts(...pools: pg.Pool[]): PoolCounts {
  return pools.reduce(
    (sum, pool) => ({ inUse: sum.inUse + pool.totalCount - pool.idleCount, waiting: sum.waiting + pool.waitingCount }),
    { inUse: 0, waiting: 0 }
  )
}
