import fp from 'fastify-plugin'
import type { FastifyError, FastifyReply, FastifySchemaValidationError } from 'fastify'
import { isDatabaseUnavailable, isQueryTimeout } from '../database/unavailable.js'
import { FORBIDDEN_CHARACTERS } from '../validation.js'
import { errorBody } from './error-schema.js'
import { databaseUnavailable, HttpError, internalError, invalidJson, payloadTooLarge, queryTimeout, unsupportedMediaType } from './http-errors.js'

// Fastify's own client errors, given stable codes and messages a client can show as they are.
const fastifyClientErrors: Record<string, { code: string; message?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: payloadTooLarge(),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: unsupportedMediaType(),
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'INVALID_JSON', message: 'Request body is empty' },
  FST_ERR_CTP_INVALID_JSON_BODY: invalidJson(),
  FST_ERR_VALIDATION: { code: 'INVALID_REQUEST' }
}

/** A text value refused for a control character or an unpaired surrogate (see app/validation.ts). */
export function hasForbiddenCharacters(issue: FastifySchemaValidationError | undefined): boolean {
  const data = (issue as { data?: unknown } | undefined)?.data
  return issue?.keyword === 'pattern' && typeof data === 'string' && FORBIDDEN_CHARACTERS.test(data)
}

/** `{ instancePath: '/mission', message: 'must NOT have more than 100 characters' }` → "mission must …". */
export function describeValidationError(
  issue: FastifySchemaValidationError | undefined,
  fallback: string
): { field?: string; message: string; code: string } {
  const code = hasForbiddenCharacters(issue) ? 'INVALID_CHARACTERS' : 'INVALID_REQUEST'
  if (!issue) return { message: fallback, code }
  const field =
    issue.keyword === 'required'
      ? String((issue.params as { missingProperty?: unknown }).missingProperty)
      : issue.instancePath.split('/').filter(Boolean).join('.')
  if (!field) return { message: fallback, code }
  if (issue.keyword === 'required') return { field, message: `${field} is required`, code }
  if (code === 'INVALID_CHARACTERS') return { field, message: `${field} must not contain control characters or unpaired surrogates`, code }
  return { field, message: `${field} ${issue.message ?? 'is invalid'}`, code }
}

/**
 * The one error handler and the one 404 handler: every failure leaves as `{ error, code }`.
 * Server errors are logged with their details and answered without them (no stack, no SQL).
 */
export default fp(
  async (app) => {
    const sendError = (reply: FastifyReply, error: HttpError) => {
      if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds))
      return reply.code(error.statusCode).send(errorBody(error))
    }
    app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
      if (error instanceof HttpError) return sendError(reply, error)
      if (isQueryTimeout(error)) {
        // A slow query, not an outage: the route tells where to look.
        request.log.warn({ err: error, route: `${request.method} ${request.routeOptions.url ?? request.url}` }, 'database statement timeout')
        return sendError(reply, queryTimeout())
      }
      if (isDatabaseUnavailable(error)) {
        request.log.warn({ err: error }, 'database unavailable')
        return sendError(reply, databaseUnavailable())
      }
      if (error.validation) {
        const { field, message, code } = describeValidationError(error.validation[0], error.message)
        return reply.code(400).send({ error: message, code, ...(field ? { field } : {}) })
      }
      const statusCode = error.statusCode ?? 500
      if (statusCode >= 400 && statusCode < 500) {
        const known = fastifyClientErrors[error.code]
        // JSON.parse failures arrive as plain SyntaxErrors with status 400.
        const code = known?.code ?? (error instanceof SyntaxError ? 'INVALID_JSON' : 'BAD_REQUEST')
        const message = known?.message ?? (code === 'INVALID_JSON' ? invalidJson().message : error.message)
        return reply.code(statusCode).send({ error: message, code })
      }
      request.log.error({ err: error }, 'request failed')
      return sendError(reply, internalError())
    })

    app.setNotFoundHandler((request, reply) => {
      request.log.info({ method: request.method, url: request.url }, 'route not found')
      return reply.code(404).send({ error: 'Not Found', code: 'NOT_FOUND' })
    })
  },
  { name: 'error-handler' }
)
