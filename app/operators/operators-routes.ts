import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { SessionSchema } from '../auth/auth-schemas.js'
import { openSession, sessionAnswer } from '../auth/session-routes.js'
import { authErrorResponses, commonErrorResponses, errorResponse } from '../errors/error-schema.js'
import { conflict } from '../errors/http-errors.js'
import { createLink, inviteLinkInvalid, redeemLink, setupLinkInvalid } from './invites.js'
import {
  AcceptInviteBodySchema,
  CreateOperatorBodySchema,
  InvitedOperatorSchema,
  OperatorIdParamsSchema,
  OperatorSchema,
  SetupBodySchema
} from './operator-schemas.js'
import { disableOperator, hasOperators, insertOperator, listOperators, operatorExists, operatorNotFound, setOperatorPassword, toOperator } from './operators-queries.js'
import { hashPassword } from './passwords.js'

/** Where the browser that made the request reaches the service (through the load balancer's headers). */
function origin(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`
}

const cannotDisableSelf = () => conflict('CANNOT_DISABLE_SELF', 'You cannot disable your own account')

const operatorsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/operators',
    {
      config: { access: 'admin' },
      schema: { summary: 'Every operator, disabled ones included (admins)', response: { 200: Type.Array(OperatorSchema), ...authErrorResponses, ...commonErrorResponses } }
    },
    async () => listOperators(app.db)
  )

  app.post(
    '/operators',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Create an operator and a one-time invite link (valid 24 h) to choose a password (admins)',
        body: CreateOperatorBodySchema,
        response: { 201: InvitedOperatorSchema, 409: errorResponse(operatorExists()), ...authErrorResponses, ...commonErrorResponses }
      }
    },
    async (request, reply) => {
      const { result } = await app.write(request, async (trx) => {
        const row = await insertOperator(trx, { ...request.body, role: request.body.role ?? 'operator', passwordHash: null })
        const link = await createLink(trx, { purpose: 'invite', operatorId: row.id, createdBy: request.operator!.id })
        return {
          result: { operator: row, link },
          audit: [{ action: 'operator.created', subjectType: 'operator', subjectId: String(row.id), details: { email: row.email, role: row.role, via: 'invite' } }]
        }
      })
      const { operator, link } = result
      return reply.code(201).send({
        operator: toOperator(operator),
        inviteUrl: `${origin(request)}/invite?token=${link.token}`,
        inviteExpiresAt: link.expiresAt.toISOString()
      })
    }
  )

  app.post(
    '/operators/:id/disable',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Disable an operator: its sessions end and its tokens stop working at once (admins)',
        params: OperatorIdParamsSchema,
        response: { 200: OperatorSchema, 404: errorResponse(operatorNotFound()), 409: errorResponse(cannotDisableSelf()), ...authErrorResponses, ...commonErrorResponses }
      }
    },
    async (request) => {
      if (request.params.id === request.operator!.id) throw cannotDisableSelf()
      const { result: row } = await app.write(request, async (trx) => {
        const row = await disableOperator(trx, request.params.id)
        if (!row) throw operatorNotFound()
        return { result: row, audit: [{ action: 'operator.disabled', subjectType: 'operator', subjectId: String(row.id), details: { email: row.email } }] }
      })
      return toOperator(row)
    }
  )

  app.post(
    '/setup',
    {
      config: { access: 'public' },
      schema: {
        summary: 'First run: create the first admin with the one-time setup link the service logged',
        body: SetupBodySchema,
        response: { 201: SessionSchema, 403: errorResponse(setupLinkInvalid('This link is not valid: ask for a new one')), ...commonErrorResponses }
      }
    },
    async (request, reply) => {
      const { token, email, name, password } = request.body
      const passwordHash = await hashPassword(password)
      // The holder of the setup link acts (anonymous): the admin does not exist before this write.
      const { result: opened } = await app.write(request, async (trx) => {
        await redeemLink(trx, 'setup', token)
        if (await hasOperators(trx)) throw setupLinkInvalid('An operator already exists: sign in instead')
        const admin = await insertOperator(trx, { email, name, role: 'admin', passwordHash })
        const opened = await openSession(trx, request, admin)
        const created = { action: 'operator.created', subjectType: 'operator', subjectId: String(admin.id), details: { email: admin.email, role: admin.role, via: 'setup link' } }
        return { result: opened, audit: [created, opened.audit] }
      })
      return reply.code(201).send(sessionAnswer(request, reply, opened))
    }
  )

  app.post(
    '/invites/accept',
    {
      config: { access: 'public' },
      schema: {
        summary: 'Choose a password with a one-time invite link, and sign in',
        body: AcceptInviteBodySchema,
        response: { 200: SessionSchema, 403: errorResponse(inviteLinkInvalid('This link has already been used')), ...commonErrorResponses }
      }
    },
    async (request, reply) => {
      const passwordHash = await hashPassword(request.body.password)
      const { result: opened } = await app.write(request, async (trx) => {
        const link = await redeemLink(trx, 'invite', request.body.token)
        const row = await setOperatorPassword(trx, link.operator_id!, passwordHash)
        if (!row || row.disabled_at) throw inviteLinkInvalid('This account has been disabled')
        const opened = await openSession(trx, request, row)
        return { result: opened, audit: [{ action: 'operator.invite_accepted', subjectType: 'operator', subjectId: String(row.id) }, opened.audit] }
      })
      return sessionAnswer(request, reply, opened)
    }
  )
}

export default operatorsRoutes
