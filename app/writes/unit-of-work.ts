// The one transaction every write runs in: the change, its audit rows, its change-feed events and,
// for a request sent with an Idempotency-Key, its stored answer. They commit together or not at all.
import type { Kysely, Transaction } from 'kysely'
import type { Database } from '../database/schema.js'
import { idempotencyScope, type Actor } from './actor.js'
import { recordAudit, type AuditEntry } from './audit.js'
import { appendToFeed, type FeedEvent } from './feed.js'
import { claimIdempotencyKey, storeIdempotentResponse } from './idempotency.js'

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
  return db.transaction().execute(async (trx) => {
    if (claim) {
      const earlier = await claimIdempotencyKey(trx, claim)
      if (earlier) return { result: earlier.response as T, replayed: true }
    }
    const record = await change(trx)
    await recordAudit(trx, context, record.audit ?? [])
    if (claim) await storeIdempotentResponse(trx, claim, record.result)
    // Last: the feed lock is held from here to the commit (see feed.ts).
    await appendToFeed(trx, record.events ?? [])
    return { result: record.result, replayed: false }
  })
}
