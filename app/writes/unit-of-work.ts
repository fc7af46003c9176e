// The one transaction every write runs in: the change, its audit rows, its change-feed events and,
// for a request sent with an Idempotency-Key, its stored answer. They commit together or not at all;
// then every instance's change feed is notified.
import { sql, type Kysely, type Transaction } from 'kysely'
import type { Database } from '../database/schema.js'
import { idempotencyScope, type Actor } from './actor.js'
import { auditRows, type AuditEntry } from './audit.js'
import { appendedEvents, NEWEST_APPENDED, notifyCommitted, type FeedEvent } from './feed.js'
import { claimIdempotencyKey, storedAnswer, type IdempotencyClaim } from './idempotency.js'

export interface WriteContext {
  actor: Actor
  requestId?: string
  /** The client's address as the service trusts it (behind the load balancer and nginx). */
  ip?: string
  /** The request's Idempotency-Key and the hash of what it asked for. */
  idempotency?: { key: string; requestHash: string }
}

/** What a change returns: its result (what the caller answers with) and what it must leave on record. */
export interface WriteRecord<T> {
  result: T
  audit?: AuditEntry[]
  events?: FeedEvent[]
}

export type Change<T> = (trx: Transaction<Database>) => Promise<WriteRecord<T>>

export interface WriteOutcome<T> {
  result: T
  /** True when the answer is the stored one of an earlier request with the same Idempotency-Key. */
  replayed: boolean
}

export async function runWrite<T>(db: Kysely<Database>, context: WriteContext, change: Change<T>): Promise<WriteOutcome<T>> {
  const claim = context.idempotency && { scope: idempotencyScope(context.actor), ...context.idempotency }
  const { outcome, newestEvent } = await db.transaction().execute(async (trx) => {
    if (claim) {
      const earlier = await claimIdempotencyKey(trx, claim)
      if (earlier) return { outcome: { result: earlier.response as T, replayed: true } }
    }
    const record = await change(trx)
    const newestEvent = await recordWrite(trx, context, record, claim)
    return { outcome: { result: record.result, replayed: false }, newestEvent }
  })
  if (newestEvent !== undefined) {
    // The write stands whatever happens to the notification: listeners' sweeps find its events.
    await notifyCommitted(db, newestEvent).catch(() => undefined)
  }
  return outcome
}

/**
 * What a change leaves on record, in one statement (one round trip to the database where it took
 * three): its audit rows, its stored answer and its feed events. Last in the transaction: the feed
 * lock is held from here to the commit (see feed.ts). Returns the newest event's id, to notify once
 * committed.
 */
async function recordWrite<T>(
  trx: Transaction<Database>,
  context: WriteContext,
  record: WriteRecord<T>,
  claim: IdempotencyClaim | undefined
): Promise<number | undefined> {
  const audit = record.audit ?? []
  const events = record.events ?? []
  const parts = [
    ...(audit.length > 0 ? [sql`audited as (${auditRows(context, audit)})`] : []),
    ...(claim ? [sql`answered as (${storedAnswer(claim, record.result)})`] : []),
    ...(events.length > 0 ? [sql`appended as (${appendedEvents(events)})`] : [])
  ]
  if (parts.length === 0) return undefined
  // Every data-modifying WITH part runs to completion, whether the final select reads it or not.
  const newest = events.length > 0 ? NEWEST_APPENDED : sql`select null::text as newest`
  const { rows } = await sql<{ newest: string | null }>`with ${sql.join(parts)} ${newest}`.execute(trx)
  return rows[0]?.newest == null ? undefined : Number(rows[0].newest)
}
