import fastifyCookie from '@fastify/cookie'
import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'
import { authenticationRequired, csrfTokenInvalid, forbidden } from '../errors/http-errors.js'
import { findApiToken, findSession, type SignedInOperator } from './credentials.js'
import { API_TOKEN_PREFIX, sameSecret } from './secrets.js'
import { readSessionCookie } from './session-cookie.js'

/**
 * Who may call a route, declared on the route (`config: { access: 'admin' }`) and enforced by the
 * one hook below; handlers never check. Without a declaration, GET/HEAD/OPTIONS are public and
 * every other method needs an operator.
 */
export type Access = 'public' | 'operator' | 'admin'

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access
    /** AUTH_REQUIRED=false lets anonymous callers use this route (the original v1 write API). */
    openWhenAuthOptional?: boolean
  }
  interface FastifyRequest {
    /** The signed-in operator, on routes that are not public; null for anonymous callers. */
    operator: SignedInOperator | null
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

export function accessOf(request: FastifyRequest): Access {
  if (request.is404) return 'public'
  return request.routeOptions.config.access ?? (SAFE_METHODS.has(request.method) ? 'public' : 'operator')
}

/** The bearer token or session cookie of the request, checked; undefined when it carries neither. */
async function authenticate(request: FastifyRequest): Promise<SignedInOperator | undefined> {
  const authorization = request.headers.authorization
  if (authorization !== undefined) {
    const [scheme, token] = authorization.split(' ')
    if (scheme?.toLowerCase() !== 'bearer' || !token?.startsWith(API_TOKEN_PREFIX)) {
      throw authenticationRequired('The Authorization header must be "Bearer mc_…"')
    }
    const operator = await findApiToken(request.server.db, token)
    if (!operator) throw authenticationRequired('The API token is unknown, expired or revoked')
    return operator
  }
  const sessionId = readSessionCookie(request)
  if (sessionId === undefined) return undefined
  const operator = await findSession(request.server.db, sessionId)
  if (!operator) throw authenticationRequired('Your session has ended: sign in again')
  return operator
}

/**
 * Authentication, CSRF and roles for every route, from the route's `access` option. Public
 * routes cost nothing (no credential is read, no database round trip).
 */
export default fp<{ authRequired: boolean }>(
  async (app, { authRequired }) => {
    await app.register(fastifyCookie)
    app.decorateRequest('operator', null)

    /** Authentication, CSRF and role for a route that is not public; throws the answer's error. */
    const checkAccess = async (request: FastifyRequest, access: Access) => {
      const operator = await authenticate(request)
      if (!operator) {
        if (!authRequired && access === 'operator' && request.routeOptions.config.openWhenAuthOptional) return
        throw authenticationRequired()
      }
      // Cookies ride along with cross-site requests; the token from GET /v1/session does not.
      if (operator.via === 'session' && !SAFE_METHODS.has(request.method)) {
        const sent = request.headers['x-csrf-token']
        if (typeof sent !== 'string' || !sameSecret(sent, operator.csrfToken!)) throw csrfTokenInvalid()
      }
      if (access === 'admin' && operator.role !== 'admin') throw forbidden()
      request.operator = operator
      // Who the write path (app/writes/) records for this request's changes.
      request.actor = { type: 'operator', operatorId: operator.id, ...(operator.tokenId === undefined ? {} : { tokenId: operator.tokenId }) }
    }
    // With `done`, not async: a public request (most of them) passes without a promise.
    app.addHook('onRequest', (request, _reply, done) => {
      const access = accessOf(request)
      if (access === 'public') return done()
      checkAccess(request, access).then(() => done(), done)
    })
  },
  { name: 'auth', dependencies: ['database', 'error-handler', 'writes'] }
)
