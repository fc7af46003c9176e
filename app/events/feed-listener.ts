import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyBaseLogger } from 'fastify'
import { sql, type Kysely } from 'kysely'
import type { DatabaseHandle, Listening } from '../database/database.js'
import type { ChangeEventType, Database } from '../database/schema.js'
import { FEED_CHANNEL, feedHorizon } from '../writes/feed.js'

/** One change_events row, as subscribers receive it. */
export interface StoredFeedEvent {
  id: number
  type: ChangeEventType
  payload: Record<string, unknown>
  createdAt: string
}

/** What the events plugin decorates the app with (`app.changeFeed`). */
export interface ChangeFeed {
  /** Every event committed from now on, once each, in id order; returns the unsubscribe function. */
  subscribe(listener: (event: StoredFeedEvent) => void): () => void
  /**
   * The id of the last event delivered to subscribers (the feed's horizon when the app started):
   * every event up to it is final, so a replay from the table may read up to it.
   */
  lastEventId(): number
  /**
   * Called after the LISTEN session was lost and is back (the events it missed are delivered
   * right before): whatever was derived from the database while nobody listened may be stale.
   */
  onReconnect(listener: () => void): () => void
}

/** Rows per catch-up query: a long outage replays in pages, never one unbounded result. */
const PAGE_SIZE = 500
/** How often the LISTEN session is asked `select 1`: a connection dead without a FIN never errors. */
const PING_INTERVAL_MS = 30_000
const PING_TIMEOUT_MS = 5_000
/**
 * How often the feed is read without a notification. Writers notify after their commit, in a
 * statement of their own (notifyCommitted): one that fails, or a process that ends between the
 * two, leaves committed events nobody was told about. This bounds how late they are delivered.
 */
const SWEEP_INTERVAL_MS = 5_000
const BACKOFF = { firstMs: 100, maxMs: 10_000 }

/** 100 ms, 200 ms, 400 ms … up to 10 s, each between half and all of that (instances reconnect spread out). */
export function reconnectDelayMs(attempt: number, random = Math.random): number {
  const ceiling = Math.min(BACKOFF.firstMs * 2 ** attempt, BACKOFF.maxMs)
  return Math.round(ceiling * (0.5 + random() / 2))
}

/** Events after `afterId` up to `throughId` (a feedHorizon: none later can appear below it), oldest first, at most `limit`. */
export async function feedEventsAfter(db: Kysely<Database>, afterId: number, throughId: number, limit: number): Promise<StoredFeedEvent[]> {
  const rows = await db
    .selectFrom('change_events')
    .select(['type', 'payload', sql<string>`id::text`.as('id'), 'created_at'])
    .where('change_events.id', '>', sql<string>`${afterId}::bigint`)
    .where('change_events.id', '<=', sql<string>`${throughId}::bigint`)
    // The table's column: plain `id` would be the text alias above, and "10" sorts before "9".
    .orderBy('change_events.id')
    .limit(limit)
    .execute()
  return rows.map((row) => ({
    id: Number(row.id),
    type: row.type,
    payload: row.payload as Record<string, unknown>,
    createdAt: new Date(row.created_at).toISOString()
  }))
}

/** The oldest and newest ids the feed still holds (0 and 0 when it is empty). */
export async function feedBounds(db: Kysely<Database>): Promise<{ oldest: number; newest: number }> {
  const row = await db
    .selectFrom('change_events')
    .select([sql<string>`coalesce(min(id), 0)::text`.as('oldest'), sql<string>`coalesce(max(id), 0)::text`.as('newest')])
    .executeTakeFirstOrThrow()
  return { oldest: Number(row.oldest), newest: Number(row.newest) }
}

/**
 * The instance's one LISTEN session on the change feed, turned into an in-process emitter.
 * A notification only says "something up to id N committed": the events themselves are read from
 * change_events after the last id delivered, up to the feed's horizon (see feedHorizon: a later id
 * can commit before an earlier one), so a notification lost while the session was down
 * (PostgreSQL never queues them for a session that is not listening) costs nothing: after a
 * reconnect, with jittered backoff, the same query replays everything missed, in order.
 */
export class FeedListener implements ChangeFeed {
  readonly #database: DatabaseHandle
  readonly #log: FastifyBaseLogger
  readonly #subscribers = new Set<(event: StoredFeedEvent) => void>()
  readonly #reconnectListeners = new Set<() => void>()
  #lastId = 0
  #listening: Listening | undefined
  #closed = false
  readonly #closing = new AbortController()
  /** The catch-up in progress; `#behind` asks it for another round (a notification came meanwhile). */
  #catchingUp: Promise<void> | undefined
  #behind = false
  #reconnecting: Promise<void> | undefined
  #pingTimer: NodeJS.Timeout | undefined
  #sweepTimer: NodeJS.Timeout | undefined

  constructor(database: DatabaseHandle, log: FastifyBaseLogger) {
    this.#database = database
    this.#log = log
  }

