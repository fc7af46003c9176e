// Errors that mean "the database cannot serve us right now" rather than "this request is wrong":
// they become 503s (the load balancer and clients retry) instead of 500s.
const unavailableErrnos = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'EPIPE'])
const unavailableSqlStates = new Set([
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up or shutting down)
  '57014', // query_canceled by an administrator (statement timeouts are told apart: isQueryTimeout)
  '53300', // too_many_connections
  '28P01', // invalid_password, e.g. mid credential rotation
  '28000' // invalid_authorization_specification
])
const unavailableMessages = [
  /timeout exceeded when trying to connect/i,
  /connection terminated/i,
  /connection error and is not queryable/i,
  /database did not answer within/i,
  /query read timeout/i, // pg's query_timeout: the server did not answer even its own statement timeout
  /Connection timeout/i
]

export class DatabaseTimeoutError extends Error {
  constructor(ms: number) {
    super(`database did not answer within ${ms} ms`)
    this.name = 'DatabaseTimeoutError'
  }
}

/**
 * The server cancelled a statement that ran past statement_timeout: the database is up but this
 * query is too slow (or blocked), which the logs must show as such rather than as an outage.
 */
export function isQueryTimeout(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  if ((error as { code?: unknown }).code === '57014' && /statement timeout/i.test(error.message)) return true
  return error.cause !== undefined && error.cause !== error && isQueryTimeout(error.cause)
}

export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string') {
    if (unavailableErrnos.has(code) || unavailableSqlStates.has(code) || code.startsWith('08')) return true
  }
  if (unavailableMessages.some((pattern) => pattern.test(error.message))) return true
  return error.cause !== undefined && error.cause !== error && isDatabaseUnavailable(error.cause)
}
