import { Ajv, type Options } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifySchemaCompiler } from 'fastify'

const shared: Options = { removeAdditional: true, useDefaults: true, allErrors: false, strict: false }

// Query strings and path parameters arrive as text, so "2" must become 2 and "true" true.
// JSON bodies already carry types: coercing them would store `"rocket": 42` as "42".
const coercing = addFormats.default(new Ajv({ ...shared, coerceTypes: 'array' }))
const strict = addFormats.default(new Ajv({ ...shared, coerceTypes: false }))

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? strict : coercing).compile(schema)
