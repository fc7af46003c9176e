import { createHash } from 'node:crypto'
import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely'
import type { Database } from '../database/schema.js'
import { HttpError } from '../errors/http-errors.js'

/** A retried request is answered from here for a day; after that its key may be used afresh. */
export const IDEMPOTENCY_TTL_HOURS = 24

/** A key sent again with another request: refused, the earlier answer stays the key's. */
export const idempotencyKeyReused = () =>
  new HttpError(422, 'IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was already used for a different request; use a new key for a new request')

export interface IdempotencyClaim {
  scope: string
  key: string
  /** Hash of what the request asked for, so a key reused for another request is refused. */
  requestHash: string
}

/** The hash that makes "the same request": method, path with query, and the parsed body. */
export function requestHash(method: string, url: string, body: unknown): string {
  return createHash('sha256').update(`${method} ${url}\n${JSON.stringify(body ?? null)}`).digest('base64url')
}

/**
 * Claims the key for this transaction, or returns the answer stored by the request that claimed it.
 * A concurrent request with the same key waits on the key's row until the first one commits (and
 * then gets its answer) or rolls back (and then claims the key itself), so one key makes one change.
 */
export async function claimIdempotencyKey(
  trx: Transaction<Database>,
  claim: IdempotencyClaim
): Promise<{ response: unknown } | undefined> {
  const claimed = await trx
    .insertInto('idempotency_keys')
    .values({ scope: claim.scope, key: claim.key, request_hash: claim.requestHash })
    .onConflict((conflict) =>
      conflict
        .columns(['scope', 'key'])
        .doUpdateSet({ request_hash: claim.requestHash, response: null, created_at: sql<Date>`now()` })
        .where('idempotency_keys.created_at', '<', sql<Date>`now() - make_interval(hours => ${IDEMPOTENCY_TTL_HOURS})`)
    )
    .returning('key')
    .executeTakeFirst()
  if (claimed) return undefined
  const earlier = await trx
    .selectFrom('idempotency_keys')
    .select(['request_hash', 'response'])
    .where('scope', '=', claim.scope)
    .where('key', '=', claim.key)
    .executeTakeFirstOrThrow()
  if (earlier.request_hash !== claim.requestHash) {
    throw idempotencyKeyReused()
  }
  return { response: earlier.response }
}

/** The idempotency part of a write's record statement (unit-of-work.ts): the answer a retry of the claimed key gets. */
export function storedAnswer(claim: IdempotencyClaim, response: unknown): RawBuilder<unknown> {
  return sql`update idempotency_keys set response = ${JSON.stringify(response)}::jsonb where scope = ${claim.scope} and key = ${claim.key}`
}

export async function pruneIdempotencyKeys(db: Kysely<Database>): Promise<number> {
  const result = await db
    .deleteFrom('idempotency_keys')
    .where('created_at', '<', sql<Date>`now() - make_interval(hours => ${IDEMPOTENCY_TTL_HOURS})`)
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}
