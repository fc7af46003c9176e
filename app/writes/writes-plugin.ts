import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'
import { ANONYMOUS, type Actor } from './actor.js'
import { pruneFeed } from './feed.js'
import { pruneIdempotencyKeys, requestHash } from './idempotency.js'
import { runWrite, type Change, type WriteOutcome } from './unit-of-work.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is asking; set by authentication, null while nobody is known. */
    actor: Actor | null
  }
  interface FastifyInstance {
    /** Runs `change` as the request's actor in the one write transaction (see unit-of-work.ts). */
    write<T>(request: FastifyRequest, change: Change<T>, options?: { idempotent?: boolean }): Promise<WriteOutcome<T>>
  }
}

/** The header clients send to make a retried write safe. */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key'

/** How often an instance deletes feed events and idempotency answers past their retention. */
const PRUNE_INTERVAL_MS = 10 * 60_000

function writeContext(request: FastifyRequest, idempotent: boolean) {
  const key = idempotent ? request.headers[IDEMPOTENCY_KEY_HEADER] : undefined
  return {
    actor: request.actor ?? ANONYMOUS,
    requestId: request.id,
    ip: request.ip,
    ...(typeof key === 'string' ? { idempotency: { key, requestHash: requestHash(request.method, request.url, request.body) } } : {})
  }
}

/**
 * Gives routes `app.write(request, change)`: the change runs with the request's actor, id and
 * address, and with its Idempotency-Key when the route accepts one. Also prunes the feed and the
 * stored answers past their retention while the server listens.
 */
export default fp(
  async (app) => {
    app.decorateRequest('actor', null)
    app.decorate('write', <T>(request: FastifyRequest, change: Change<T>, options: { idempotent?: boolean } = {}) =>
      runWrite(app.db, writeContext(request, options.idempotent ?? false), change)
    )

    let pruneTimer: NodeJS.Timeout | undefined
    const prune = async () => {
      try {
        const [events, keys] = [await pruneFeed(app.db), await pruneIdempotencyKeys(app.db)]
        if (events + keys > 0) app.log.info({ events, idempotencyKeys: keys }, 'pruned write records past their retention')
      } catch (error) {
        app.log.warn({ err: error }, 'pruning write records failed; retrying at the next interval')
      }
    }
    app.addHook('onListen', async () => {
      pruneTimer = setInterval(prune, PRUNE_INTERVAL_MS).unref()
    })
    app.addHook('onClose', async () => clearInterval(pruneTimer))
  },
  { name: 'writes', dependencies: ['database'] }
)