  /** Starts at the feed's current end: subscribers get what commits from now on. */
  async start(): Promise<void> {
    this.#lastId = await feedHorizon(this.#database.db)
    this.#listening = await this.#listen()
    this.#pingTimer = setInterval(() => void this.#ping(), PING_INTERVAL_MS).unref()
    // While the session is away, the reconnect's own catch-up reads what was missed.
    this.#sweepTimer = setInterval(() => {
      if (this.#listening) void this.#catchUp()
    }, SWEEP_INTERVAL_MS).unref()
    // A write that committed between reading the end and LISTEN taking effect notified nobody.
    this.#catchUp()
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#closing.abort()
    clearInterval(this.#pingTimer)
    clearInterval(this.#sweepTimer)
    await this.#listening?.close()
    await this.#reconnecting
    await this.#catchingUp
  }

  subscribe(listener: (event: StoredFeedEvent) => void): () => void {
    this.#subscribers.add(listener)
    return () => void this.#subscribers.delete(listener)
  }

  onReconnect(listener: () => void): () => void {
    this.#reconnectListeners.add(listener)
    return () => void this.#reconnectListeners.delete(listener)
  }

  lastEventId(): number {
    return this.#lastId
  }

  /** A LISTEN session; one lost before it was even handed over counts as a failed attempt. */
  async #listen(): Promise<Listening> {
    let session: Listening | undefined
    let lostEarly: Error | undefined
    session = await this.#database.listen(
      FEED_CHANNEL,
      (payload) => {
        if (Number(payload) > this.#lastId) this.#catchUp()
      },
      (error) => {
        if (session === undefined) lostEarly = error
        else if (session === this.#listening) this.#lost(error)
      }
    )
    if (lostEarly) {
      await session.close()
      throw lostEarly
    }
    return session
  }

  /** Reads and delivers everything after the last id; one at a time, re-run while notifications arrive. */
  #catchUp(): Promise<void> {
    this.#behind = true
    this.#catchingUp ??= this.#runCatchUp()
    return this.#catchingUp
  }

  async #runCatchUp(): Promise<void> {
    try {
      while (this.#behind && !this.#closed) {
        this.#behind = false
        try {
          const horizon = await feedHorizon(this.#database.db)
          let page: StoredFeedEvent[]
          do {
            page = await feedEventsAfter(this.#database.db, this.#lastId, horizon, PAGE_SIZE)
            for (const event of page) this.#deliver(event)
          } while (page.length === PAGE_SIZE && !this.#closed)
        } catch (error) {
          if (this.#closed) return
          // The database is away: try again after a pause (a reconnect, if LISTEN went too, waits for this).
          this.#log.warn({ err: error, lastEventId: this.#lastId }, 'reading the change feed failed; retrying')
          this.#behind = true
          await sleep(reconnectDelayMs(4), undefined, { signal: this.#closing.signal }).catch(() => undefined)
        }
      }
    } finally {
      // In the same step as the loop's last check: a notification can never find a finished run here.
      this.#catchingUp = undefined
    }
  }

  #deliver(event: StoredFeedEvent): void {
    if (event.id <= this.#lastId) return
    this.#lastId = event.id
    for (const subscriber of this.#subscribers) {
      try {
        subscriber(event)
      } catch (error) {
        this.#log.error({ err: error, eventId: event.id }, 'a change feed subscriber failed')
      }
    }
  }

  async #ping(): Promise<void> {
    const listening = this.#listening
    if (!listening || this.#closed) return
    try {
      await listening.ping(PING_TIMEOUT_MS)
    } catch (error) {
      if (this.#listening === listening) this.#lost(error as Error)
    }
  }

  #lost(error: Error): void {
    if (this.#closed) return
    const broken = this.#listening
    this.#listening = undefined
    void broken?.close()
    // A session lost while reconnecting (during its catch-up): the running loop sees it and goes on.
    if (this.#reconnecting) return
    this.#log.warn({ err: error, lastEventId: this.#lastId }, 'the change feed LISTEN connection was lost; reconnecting')
    this.#reconnecting = this.#reconnect().finally(() => {
      this.#reconnecting = undefined
    })
  }

  async #reconnect(): Promise<void> {
    const lostAt = performance.now()
    for (let attempt = 0; !this.#closed; attempt++) {
      await sleep(reconnectDelayMs(attempt), undefined, { signal: this.#closing.signal }).catch(() => undefined)
      if (this.#closed) return
      let listening: Listening
      try {
        // Through the pool first: a rotated password is re-read there (RotatingPool), and the
        // LISTEN connection then opens with the new one.
        await this.#database.ping(PING_TIMEOUT_MS)
        listening = await this.#listen()
        if (this.#closed) {
          await listening.close()
          return
        }
        this.#listening = listening
      } catch (error) {
        this.#log.debug({ err: error, attempt }, 'reconnecting the change feed failed')
        continue
      }
      // LISTEN is back before the table is read: whatever commits from here is notified.
      await this.#catchUp()
      // Lost again meanwhile (#lost left it to this loop).
      if (this.#listening !== listening) continue
      this.#log.info({ lastEventId: this.#lastId, downMs: Math.round(performance.now() - lostAt) }, 'the change feed is listening again')
      for (const listener of this.#reconnectListeners) {
        try {
          listener()
        } catch (error) {
          this.#log.error({ err: error }, 'a change feed reconnect listener failed')
        }
      }
      return
    }
  }
}
