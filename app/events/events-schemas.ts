import { Type } from 'typebox'
import { commonErrorResponses, errorResponse } from '../errors/error-schema.js'
import { databaseUnavailable, HttpError, serviceOverloaded } from '../errors/http-errors.js'

/** Seconds a client refused by the stream cap waits: long enough for the load balancer to pick another instance. */
const STREAMS_FULL_RETRY_AFTER_SECONDS = 5

export const eventStreamsFull = () =>
  new HttpError(503, 'EVENT_STREAMS_FULL', 'This instance serves as many event streams as it may, try again shortly', undefined, STREAMS_FULL_RETRY_AFTER_SECONDS)

const EVENT_STREAM_DESCRIPTION = [
  'Server-Sent Events. It opens with `retry: <ms>` (and `id: <position>` without `Last-Event-ID`), then one message',
  'per change committed on any instance: `id: <feed id>`, `event: launch | sync | planets`, `data: <JSON>`.',
  '`launch` data is `{ "change": "scheduled" | "aborted" | "synced", "launch": <as GET /v1/launches/{id} returns it> }`;',
  '`sync` carries the SpaceX sync counts, `planets` the catalogue import summary.',
  'With `Last-Event-ID` every event after it is sent first; when it is older than the feed keeps (24 h or the',
  'newest 10,000), `event: reset` with `data: {}` says to refetch everything. `: heartbeat` comments keep idle',
  'streams open. When the instance shuts down the stream ends after a `retry:` hint: reconnect with `Last-Event-ID`.'
].join(' ')

export const EventsQuerySchema = Type.Object({
  lastEventId: Type.Optional(
    Type.String({ maxLength: 64, description: 'The same as the `Last-Event-ID` header, for clients that cannot set headers' })
  )
})

export const EventsHeadersSchema = Type.Object({
  'last-event-id': Type.Optional(
    Type.String({ maxLength: 64, description: 'The last feed id the client received; anything that is not one gets `reset`' })
  )
})

export const eventsResponses = {
  200: {
    description: 'The event stream',
    headers: { 'cache-control': Type.String({ description: '`no-cache`' }) },
    content: { 'text/event-stream': { schema: Type.String({ description: EVENT_STREAM_DESCRIPTION }) } }
  },
  ...commonErrorResponses,
  503: errorResponse(eventStreamsFull(), databaseUnavailable(), serviceOverloaded())
}
