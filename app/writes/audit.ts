import type { Transaction } from 'kysely'
import type { Database } from '../database/schema.js'
import type { WriteContext } from './unit-of-work.js'

/** One line of the audit trail: what was done, to what, with which particulars. */
export interface AuditEntry {
  /** `<subject>.<verb>`, e.g. `launch.scheduled`. */
  action: string
  subjectType?: string
  subjectId?: string
  details?: Record<string, unknown>
}

/** Writes the audit rows of a write, inside its transaction: no change commits without its record. */
export async function recordAudit(trx: Transaction<Database>, context: WriteContext, entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return
  const { actor } = context
  await trx
    .insertInto('audit_events')
    .values(
      entries.map((entry) => ({
        action: entry.action,
        actor_type: actor.type,
        operator_id: actor.type === 'operator' ? actor.operatorId : null,
        token_id: actor.type === 'operator' ? (actor.tokenId ?? null) : null,
        system_name: actor.type === 'system' ? actor.name : null,
        subject_type: entry.subjectType ?? null,
        subject_id: entry.subjectId ?? null,
        ip: context.ip ?? null,
        request_id: context.requestId ?? null,
        details: JSON.stringify(entry.details ?? {})
      }))
    )
    .execute()
}
