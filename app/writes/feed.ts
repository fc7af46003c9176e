import { sql, type Kysely, type RawBuilder } from 'kysely'
import type { ChangeEventType, Database } from '../database/schema.js'

/** The channel every instance LISTENs on; the payload is the id of the newest event committed. */
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
 * first, returning their ids; name it `appended` and end the statement with NOTIFY_APPENDED. It
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

/** Notifies every listener of the newest id appended; delivered when the transaction commits, never if it rolls back. */
export const NOTIFY_APPENDED = sql`select pg_notify(${FEED_CHANNEL}, max(id)::text) from appended`

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
