import { sql, type Kysely, type RawBuilder } from 'kysely'
import type { ChangeEventType, Database } from '../database/schema.js'

/** The channel every instance LISTENs on; the payload is the id of the newest event committed (notifyCommitted). */
export const FEED_CHANNEL = 'mission_control_changes'

/**
 * Identity values are handed out when a row is inserted, not when it commits: two writers can
 * commit ids 8 and 7 in that order, and a reader resuming "after 8" would never see 7. Writers
 * hold this lock shared from their feed insert to their commit, so they still commit side by side
 * (and PostgreSQL flushes their commits together); a reader takes it exclusively for an instant
 * (feedHorizon) to learn up to which id nothing is still in flight. Any constant shared by all
 * instances works.
 */
const FEED_LOCK_KEY = 7_231_604_401

/** What changed, as readers see it: a `launch` (scheduled, aborted, synced), a `sync`, the `planets`. */
export interface FeedEvent {
  type: ChangeEventType
  payload: Record<string, unknown>
}

/**
 * The feed's part of a write's record statement (unit-of-work.ts): inserts the events, oldest
 * first, returning their ids; name it `appended` and end the statement with NEWEST_APPENDED. It
 * must be the transaction's last statement: a reader's feedHorizon waits for it from here to the
 * commit. The lock sits in FROM, so it is taken before the rows (and their ids) exist; OFFSET 0
 * keeps the planner from dropping the call, whose result nothing reads.
 */
export function appendedEvents(events: FeedEvent[]): RawBuilder<{ id: string }> {
  const rows = JSON.stringify(events.map((event) => ({ type: event.type, payload: event.payload })))
  return sql`
    insert into change_events (type, payload)
    select event ->> 'type', event -> 'payload'
    from (select pg_advisory_xact_lock_shared(${FEED_LOCK_KEY}) offset 0) as feed_lock,
         jsonb_array_elements(${rows}::jsonb) with ordinality as appending(event, position)
    order by position
    returning id`
}

/** The id to notify once the write commits (notifyCommitted). */
export const NEWEST_APPENDED = sql<{ newest: string }>`select max(id)::text as newest from appended`

/**
 * Tells every instance's LISTEN session that events up to an id committed; sent after the commit,
 * in a statement of its own. A transaction that NOTIFYs holds PostgreSQL's notify lock from then
 * through its commit, so such commits, and their WAL flushes, happen one at a time across every
 * instance: NOTIFY inside each write capped writes per second at one flush each. Here the lock is
 * held for an instant, and commits flush together again. One notification at a time per database
 * handle: what commits while one is being sent rides on the next, which carries the newest id.
 */
class FeedNotifier {
  readonly #db: Kysely<Database>
  #newest = 0
  #sent = 0
  #sending: Promise<void> | undefined

  constructor(db: Kysely<Database>) {
    this.#db = db
  }

  /** Resolves once a notification carrying `id`, or a later one, was sent; rejects when one could not be. */
  async committed(id: number): Promise<void> {
    this.#newest = Math.max(this.#newest, id)
    while (this.#sent < id) {
      this.#sending ??= this.#send().finally(() => {
        this.#sending = undefined
      })
      await this.#sending
    }
  }

  async #send(): Promise<void> {
    const newest = this.#newest
    await sql`select pg_notify(${FEED_CHANNEL}, ${String(newest)})`.execute(this.#db)
    this.#sent = Math.max(this.#sent, newest)
  }
}

/** The notifier of each database handle (the service's pool, a CLI's), made on its first write. */
const notifiers = new WeakMap<Kysely<Database>, FeedNotifier>()

/**
 * Notifies listeners of events committed up to `id`. Should it fail (the database away right
 * after the commit, or the process ending first), the events are not lost, only late: every
 * listener also reads the feed every few seconds (FeedListener's sweep).
 */
export function notifyCommitted(db: Kysely<Database>, id: number): Promise<void> {
  let notifier = notifiers.get(db)
  if (!notifier) {
    notifier = new FeedNotifier(db)
    notifiers.set(db, notifier)
  }
  return notifier.committed(id)
}

/**
 * An id up to which every event is final: committed (and visible from now on) or rolled back.
 * Read events only up to it, in id order, and none is ever skipped. Every id at or below the
 * newest the statement sees was handed out before the statement began (the identity caches no
 * values, so ids are handed out in time order), to a writer holding the
 * lock shared; by the time the exclusive lock is granted (within the same statement) all such
 * writers have finished. Writers arriving meanwhile wait for those and this one statement.
 */
export async function feedHorizon(db: Kysely<Database>): Promise<number> {
  const { rows } = await sql<{ horizon: string }>`
    select coalesce((select max(id) from change_events), 0)::text as horizon, pg_advisory_xact_lock(${FEED_LOCK_KEY})`.execute(db)
  return Number(rows[0]!.horizon)
}

/** Events are kept at least a day, and the newest 10,000 whatever their age (for Last-Event-ID replay). */
export const FEED_RETENTION = { hours: 24, newest: 10_000 }

export async function pruneFeed(db: Kysely<Database>): Promise<number> {
  const result = await db
    .deleteFrom('change_events')
    .where('created_at', '<', sql<Date>`now() - make_interval(hours => ${FEED_RETENTION.hours})`)
    .where(sql<boolean>`id <= (select max(id) from change_events) - ${FEED_RETENTION.newest}`)
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}
