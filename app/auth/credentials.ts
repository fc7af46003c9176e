// Sessions and API tokens: created, looked up, ended. The database holds only hashes of the
// secrets; every lookup checks expiry, revocation and the operator's state, so a change made on
// one instance is in force on all of them at once.
import { sql, type Kysely } from 'kysely'
import type { Database, OperatorRole } from '../database/schema.js'
import { StatementCache } from '../database/statement-cache.js'
import { newApiToken, randomSecret, secretHash } from './secrets.js'

export const SESSION_IDLE_HOURS = 12
export const SESSION_MAX_DAYS = 7
/** last_seen_at and last_used_at are written at most this often per session or token. */
const TOUCH_INTERVAL_SECONDS = 60

/** Who a request acts for, once its credential checked out. */
export interface SignedInOperator {
  id: number
  email: string
  name: string
  role: OperatorRole
  via: 'session' | 'token'
  tokenId?: number
  /** Session only: the hash that names it, and the token unsafe requests must echo. */
  sessionIdHash?: string
  csrfToken?: string
}

const operatorFields = ['operators.id', 'operators.email', 'operators.display_name', 'operators.role'] as const

/** The lookups every authenticated request makes, compiled once; `hash` is the secret's hash. */
const lookups = new StatementCache<{ hash: string }>()

const staleSeen = sql<boolean>`last_seen_at < now() - make_interval(secs => ${TOUCH_INTERVAL_SECONDS})`
const staleUse = sql<boolean>`(last_used_at is null or last_used_at < now() - make_interval(secs => ${TOUCH_INTERVAL_SECONDS}))`

export async function createSession(
  db: Kysely<Database>,
  operatorId: number,
  client: { ip: string; userAgent?: string }
): Promise<{ sessionId: string; csrfToken: string }> {
  const sessionId = randomSecret()
  const csrfToken = randomSecret()
  await db
    .insertInto('operator_sessions')
    .values({
      id_hash: secretHash(sessionId),
      operator_id: operatorId,
      csrf_token: csrfToken,
      expires_at: sql<Date>`now() + make_interval(days => ${SESSION_MAX_DAYS})`,
      ip: client.ip,
      user_agent: client.userAgent?.slice(0, 300) ?? null
    })
    .execute()
  return { sessionId, csrfToken }
}

/** The operator of a live session (not idle for 12 h, younger than 7 days, operator enabled). */
export async function findSession(db: Kysely<Database>, sessionId: string): Promise<SignedInOperator | undefined> {
  const idHash = secretHash(sessionId)
  const build = () =>
    db
      .selectFrom('operator_sessions')
      .innerJoin('operators', 'operators.id', 'operator_sessions.operator_id')
      .select([...operatorFields, 'operator_sessions.csrf_token', staleSeen.as('stale')])
      .where('operator_sessions.id_hash', '=', lookups.slot<string>('hash'))
      .where('operator_sessions.expires_at', '>', sql<Date>`now()`)
      .where('operator_sessions.last_seen_at', '>', sql<Date>`now() - make_interval(hours => ${SESSION_IDLE_HOURS})`)
      .where('operators.disabled_at', 'is', null)
      .compile()
  const {
    rows: [row]
  } = await db.executeQuery(lookups.statement('session', build, { hash: idHash }))
  if (!row) return undefined
  if (row.stale) {
    // A burst of requests on one session must not queue on its row: whoever holds it records the use.
    await db
      .updateTable('operator_sessions')
      .set({ last_seen_at: sql<Date>`now()` })
      .where('id_hash', '=', (eb) => eb.selectFrom('operator_sessions').select('id_hash').where('id_hash', '=', idHash).where(staleSeen).forUpdate().skipLocked())
      .execute()
  }
  return { id: row.id, email: row.email, name: row.display_name, role: row.role, via: 'session', sessionIdHash: idHash, csrfToken: row.csrf_token }
}

export async function deleteSession(db: Kysely<Database>, sessionIdHash: string): Promise<void> {
  await db.deleteFrom('operator_sessions').where('id_hash', '=', sessionIdHash).execute()
}

export interface ApiTokenSummary {
  id: number
  name: string
  createdAt: string
  lastUsedAt: string | null
  expiresAt: string
}

const tokenColumns = ['id', 'name', 'created_at', 'last_used_at', 'expires_at'] as const

function toSummary(row: { id: number; name: string; created_at: Date; last_used_at: Date | null; expires_at: Date }): ApiTokenSummary {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.created_at.toISOString(),
    lastUsedAt: row.last_used_at ? row.last_used_at.toISOString() : null,
    expiresAt: row.expires_at.toISOString()
  }
}

export async function createApiToken(
  db: Kysely<Database>,
  operatorId: number,
  token: { name: string; expiresInDays: number }
): Promise<ApiTokenSummary & { token: string }> {
  const secret = newApiToken()
  const row = await db
    .insertInto('api_tokens')
    .values({
      operator_id: operatorId,
      name: token.name.trim(),
      token_hash: secretHash(secret),
      expires_at: sql<Date>`now() + make_interval(days => ${token.expiresInDays})`
    })
    .returning(tokenColumns)
    .executeTakeFirstOrThrow()
  return { ...toSummary(row), token: secret }
}

/** The caller's tokens that are not revoked, newest first (expired ones too, marked by their date). */
export async function listApiTokens(db: Kysely<Database>, operatorId: number): Promise<ApiTokenSummary[]> {
  const rows = await db
    .selectFrom('api_tokens')
    .select(tokenColumns)
    .where('operator_id', '=', operatorId)
    .where('revoked_at', 'is', null)
    .orderBy('id', 'desc')
    .execute()
  return rows.map(toSummary)
}

/** Revokes one of the operator's own tokens; false when it has no such live token. */
export async function revokeApiToken(db: Kysely<Database>, operatorId: number, tokenId: number): Promise<ApiTokenSummary | undefined> {
  const row = await db
    .updateTable('api_tokens')
    .set({ revoked_at: sql<Date>`now()` })
    .where('id', '=', tokenId)
    .where('operator_id', '=', operatorId)
    .where('revoked_at', 'is', null)
    .returning(tokenColumns)
    .executeTakeFirst()
  return row && toSummary(row)
}

/** The operator behind a bearer token that is neither revoked nor expired, its owner enabled. */
export async function findApiToken(db: Kysely<Database>, token: string): Promise<SignedInOperator | undefined> {
  const build = () =>
    db
      .selectFrom('api_tokens')
      .innerJoin('operators', 'operators.id', 'api_tokens.operator_id')
      .select([...operatorFields, 'api_tokens.id as token_id', staleUse.as('stale')])
      .where('api_tokens.token_hash', '=', lookups.slot<string>('hash'))
      .where('api_tokens.revoked_at', 'is', null)
      .where('api_tokens.expires_at', '>', sql<Date>`now()`)
      .where('operators.disabled_at', 'is', null)
      .compile()
  const {
    rows: [row]
  } = await db.executeQuery(lookups.statement('token', build, { hash: secretHash(token) }))
  if (!row) return undefined
  if (row.stale) {
    // As for sessions: concurrent requests with one token never wait on each other here.
    await db
      .updateTable('api_tokens')
      .set({ last_used_at: sql<Date>`now()` })
      .where('id', '=', (eb) => eb.selectFrom('api_tokens').select('id').where('id', '=', row.token_id).where(staleUse).forUpdate().skipLocked())
      .execute()
  }
  return { id: row.id, email: row.email, name: row.display_name, role: row.role, via: 'token', tokenId: row.token_id }
}
