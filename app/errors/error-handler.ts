import fp from 'fastify-plugin'
import type { FastifyError, FastifySchemaValidationError } from 'fastify'
import { isDatabaseUnavailable } from '../database/unavailable.js'
import { databaseUnavailable, HttpError } from './http-errors.js'

// Fastify's own client errors, given stable codes and messages a client can show as they are.
const fastifyClientErrors: Record<string, { code: string; message?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'PAYLOAD_TOO_LARGE', message: 'Request body is too large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Unsupported content type' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'INVALID_JSON', message: 'Request body is empty' },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'INVALID_JSON', message: 'Request body is not valid JSON' },
  FST_ERR_VALIDATION: { code: 'INVALID_REQUEST' }
}

/** `{ instancePath: '/mission', message: 'must NOT have more than 100 characters' }` → "mission must …". */
export function describeValidationError(
  issue: FastifySchemaValidationError | undefined,
  fallback: string
): { field?: string; message: string } {
  if (!issue) return { message: fallback }
  const field =
    issue.keyword === 'required'
      ? String((issue.params as { missingProperty?: unknown }).missingProperty)
      : issue.instancePath.split('/').filter(Boolean).join('.')
  if (!field) return { message: fallback }
  return { field, message: issue.keyword === 'required' ? `${field} is required` : `${field} ${issue.message ?? 'is invalid'}` }
}

/**
 * The one error handler and the one 404 handler: every failure leaves as `{ error, code }`.
 * Server errors are logged with their details and answered without them (no stack, no SQL).
 */
export default fp(
  async (app) => {
    app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
      if (error instanceof HttpError) {
        const field = error.field === undefined ? {} : { field: error.field }
        if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds))
        return reply.code(error.statusCode).send({ error: error.message, code: error.code, ...field })
      }
      if (isDatabaseUnavailable(error)) {
        request.log.warn({ err: error }, 'database unavailable')
        const unavailable = databaseUnavailable()
        return reply.code(unavailable.statusCode).header('retry-after', '2').send({ error: unavailable.message, code: unavailable.code })
      }
      if (error.validation) {
        const { field, message } = describeValidationError(error.validation[0], error.message)
        return reply.code(400).send({ error: message, code: 'INVALID_REQUEST', ...(field ? { field } : {}) })
      }
      const statusCode = error.statusCode ?? 500
      if (statusCode >= 400 && statusCode < 500) {
        const known = fastifyClientErrors[error.code]
        // JSON.parse failures arrive as plain SyntaxErrors with status 400.
        const code = known?.code ?? (error instanceof SyntaxError ? 'INVALID_JSON' : 'BAD_REQUEST')
        const message = known?.message ?? (code === 'INVALID_JSON' ? 'Request body is not valid JSON' : error.message)
        return reply.code(statusCode).send({ error: message, code })
      }
      request.log.error({ err: error }, 'request failed')
      return reply.code(500).send({ error: 'Internal Server Error', code: 'INTERNAL' })
    })

    app.setNotFoundHandler((request, reply) => {
      request.log.info({ method: request.method, url: request.url }, 'route not found')
      return reply.code(404).send({ error: 'Not Found', code: 'NOT_FOUND' })
    })
  },
  { name: 'error-handler' }
)
