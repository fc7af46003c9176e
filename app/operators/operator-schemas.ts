import { Type, type Static } from 'typebox'
import { EMAIL_PATTERN, NON_BLANK_TEXT_PATTERN } from '../validation.js'
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from './passwords.js'

export const RoleSchema = Type.Union([Type.Literal('operator'), Type.Literal('admin')])

/** An operator as the API shows it: never the password hash. */
export const OperatorSchema = Type.Object(
  {
    id: Type.Integer(),
    email: Type.String(),
    name: Type.String({ description: 'Display name, shown on the launches the operator scheduled or aborted' }),
    role: RoleSchema,
    createdAt: Type.String({ format: 'date-time' }),
    disabledAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    invitePending: Type.Boolean({ description: 'Invited but no password set yet' })
  },
  { additionalProperties: false }
)
export type Operator = Static<typeof OperatorSchema>

export const EmailSchema = Type.String({ minLength: 3, maxLength: 254, pattern: EMAIL_PATTERN })
export const DisplayNameSchema = Type.String({ minLength: 1, maxLength: 100, pattern: NON_BLANK_TEXT_PATTERN })
export const PasswordSchema = Type.String({
  minLength: MIN_PASSWORD_LENGTH,
  maxLength: MAX_PASSWORD_LENGTH,
  description: `At least ${MIN_PASSWORD_LENGTH} characters`
})

export const CreateOperatorBodySchema = Type.Object(
  { email: EmailSchema, name: DisplayNameSchema, role: Type.Optional(RoleSchema) },
  { additionalProperties: false }
)

export const InvitedOperatorSchema = Type.Object(
  {
    operator: OperatorSchema,
    inviteUrl: Type.String({ description: 'One-time link for the new operator to choose a password; shown once' }),
    inviteExpiresAt: Type.String({ format: 'date-time' })
  },
  { additionalProperties: false }
)

export const OperatorIdParamsSchema = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) }, { additionalProperties: false })

export const SetupBodySchema = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 200 }), email: EmailSchema, name: DisplayNameSchema, password: PasswordSchema },
  { additionalProperties: false }
)

export const AcceptInviteBodySchema = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 200 }), password: PasswordSchema },
  { additionalProperties: false }
)
