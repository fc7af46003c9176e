import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { authErrorResponses, commonErrorResponses, ErrorResponseSchema } from '../errors/error-schema.js'
import { HttpError } from '../errors/http-errors.js'
import { findOperatorByEmail } from '../operators/operators-queries.js'
import { verifyPassword } from '../operators/passwords.js'
import { SessionSchema, SignInBodySchema, type Session } from './auth-schemas.js'
import { createSession, deleteSession } from './credentials.js'
import { clearSessionCookie, setSessionCookie } from './session-cookie.js'
import { assertSignInAllowed, clearSignInFailures, recordSignInFailure, type SignInLimits } from './sign-in-throttle.js'

const wrongCredentials = () => new HttpError(401, 'INVALID_CREDENTIALS', 'Wrong email or password')

/** Opens a session for the operator, sets its cookie and returns what GET /v1/session returns. */
export async function startSession(
  request: FastifyRequest,
  reply: FastifyReply,
  operator: { id: number; email: string; display_name: string; role: 'operator' | 'admin' }
): Promise<Session> {
  const { sessionId, csrfToken } = await createSession(request.server.db, operator.id, {
    ip: request.ip,
    userAgent: request.headers['user-agent']
  })
  setSessionCookie(request, reply, sessionId)
  return { operator: { id: operator.id, email: operator.email, name: operator.display_name, role: operator.role }, csrfToken }
}

const sessionRoutes: FastifyPluginAsyncTypebox<{ signIn: SignInLimits }> = async (app, { signIn }) => {
  app.get(
    '/session',
    {
      config: { access: 'operator' },
      schema: { summary: 'Who is signed in, and the CSRF token for unsafe requests', response: { 200: SessionSchema, ...authErrorResponses, ...commonErrorResponses } }
    },
    async (request) => {
      const { id, email, name, role, csrfToken } = request.operator!
      return { operator: { id, email, name, role }, csrfToken: csrfToken ?? null }
    }
  )

  app.post(
    '/session',
    {
      config: { access: 'public' },
      schema: {
        summary: 'Sign in with email and password: sets the session cookie',
        body: SignInBodySchema,
        response: { 200: SessionSchema, 401: ErrorResponseSchema, ...commonErrorResponses }
      }
    },
    async (request, reply) => {
      const email = request.body.email.trim().toLowerCase()
      await assertSignInAllowed(app.db, email, request.ip, signIn)
      const operator = await findOperatorByEmail(app.db, email)
      // Unknown, disabled and not-yet-activated accounts are verified against a dummy hash: the
      // answer and its timing are the same as for a wrong password.
      const usable = operator && operator.disabled_at === null ? operator : undefined
      const valid = await verifyPassword(usable?.password_hash ?? null, request.body.password)
      if (!usable || !valid) {
        await recordSignInFailure(app.db, email, request.ip, signIn)
        request.log.info({ operatorId: usable?.id }, 'sign-in failed')
        throw wrongCredentials()
      }
      await clearSignInFailures(app.db, email)
      request.log.info({ operatorId: usable.id }, 'signed in')
      return startSession(request, reply, usable)
    }
  )

  app.delete(
    '/session',
    {
      config: { access: 'operator' },
      schema: {
        summary: 'Sign out: ends the session of the cookie',
        response: { 200: Type.Object({ ok: Type.Literal(true) }, { additionalProperties: false }), ...authErrorResponses, ...commonErrorResponses }
      }
    },
    async (request, reply) => {
      const { sessionIdHash, id } = request.operator!
      if (sessionIdHash) await deleteSession(app.db, sessionIdHash)
      clearSessionCookie(request, reply)
      request.log.info({ operatorId: id }, 'signed out')
      return { ok: true as const }
    }
  )
}

export default sessionRoutes
