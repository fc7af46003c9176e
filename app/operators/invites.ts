// One-time links: 'setup' (the first admin, offered at start while no operator exists) and
// 'invite' (an operator an admin created chooses a password). Only the sha256 of the token is
// stored, so any instance accepts a link another one logged or handed out.
import { sql, type Kysely } from 'kysely'
import type { Database } from '../database/schema.js'
import { HttpError } from '../errors/http-errors.js'
import { randomSecret, secretHash } from '../auth/secrets.js'

export const LINK_LIFETIME_HOURS = 24
/** Setup links are redeemed one at a time, so two at once can never create two first admins. */
const SETUP_LOCK_KEY = 7_231_604_402

export const setupLinkInvalid = (reason: string) => new HttpError(403, 'SETUP_LINK_INVALID', reason)
export const inviteLinkInvalid = (reason: string) => new HttpError(403, 'INVITE_LINK_INVALID', reason)

export async function createLink(
  db: Kysely<Database>,
  link: { purpose: 'setup' | 'invite'; operatorId?: number; createdBy?: number }
): Promise<{ token: string; expiresAt: Date }> {
  const token = randomSecret()
  const { expires_at } = await db
    .insertInto('operator_invites')
    .values({
      token_hash: secretHash(token),
      purpose: link.purpose,
      operator_id: link.operatorId ?? null,
      created_by: link.createdBy ?? null,
      expires_at: sql<Date>`now() + make_interval(hours => ${LINK_LIFETIME_HOURS})`
    })
    .returning('expires_at')
    .executeTakeFirstOrThrow()
  return { token, expiresAt: expires_at }
}

/**
 * Redeems a link inside the caller's transaction: marks it used and returns it, or throws a 403
 * saying why not (unknown, used, expired). Locks the row so a link is redeemed at most once.
 */
export async function redeemLink(db: Kysely<Database>, purpose: 'setup' | 'invite', token: string) {
  const invalid = purpose === 'setup' ? setupLinkInvalid : inviteLinkInvalid
  if (purpose === 'setup') await sql`select pg_advisory_xact_lock(${SETUP_LOCK_KEY})`.execute(db)
  const link = await db
    .selectFrom('operator_invites')
    .select(['token_hash', 'operator_id', 'used_at', sql<boolean>`expires_at <= now()`.as('expired')])
    .where('token_hash', '=', secretHash(token))
    .where('purpose', '=', purpose)
    .forUpdate()
    .executeTakeFirst()
  if (!link) throw invalid('This link is not valid: ask for a new one')
  if (link.used_at) throw invalid('This link has already been used')
  if (link.expired) throw invalid(`This link has expired (links are valid for ${LINK_LIFETIME_HOURS} hours)`)
  await db.updateTable('operator_invites').set({ used_at: sql<Date>`now()` }).where('token_hash', '=', link.token_hash).execute()
  return link
}
