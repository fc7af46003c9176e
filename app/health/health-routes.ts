import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { stringEnum } from '../validation.js'
import { version } from '../version.js'

// stringEnum rather than a union of literals: fast-json-stringify would check an anyOf with Ajv,
// compiled when the first answer is sent, which is the load balancer's first health check.
const HealthSchema = Type.Object(
  {
    status: stringEnum(['ok', 'unavailable']),
    db: stringEnum(['ok', 'unavailable']),
    version: Type.String(),
    uptime: Type.Number({ description: 'Seconds since the process started' })
  },
  { additionalProperties: false }
)

const PING_TIMEOUT_MS = 1000

/**
 * The load balancer's health check: 200 while the database answers within a second, else 503.
 * Public, so it says only ok or unavailable: why (host, user, secret name) goes to the logs.
 */
const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/health',
    {
      logLevel: 'warn',
      schema: { summary: 'Service and database health', response: { 200: HealthSchema, 503: HealthSchema } }
    },
    async (request, reply) => {
      const base = { version, uptime: Math.round(process.uptime() * 10) / 10 }
      try {
        await app.database.ping(PING_TIMEOUT_MS)
        return { status: 'ok' as const, db: 'ok' as const, ...base }
      } catch (error) {
        const reason = app.database.unavailableReason?.() ?? (error as Error).message
        request.log.warn({ err: error, reason }, `health check: database unavailable: ${reason}`)
        return reply.code(503).send({ status: 'unavailable', db: 'unavailable', ...base })
      }
    }
  )
}
export default healthRoutes
