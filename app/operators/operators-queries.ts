import { sql, type Kysely } from 'kysely'
import type { Database, OperatorRole } from '../database/schema.js'
import { HttpError } from '../errors/http-errors.js'
import type { Operator } from './operator-schemas.js'

const operatorColumns = ['id', 'email', 'display_name', 'role', 'created_at', 'disabled_at', 'password_hash'] as const

type OperatorRecord = {
  id: number
  email: string
  display_name: string
  role: OperatorRole
  created_at: Date
  disabled_at: Date | null
  password_hash: string | null
}

export function toOperator(row: OperatorRecord): Operator {
  return {
    id: row.id,
    email: row.email,
    name: row.display_name,
    role: row.role,
    createdAt: row.created_at.toISOString(),
    disabledAt: row.disabled_at ? row.disabled_at.toISOString() : null,
    invitePending: row.password_hash === null && row.disabled_at === null
  }
}

export const operatorExists = () => new HttpError(409, 'OPERATOR_EXISTS', 'An operator with this email already exists', 'email')
export const operatorNotFound = () => new HttpError(404, 'OPERATOR_NOT_FOUND', 'Operator not found')

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown }).code === '23505'
}

/** Inserts an operator; an email already taken (in any letter case) is a 409. */
export async function insertOperator(
  db: Kysely<Database>,
  operator: { email: string; name: string; role: OperatorRole; passwordHash: string | null }
): Promise<OperatorRecord> {
  try {
    return await db
      .insertInto('operators')
      .values({
        email: operator.email.trim(),
        display_name: operator.name.trim(),
        role: operator.role,
        password_hash: operator.passwordHash,
        password_changed_at: operator.passwordHash ? sql<Date>`now()` : null
      })
      .returning(operatorColumns)
      .executeTakeFirstOrThrow()
  } catch (error) {
    if (isUniqueViolation(error)) throw operatorExists()
    throw error
  }
}

export function findOperatorByEmail(db: Kysely<Database>, email: string): Promise<OperatorRecord | undefined> {
  return db
    .selectFrom('operators')
    .select(operatorColumns)
    .where(sql<string>`lower(email)`, '=', email.trim().toLowerCase())
    .executeTakeFirst()
}

export async function listOperators(db: Kysely<Database>): Promise<Operator[]> {
  const rows = await db.selectFrom('operators').select(operatorColumns).orderBy('id').execute()
  return rows.map(toOperator)
}

export async function hasOperators(db: Kysely<Database>): Promise<boolean> {
  return (await db.selectFrom('operators').select('id').limit(1).executeTakeFirst()) !== undefined
}

/** Marks the operator disabled and ends its sessions; its tokens stop working (the lookup checks). */
export async function disableOperator(db: Kysely<Database>, id: number): Promise<OperatorRecord | undefined> {
  const row = await db
    .updateTable('operators')
    .set({ disabled_at: sql<Date>`coalesce(disabled_at, now())` })
    .where('id', '=', id)
    .returning(operatorColumns)
    .executeTakeFirst()
  if (row) await db.deleteFrom('operator_sessions').where('operator_id', '=', id).execute()
  return row
}

/** Sets a new password and ends every session of the operator (a reset signs everyone out). */
export async function setOperatorPassword(db: Kysely<Database>, id: number, passwordHash: string): Promise<OperatorRecord | undefined> {
  const row = await db
    .updateTable('operators')
    .set({ password_hash: passwordHash, password_changed_at: sql<Date>`now()` })
    .where('id', '=', id)
    .returning(operatorColumns)
    .executeTakeFirst()
  if (row) await db.deleteFrom('operator_sessions').where('operator_id', '=', id).execute()
  return row
}
