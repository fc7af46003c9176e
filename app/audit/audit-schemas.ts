import { Type, type Static } from 'typebox'
import { AUDIT_ACTIONS } from './audit-actions.js'

export const AuditEventSchema = Type.Object(
  {
    id: Type.Integer(),
    occurredAt: Type.String({ format: 'date-time' }),
    action: Type.String(),
    actorType: Type.Union([Type.Literal('operator'), Type.Literal('system'), Type.Literal('anonymous')]),
    operatorId: Type.Union([Type.Integer(), Type.Null()]),
    operatorName: Type.Union([Type.String(), Type.Null()], { description: 'Display name of the operator who acted (or of the token owner)' }),
    tokenId: Type.Union([Type.Integer(), Type.Null()]),
    tokenName: Type.Union([Type.String(), Type.Null()], { description: 'Set when the operator acted through an API token' }),
    systemName: Type.Union([Type.String(), Type.Null()], { description: 'The service part that acted: spacex-sync, planet-import, operator-cli' }),
    subjectType: Type.Union([Type.String(), Type.Null()]),
    subjectId: Type.Union([Type.String(), Type.Null()]),
    ip: Type.Union([Type.String(), Type.Null()]),
    requestId: Type.Union([Type.String(), Type.Null()]),
    details: Type.Record(Type.String(), Type.Unknown())
  },
  { additionalProperties: false }
)
export type AuditEvent = Static<typeof AuditEventSchema>

export const AuditQuerySchema = Type.Object(
  {
    page: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 }),
    limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
    action: Type.Optional(Type.Union(AUDIT_ACTIONS.map((action) => Type.Literal(action)))),
    operatorId: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_147_483_647 }))
  },
  { additionalProperties: false }
)
export type AuditQuery = Static<typeof AuditQuerySchema>
