import { once } from 'node:events'
import { PassThrough } from 'node:stream'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { feedBounds, feedEventsAfter, type StoredFeedEvent } from './feed-listener.js'
import { eventsResponses, eventStreamsFull, EventsHeadersSchema, EventsQuerySchema } from './events-schemas.js'

export interface EventsRoutesOptions {
  /** Open streams this instance serves; past it 503 EVENT_STREAMS_FULL. */
  maxStreams: number
  heartbeatMs: number
}

/** What EventSource waits before reconnecting a stream that broke. */
const RETRY_MS = 3000
/** After a shutdown: 1–3 s, spread so a whole instance's clients do not land on the others at once. */
const shutdownRetryMs = () => 1000 + Math.round(Math.random() * 2000)
/** A client this far behind is cut off; it reconnects with Last-Event-ID and catches up from the table. */
const MAX_BUFFERED_BYTES = 1024 * 1024
const REPLAY_PAGE_SIZE = 500

/** Each event is formatted once, whatever the number of streams it goes to. */
const formatted = new WeakMap<StoredFeedEvent, string>()

export function formatEvent(event: StoredFeedEvent): string {
  let text = formatted.get(event)
  if (text === undefined) {
    text = `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event.payload)}\n\n`
    formatted.set(event, text)
  }
  return text
}

/** A feed id, or undefined for anything else (a client sending an id of some other origin). */
function parseFeedId(value: string | undefined): number | undefined {
  return value !== undefined && /^[0-9]{1,15}$/.test(value) ? Number(value) : undefined
}

interface Stream {
  end(retryMs: number): void
  write(text: string): void
}

/**
 * GET /v1/events: the change feed as Server-Sent Events. Every stream is a subscriber of the
 * instance's one LISTEN session (app.changeFeed), so 1,000 browsers cost 1,000 sockets and no
 * database connection. Streams end at once when the instance starts draining, with a `retry:`
 * hint, so shutdown never waits for them and clients reconnect to another instance.
 */
const eventsRoutes: FastifyPluginAsyncTypebox<EventsRoutesOptions> = async (app, { maxStreams, heartbeatMs }) => {
  const streams = new Set<Stream>()
  let draining = false
  app.metrics.gauge('EventStreamsOpen', () => streams.size)

  const heartbeat = setInterval(() => {
    for (const stream of streams) stream.write(': heartbeat\n\n')
  }, heartbeatMs).unref()
  app.onDraining(() => {
    draining = true
    clearInterval(heartbeat)
    for (const stream of streams) stream.end(shutdownRetryMs())
  })

  app.get(
    '/events',
    {
      // A HEAD would open a stream it cannot read.
      exposeHeadRoute: false,
      schema: {
        summary: 'Live changes from every instance, as Server-Sent Events',
        querystring: EventsQuerySchema,
        headers: EventsHeadersSchema,
        response: eventsResponses
      },
      config: { access: 'public', longLived: true }
    },
    async (request, reply) => {
      reply.header('content-type', 'text/event-stream').header('cache-control', 'no-cache').header('x-accel-buffering', 'no')
      // Reconnects during a shutdown are sent on at once (a 503 would make EventSource give up).
      if (draining) return reply.send(`retry: ${shutdownRetryMs()}\n\n`)
      if (streams.size >= maxStreams) throw eventStreamsFull()

      const resumeFrom = request.headers['last-event-id'] ?? request.query.lastEventId
      const body = new PassThrough()
      /** The id of the last event sent: nothing at or before it is sent again. */
      let position = 0
      /** Live events that arrive while the replay reads the table. */
      let held: StoredFeedEvent[] | undefined
      let ended = false
      const response = reply.raw
      const stream: Stream = {
        write(text) {
          if (ended) return
          // The replay waits for the client between pages instead (see replay()).
          if (held === undefined && body.writableLength + response.writableLength > MAX_BUFFERED_BYTES) {
            request.log.info({ position }, 'event stream client too slow; ending its stream')
            return stream.end(RETRY_MS)
          }
          body.write(text)
        },
        end(retryMs) {
          if (ended) return
          body.end(`retry: ${retryMs}\n\n`)
          close()
        }
      }
      const send = (event: StoredFeedEvent) => {
        if (event.id <= position) return
        position = event.id
        stream.write(formatEvent(event))
      }
      const unsubscribe = app.changeFeed.subscribe((event) => (held ? held.push(event) : send(event)))
      const close = () => {
        ended = true
        unsubscribe()
        streams.delete(stream)
      }
      response.once('close', close)
      streams.add(stream)

      if (resumeFrom === undefined) {
        // From now on; the id makes a reconnect resume here, so nothing falls between two streams.
        position = app.changeFeed.lastEventId()
        body.write(`retry: ${RETRY_MS}\nid: ${position}\n\n`)
      } else {
        // The first byte goes out now (proxies and browsers see the stream open); the replay follows.
        body.write(`retry: ${RETRY_MS}\n\n`)
        held = []
        void replay(parseFeedId(resumeFrom)).catch((error: unknown) => {
          request.log.warn({ err: error }, 'replaying the change feed failed; ending the stream')
          stream.end(RETRY_MS)
        })
      }

      /**
       * Everything after `after` from the table, then the live events held meanwhile (the
       * subscription came first, so nothing committed in between is lost; `position` drops
       * what both delivered).
       */
      async function replay(after: number | undefined): Promise<void> {
        const { oldest, newest } = await feedBounds(app.db)
        // Everything up to it is final and was delivered live here; later events are in `held`.
        const delivered = app.changeFeed.lastEventId()
        if (after === undefined || after < oldest - 1 || after > newest) {
          // Pruned (older than the feed keeps), or from another database: only a refetch is right.
          position = delivered
          stream.write(`id: ${delivered}\nevent: reset\ndata: {}\n\n`)
        } else {
          position = after
          let page: StoredFeedEvent[]
          do {
            page = await feedEventsAfter(app.db, position, delivered, REPLAY_PAGE_SIZE)
            for (const event of page) send(event)
            if (body.writableNeedDrain && !ended) await Promise.race([once(body, 'drain'), once(response, 'close')])
          } while (page.length === REPLAY_PAGE_SIZE && !ended)
        }
        const live = held ?? []
        held = undefined
        for (const event of live) send(event)
      }

      // The schema documents the stream as text; Fastify sends a stream body as it is written.
      return reply.send(body as unknown as string)
    }
  )
}
export default eventsRoutes
