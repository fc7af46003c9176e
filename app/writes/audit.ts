import { sql, type RawBuilder } from 'kysely'
import type { WriteContext } from './unit-of-work.js'

/** One line of the audit trail: what was done, to what, with which particulars. */
export interface AuditEntry {
  /** `<subject>.<verb>`, e.g. `launch.scheduled`. */
  action: string
  subjectType?: string
  subjectId?: string
  details?: Record<string, unknown>
}

/**
 * The audit part of a write's record statement (unit-of-work.ts): one row per entry, in order, all
 * by the write's actor, from its request and address. Inside the write's transaction: no change
 * commits without its record.
 */
export function auditRows(context: WriteContext, entries: AuditEntry[]): RawBuilder<unknown> {
  const { actor } = context
  const rows = JSON.stringify(
    entries.map((entry) => ({
      action: entry.action,
      subject_type: entry.subjectType ?? null,
      subject_id: entry.subjectId ?? null,
      details: entry.details ?? {}
    }))
  )
  return sql`
    insert into audit_events (action, actor_type, operator_id, token_id, system_name, subject_type, subject_id, ip, request_id, details)
    select entry ->> 'action', ${actor.type}::text, ${actor.type === 'operator' ? actor.operatorId : null}::int,
           ${actor.type === 'operator' ? (actor.tokenId ?? null) : null}::int, ${actor.type === 'system' ? actor.name : null}::text,
           entry ->> 'subject_type', entry ->> 'subject_id', ${context.ip ?? null}::text, ${context.requestId ?? null}::text, entry -> 'details'
    from jsonb_array_elements(${rows}::jsonb) with ordinality as entries(entry, position)
    order by position`
}
