import fp from 'fastify-plugin'
import type { Kysely } from 'kysely'
import type { DatabaseHandle } from './database.js'
import type { Database } from './schema.js'

declare module 'fastify' {
  interface FastifyInstance {
    db: Kysely<Database>
    database: DatabaseHandle
  }
}

/**
 * Owns the database handle: exposes it to the routes, reports its pool's load as metrics, and
 * closes it last, when the app closes.
 */
export default fp<{ database: DatabaseHandle }>(
  async (app, { database }) => {
    app.decorate('database', database)
    app.decorate('db', database.db)
    const { poolUsage } = database
    if (poolUsage) {
      app.metrics.gauge('DbPoolInUse', () => poolUsage().inUse)
      app.metrics.gauge('DbPoolWaiting', () => poolUsage().waiting)
    }
    app.addHook('onClose', async () => {
      await database.destroy()
    })
  },
  { name: 'database', dependencies: ['metrics'] }
)
