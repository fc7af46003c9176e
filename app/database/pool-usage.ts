import type pg from 'pg'

/** How busy a connection pool is: connections checked out, and requests queued for one. */
export interface PoolUsage {
  inUse: number
  waiting: number
}

export function poolUsage(...pools: pg.Pool[]): PoolUsage {
  return pools.reduce(
    (sum, pool) => ({ inUse: sum.inUse + pool.totalCount - pool.idleCount, waiting: sum.waiting + pool.waitingCount }),
    { inUse: 0, waiting: 0 }
  )
}
