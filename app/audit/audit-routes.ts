import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { authErrorResponses, commonErrorResponses } from '../errors/error-schema.js'
import { listAuditEvents } from './audit-queries.js'
import { AuditEventSchema, AuditQuerySchema } from './audit-schemas.js'

/** The audit trail for admins: every write's record, written in the write's own transaction. */
const auditRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/audit',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'The audit trail, newest first, filtered by action and operator (admins)',
        querystring: AuditQuerySchema,
        response: {
          200: { ...Type.Array(AuditEventSchema), headers: { 'x-total-count': Type.Integer({ description: 'Audit events matching the filters, on all pages' }) } },
          ...authErrorResponses,
          ...commonErrorResponses
        }
      }
    },
    async (request, reply) => {
      const { events, total } = await listAuditEvents(app.db, request.query)
      reply.header('x-total-count', total)
      return events
    }
  )
}

export default auditRoutes
