/**
 * The one error vocabulary of the API. Every error response is `{ error, code }`: `error` is the
 * human message (kept identical to the original mission control API where one existed), `code`
 * a stable identifier clients can branch on.
 */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    /** The request property the error concerns, so a form can show it beside that field. */
    readonly field?: string,
    /** Sent as Retry-After (429, 503). */
    readonly retryAfterSeconds?: number
  ) {
    super(message)
    this.name = 'HttpError'
  }
}

export const badRequest = (code: string, message: string, field?: string) => new HttpError(400, code, message, field)
export const notFound = (code: string, message: string) => new HttpError(404, code, message)
export const conflict = (code: string, message: string) => new HttpError(409, code, message)

// The answers of the error handler to what Fastify itself refuses, and to anything unexpected.
export const invalidJson = () => new HttpError(400, 'INVALID_JSON', 'Request body is not valid JSON')
export const unsupportedMediaType = () => new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Unsupported content type')
export const payloadTooLarge = () => new HttpError(413, 'PAYLOAD_TOO_LARGE', 'Request body is too large')
export const internalError = () => new HttpError(500, 'INTERNAL', 'Internal Server Error')
export const authenticationRequired = (message = 'Sign in or send an API token (Authorization: Bearer mc_…)') =>
  new HttpError(401, 'AUTHENTICATION_REQUIRED', message)
export const forbidden = () => new HttpError(403, 'FORBIDDEN', 'Your role does not allow this')
export const csrfTokenInvalid = () =>
  new HttpError(403, 'CSRF_TOKEN_INVALID', 'Missing or wrong X-CSRF-Token header (GET /v1/session returns the token)')
export const tooManyRequests = (code: string, message: string, retryAfterSeconds: number) =>
  new HttpError(429, code, message, undefined, Math.max(1, Math.ceil(retryAfterSeconds)))

/** Seconds a client should wait before retrying a 503: the database or the service needs a moment. */
const RETRY_AFTER_SECONDS = 2

export const databaseUnavailable = () =>
  new HttpError(503, 'DATABASE_UNAVAILABLE', 'The database is unavailable, try again shortly', undefined, RETRY_AFTER_SECONDS)

export const queryTimeout = () =>
  new HttpError(503, 'QUERY_TIMEOUT', 'The database took too long to answer, try again shortly', undefined, RETRY_AFTER_SECONDS)

export const serviceOverloaded = () =>
  new HttpError(503, 'SERVICE_OVERLOADED', 'The service is overloaded, try again shortly', undefined, RETRY_AFTER_SECONDS)
