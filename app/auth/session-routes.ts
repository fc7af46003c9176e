import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Kysely } from 'kysely'
import { Type } from 'typebox'
import type { Database, OperatorRole } from '../database/schema.js'
import { authErrorResponses, commonErrorResponses, errorResponse } from '../errors/error-schema.js'
import { HttpError } from '../errors/http-errors.js'
import { findOperatorByEmail } from '../operators/operators-queries.js'
import { verifyPassword } from '../operators/passwords.js'
import type { AuditEntry } from '../writes/audit.js'
import { SessionSchema, SignInBodySchema, type Session } from './auth-schemas.js'
import { createSession, deleteSession } from './credentials.js'
import { clearSessionCookie, setSessionCookie } from './session-cookie.js'
import { assertSignInAllowed, clearSignInFailures, recordSignInFailure, type SignInLimits } from './sign-in-throttle.js'

const wrongCredentials = () => new HttpError(401, 'INVALID_CREDENTIALS', 'Wrong email or password')

interface SessionOperator {
  id: number
  email: string
  display_name: string
  role: OperatorRole
}

/** Inside a write: opens a session for the operator; its audit entry goes with the write's. */
export async function openSession(db: Kysely<Database>, request: FastifyRequest, operator: SessionOperator) {
  const opened = await createSession(db, operator.id, { ip: request.ip, userAgent: request.headers['user-agent'] })
  const audit: AuditEntry = { action: 'session.signed_in', subjectType: 'operator', subjectId: String(operator.id) }
  return { ...opened, operator, audit }
}

/** After the write committed: the session cookie, and the body GET /v1/session would return. */
export function sessionAnswer(request: FastifyRequest, reply: FastifyReply, opened: Awaited<ReturnType<typeof openSession>>): Session {
  setSessionCookie(request, reply, opened.sessionId)
  const { id, email, display_name, role } = opened.operator
  return { operator: { id, email, name: display_name, role }, csrfToken: opened.csrfToken }
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
        response: { 200: SessionSchema, 401: errorResponse(wrongCredentials()), ...commonErrorResponses }
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
        await app.write(request, async (trx) => {
          await recordSignInFailure(trx, email, request.ip, signIn)
          // The audit names the account when there is one; an unknown email (perhaps a password
          // typed into the wrong field) is not kept.
          const subject = operator ? { subjectType: 'operator', subjectId: String(operator.id) } : { details: { unknownEmail: true } }
          return { result: undefined, audit: [{ action: 'session.sign_in_failed', ...subject }] }
        })
        throw wrongCredentials()
      }
      request.actor = { type: 'operator', operatorId: usable.id }
      const { result: opened } = await app.write(request, async (trx) => {
        await clearSignInFailures(trx, email)
        const opened = await openSession(trx, request, usable)
        return { result: opened, audit: [opened.audit] }
      })
      return sessionAnswer(request, reply, opened)
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
      if (sessionIdHash) {
        await app.write(request, async (trx) => {
          await deleteSession(trx, sessionIdHash)
          return { result: undefined, audit: [{ action: 'session.signed_out', subjectType: 'operator', subjectId: String(id) }] }
        })
      }
      clearSessionCookie(request, reply)
      return { ok: true as const }
    }
  )
}

export default sessionRoutes
