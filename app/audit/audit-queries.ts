import { sql, type Kysely } from 'kysely'
import type { Database } from '../database/schema.js'
import type { AuditEvent, AuditQuery } from './audit-schemas.js'

/** A page of the trail, newest first, with the names of the operators and tokens involved. */
export async function listAuditEvents(db: Kysely<Database>, query: AuditQuery): Promise<{ events: AuditEvent[]; total: number }> {
  const filtered = db.selectFrom('audit_events').where((eb) => {
    const conditions = []
    if (query.action) conditions.push(eb('audit_events.action', '=', query.action))
    if (query.operatorId) conditions.push(eb('audit_events.operator_id', '=', query.operatorId))
    return eb.and(conditions)
  })
  const [rows, count] = await Promise.all([
    filtered
      .leftJoin('operators', 'operators.id', 'audit_events.operator_id')
      .leftJoin('api_tokens', 'api_tokens.id', 'audit_events.token_id')
      .select([
        sql<string>`audit_events.id::text`.as('id'),
        'audit_events.occurred_at',
        'audit_events.action',
        'audit_events.actor_type',
        'audit_events.operator_id',
        'operators.display_name as operator_name',
        'audit_events.token_id',
        'api_tokens.name as token_name',
        'audit_events.system_name',
        'audit_events.subject_type',
        'audit_events.subject_id',
        'audit_events.ip',
        'audit_events.request_id',
        'audit_events.details'
      ])
      .orderBy('audit_events.id', 'desc')
      .limit(query.limit)
      .offset((query.page - 1) * query.limit)
      .execute(),
    filtered.select(sql<number>`count(*)::int`.as('total')).executeTakeFirstOrThrow()
  ])
  return {
    total: count.total,
    events: rows.map((row) => ({
      id: Number(row.id),
      occurredAt: row.occurred_at.toISOString(),
      action: row.action,
      actorType: row.actor_type,
      operatorId: row.operator_id,
      operatorName: row.operator_name,
      tokenId: row.token_id,
      tokenName: row.token_name,
      systemName: row.system_name,
      subjectType: row.subject_type,
      subjectId: row.subject_id,
      ip: row.ip,
      requestId: row.request_id,
      details: row.details
    }))
  }
}
