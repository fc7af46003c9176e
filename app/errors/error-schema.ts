import { Type, type Static } from 'typebox'
import {
  authenticationRequired,
  csrfTokenInvalid,
  databaseUnavailable,
  forbidden,
  HttpError,
  internalError,
  invalidJson,
  payloadTooLarge,
  tooManyRequests,
  unsupportedMediaType
} from './http-errors.js'

export const ErrorResponseSchema = Type.Object(
  {
    error: Type.String({ description: 'What went wrong, for people' }),
    code: Type.String({ description: 'Stable identifier, for programs' }),
    field: Type.Optional(Type.String({ description: 'The request property concerned, when there is one' }))
  },
  { $id: 'ErrorResponse', additionalProperties: false }
)
export type ErrorResponse = Static<typeof ErrorResponseSchema>

/** The body the error handler sends for an HttpError. */
export function errorBody(error: HttpError): ErrorResponse {
  return { error: error.message, code: error.code, ...(error.field === undefined ? {} : { field: error.field }) }
}

/**
 * The error schema of one response status, with the bodies the route really answers with as
 * examples (the OpenAPI document shows them, named by code): built from the same HttpErrors the
 * handlers throw, so an example cannot drift from what the service sends.
 */
export function errorResponse(...examples: HttpError[]) {
  // Without the shared $id: each copy carries its own examples.
  const { $id: _shared, ...schema } = ErrorResponseSchema as typeof ErrorResponseSchema & { $id: string }
  const named = examples.map((error) => [error.code, { summary: error.message, value: errorBody(error) }] as const)
  return { ...schema, 'x-examples': Object.fromEntries(named) }
}

/** Response schemas for the error statuses every route can produce, merged into each route. */
export const commonErrorResponses = {
  400: errorResponse(invalidJson()),
  413: errorResponse(payloadTooLarge()),
  415: errorResponse(unsupportedMediaType()),
  429: errorResponse(tooManyRequests('RATE_LIMITED', 'Too many requests, slow down', 60)),
  500: errorResponse(internalError()),
  503: errorResponse(databaseUnavailable())
}

/** What routes that need credentials add: 401 AUTHENTICATION_REQUIRED, 403 FORBIDDEN or CSRF_TOKEN_INVALID. */
export const authErrorResponses = {
  401: errorResponse(authenticationRequired()),
  403: errorResponse(forbidden(), csrfTokenInvalid())
}
