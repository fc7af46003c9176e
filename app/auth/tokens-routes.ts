import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { authErrorResponses, commonErrorResponses, errorResponse } from '../errors/error-schema.js'
import { notFound } from '../errors/http-errors.js'
import { ApiTokenSchema, CreateApiTokenBodySchema, NewApiTokenSchema, TokenIdParamsSchema } from './auth-schemas.js'
import { createApiToken, listApiTokens, revokeApiToken } from './credentials.js'

const tokenNotFound = () => notFound('TOKEN_NOT_FOUND', 'Token not found')

/** Every operator manages their own API tokens (for scripts, CI and older clients). */
const tokensRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/tokens',
    {
      config: { access: 'operator' },
      schema: { summary: "The caller's API tokens (never the secrets)", response: { 200: Type.Array(ApiTokenSchema), ...authErrorResponses, ...commonErrorResponses } }
    },
    async (request) => listApiTokens(app.db, request.operator!.id)
  )

  app.post(
    '/tokens',
    {
      config: { access: 'operator' },
      schema: {
        summary: 'Create an API token: the secret is in this answer only',
        body: CreateApiTokenBodySchema,
        response: { 201: NewApiTokenSchema, ...authErrorResponses, ...commonErrorResponses }
      }
    },
    async (request, reply) => {
      const { result: token } = await app.write(request, async (trx) => {
        const token = await createApiToken(trx, request.operator!.id, request.body)
        return { result: token, audit: [{ action: 'token.created', subjectType: 'token', subjectId: String(token.id), details: { name: token.name, expiresAt: token.expiresAt } }] }
      })
      return reply.code(201).send(token)
    }
  )

  app.delete(
    '/tokens/:id',
    {
      config: { access: 'operator' },
      schema: {
        summary: 'Revoke one of your API tokens: refused at once on every instance',
        params: TokenIdParamsSchema,
        response: { 200: ApiTokenSchema, 404: errorResponse(tokenNotFound()), ...authErrorResponses, ...commonErrorResponses }
      }
    },
    async (request) => {
      const { result: revoked } = await app.write(request, async (trx) => {
        const revoked = await revokeApiToken(trx, request.operator!.id, request.params.id)
        // Another operator's token is "not found" too: ids reveal nothing.
        if (!revoked) throw tokenNotFound()
        return { result: revoked, audit: [{ action: 'token.revoked', subjectType: 'token', subjectId: String(revoked.id), details: { name: revoked.name } }] }
      })
      return revoked
    }
  )
}

export default tokensRoutes
