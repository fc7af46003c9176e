import { Type, type Static } from 'typebox'

export const ErrorResponseSchema = Type.Object(
  {
    error: Type.String({ description: 'What went wrong, for people' }),
    code: Type.String({ description: 'Stable identifier, for programs' }),
    field: Type.Optional(Type.String({ description: 'The request property concerned, when there is one' }))
  },
  { $id: 'ErrorResponse', additionalProperties: false }
)
export type ErrorResponse = Static<typeof ErrorResponseSchema>

/** Response schemas for the error statuses every route can produce, merged into each route. */
export const commonErrorResponses = {
  400: ErrorResponseSchema,
  413: ErrorResponseSchema,
  429: ErrorResponseSchema,
  500: ErrorResponseSchema,
  503: ErrorResponseSchema
}

/** What routes that need credentials add: 401 AUTHENTICATION_REQUIRED, 403 FORBIDDEN or CSRF_TOKEN_INVALID. */
export const authErrorResponses = {
  401: ErrorResponseSchema,
  403: ErrorResponseSchema
}
