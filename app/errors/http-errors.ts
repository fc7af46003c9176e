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

export const tooManyRequests = (code: string, message: string, retryAfterSeconds: number) =>
  new HttpError(429, code, message, undefined, Math.max(1, Math.ceil(retryAfterSeconds)))

export const databaseUnavailable = () =>
  new HttpError(503, 'DATABASE_UNAVAILABLE', 'The database is unavailable, try again shortly')
