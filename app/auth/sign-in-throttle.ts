// Failed sign-ins counted in the database, per account (the email as typed, known or not) and per
// client IP, so every instance sees every attempt. Past the limit within the window the answer is
// 429 with Retry-After: the seconds until the oldest counted failure leaves the window.
import { sql, type Kysely } from 'kysely'
import type { Database } from '../database/schema.js'
import { tooManyRequests } from '../errors/http-errors.js'

export interface SignInLimits {
  maxFailures: number
  windowMinutes: number
}

const tooManySignInAttempts = (seconds: number) =>
  tooManyRequests('TOO_MANY_SIGN_IN_ATTEMPTS', `Too many failed sign-ins: try again in ${Math.ceil(seconds / 60)} minute(s)`, seconds)

/** Seconds until this email and this IP may try again; 0 when neither is over the limit. */
async function secondsUntilAllowed(db: Kysely<Database>, column: 'email' | 'ip', value: string, limits: SignInLimits): Promise<number> {
  // The limit-th most recent failure in the window: once it ages out, one more attempt is allowed.
  const row = await db
    .selectFrom('sign_in_failures')
    .select(
      sql<number>`ceil(extract(epoch from occurred_at + make_interval(mins => ${limits.windowMinutes}) - now()))::int`.as('seconds')
    )
    .where(column, '=', value)
    .where('occurred_at', '>', sql<Date>`now() - make_interval(mins => ${limits.windowMinutes})`)
    .orderBy('occurred_at', 'desc')
    .offset(limits.maxFailures - 1)
    .limit(1)
    .executeTakeFirst()
  return row ? Math.max(1, row.seconds) : 0
}

/** Throws a 429 when the account or the IP has too many recent failures. */
export async function assertSignInAllowed(db: Kysely<Database>, email: string, ip: string, limits: SignInLimits): Promise<void> {
  const [byEmail, byIp] = await Promise.all([
    secondsUntilAllowed(db, 'email', email, limits),
    secondsUntilAllowed(db, 'ip', ip, limits)
  ])
  const wait = Math.max(byEmail, byIp)
  if (wait > 0) throw tooManySignInAttempts(wait)
}

/** Counts a failure; drops rows that left the window (nothing reads them again). */
export async function recordSignInFailure(db: Kysely<Database>, email: string, ip: string, limits: SignInLimits): Promise<void> {
  await db.insertInto('sign_in_failures').values({ email, ip }).execute()
  await db
    .deleteFrom('sign_in_failures')
    .where('occurred_at', '<', sql<Date>`now() - make_interval(mins => ${limits.windowMinutes})`)
    .execute()
}

/** A successful sign-in clears the account's count (not the IP's). */
export async function clearSignInFailures(db: Kysely<Database>, email: string): Promise<void> {
  await db.deleteFrom('sign_in_failures').where('email', '=', email).execute()
}
