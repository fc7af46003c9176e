import { Type, type Static } from 'typebox'
import { EmailSchema, RoleSchema } from '../operators/operator-schemas.js'
import { NON_BLANK_TEXT_PATTERN } from '../validation.js'

export const SessionOperatorSchema = Type.Object(
  { id: Type.Integer(), email: Type.String(), name: Type.String(), role: RoleSchema },
  { additionalProperties: false }
)

export const SessionSchema = Type.Object(
  {
    operator: SessionOperatorSchema,
    csrfToken: Type.Union([Type.String(), Type.Null()], {
      description: 'Send as X-CSRF-Token on every POST, PUT, PATCH and DELETE made with the session cookie; null with a bearer token'
    })
  },
  { additionalProperties: false }
)
export type Session = Static<typeof SessionSchema>

export const SignInBodySchema = Type.Object(
  // No minimum length here: a wrong password of any length gets the same answer as any other.
  { email: EmailSchema, password: Type.String({ minLength: 1, maxLength: 256 }) },
  { additionalProperties: false }
)

export const ApiTokenSchema = Type.Object(
  {
    id: Type.Integer(),
    name: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
    lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    expiresAt: Type.String({ format: 'date-time' })
  },
  { additionalProperties: false }
)

export const NewApiTokenSchema = Type.Object(
  { ...ApiTokenSchema.properties, token: Type.String({ description: 'mc_…: shown once, send as Authorization: Bearer' }) },
  { additionalProperties: false }
)

export const CreateApiTokenBodySchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: NON_BLANK_TEXT_PATTERN, description: 'What the token is for, e.g. "CI deploys"' }),
    expiresInDays: Type.Integer({ minimum: 1, maximum: 365, default: 90 })
  },
  { additionalProperties: false }
)

export const TokenIdParamsSchema = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) }, { additionalProperties: false })
