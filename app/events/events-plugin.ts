import fp from 'fastify-plugin'
import { FeedListener, type ChangeFeed } from './feed-listener.js'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Every change committed on any instance, from this instance's one LISTEN session: what
     * GET /v1/events streams and what keeps per-instance caches coherent (clear on each event
     * and on reconnect).
     */
    changeFeed: ChangeFeed
  }
}

/**
 * Listens to the change feed (app/writes/feed.ts) from start to close. The app fails to start
 * when the feed cannot be read, like any other database failure at start.
 */
export default fp(
  async (app) => {
    const listener = new FeedListener(app.database, app.log.child({ component: 'change-feed' }))
    await listener.start()
    app.decorate('changeFeed', {
      subscribe: (subscriber) => listener.subscribe(subscriber),
      lastEventId: () => listener.lastEventId(),
      onReconnect: (subscriber) => listener.onReconnect(subscriber)
    } satisfies ChangeFeed)
    // Registered after the database plugin, so this runs before the pool closes.
    app.addHook('onClose', () => listener.close())
  },
  { name: 'events', dependencies: ['database'] }
)
