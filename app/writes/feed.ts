import { sql, type Kysely, type Transaction } from 'kysely'
import type { ChangeEventType, Database } from '../database/schema.js'

/** The channel every instance LISTENs on; the payload is the id of the newest event committed. */
export const FEED_CHANNEL = 'mission_control_changes'

/**
 * Serialises the last step of every write. Identity values are handed out when a row is inserted,
 * not when it commits, so two writers could otherwise commit ids 8 and 7 in that order, and a reader
 * resuming "after 8" would never see 7. Holding this lock from the feed insert to the commit makes
 * ids commit in order. Any constant shared by all instances works.
 */
const FEED_LOCK_KEY = 7_231_604_401

/** What changed, as readers see it: a `launch` (scheduled, aborted, synced), a `sync`, the `planets`. */
export interface FeedEvent {
  type: ChangeEventType
  payload: Record<string, unknown>
}

/** Appends a write's events to the feed and notifies listeners; call it last, just before commit. */
export async function appendToFeed(trx: Transaction<Database>, events: FeedEvent[]): Promise<void> {
  if (events.length === 0) return
  await sql`select pg_advisory_xact_lock(${FEED_LOCK_KEY})`.execute(trx)
  const rows = await trx
    .insertInto('change_events')
    .values(events.map((event) => ({ type: event.type, payload: JSON.stringify(event.payload) })))
    .returning(sql<string>`id::text`.as('id'))
    .execute()
  const newest = rows.map((row) => BigInt(row.id)).reduce((a, b) => (a > b ? a : b))
  // Delivered when the transaction commits, never if it rolls back.
  await sql`select pg_notify(${FEED_CHANNEL}, ${newest.toString()})`.execute(trx)
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
