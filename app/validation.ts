import { Ajv, type Options } from 'ajv'
import { Type, type Static, type TSchema } from 'typebox'
import addFormats from 'ajv-formats'
import fastJsonStringify from 'fast-json-stringify'
import type { FastifySchemaCompiler, FastifySerializerCompiler } from 'fastify'

// verbose: errors carry the rejected value, so messages can say what was wrong with it.
// validateSchema: false: the schemas are constants of the code, and Ajv checking each against the
// JSON Schema meta-schema first means compiling that meta-schema in every Ajv instance, at every
// start (about 50 ms each, more on the first). test/schemas.test.ts checks them all instead.
const shared: Options = { validateSchema: false, removeAdditional: true, useDefaults: true, allErrors: false, strict: false, verbose: true }

// Query strings and path parameters arrive as text, so "2" must become 2 and "true" true.
// JSON bodies already carry types: coercing them would store `"rocket": 42` as "42".
const coercing = addFormats.default(new Ajv({ ...shared, coerceTypes: 'array' }))
const strict = addFormats.default(new Ajv({ ...shared, coerceTypes: false }))

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? strict : coercing).compile(schema)

/**
 * Response serialisers, one per schema object: what Fastify's default does (fast-json-stringify,
 * no shared schemas to pass since the service adds none), except that it compiled one per route,
 * status and method. Every route's error statuses share commonErrorResponses'
 * objects (app/errors/error-schema.ts) and each GET's HEAD twin shares its schemas: about 270
 * serialisers were built at each start for about 45 different schemas (0.1–0.2 s).
 */
const serializers = new WeakMap<object, (data: unknown) => string>()
export const serializerCompiler: FastifySerializerCompiler<object> = ({ schema }) => {
  let serialize = serializers.get(schema)
  if (!serialize) {
    serialize = fastJsonStringify(schema)
    serializers.set(schema, serialize)
  }
  return serialize
}

/** A schema's check outside a route, e.g. for a command-line argument the API also accepts. */
export const compileCheck = (schema: TSchema): ((value: unknown) => boolean) => strict.compile(schema)

/**
 * What no text field accepts: C0 and C1 control characters (NUL among them, which PostgreSQL
 * cannot store) and unpaired surrogates (which have no UTF-8 form). Ajv compiles patterns with
 * the `u` flag, where a surrogate range matches only unpaired ones.
 */
const FORBIDDEN = '\\u0000-\\u001f\\u007f-\\u009f\\ud800-\\udfff'
export const FORBIDDEN_CHARACTERS = new RegExp(`[${FORBIDDEN}]`, 'u')

/** Pattern of a text field: any length (minLength/maxLength say), no forbidden character. */
export const TEXT_PATTERN = `^[^${FORBIDDEN}]*$`
/** Pattern of a required text field: the same, with at least one visible character. */
export const NON_BLANK_TEXT_PATTERN = `^\\s*[^\\s${FORBIDDEN}][^${FORBIDDEN}]*$`
/** Pattern of an email address: one @ between two runs of visible, allowed characters. */
export const EMAIL_PATTERN = `^[^\\s@${FORBIDDEN}]+@[^\\s@${FORBIDDEN}]+$`

/**
 * `T | null` as `{ type: [T's type, 'null'] }` rather than typebox's `anyOf`: fast-json-stringify
 * serialises a type list directly, while it checks each `anyOf` branch with Ajv on every answer.
 */
export function nullable<T extends TSchema & { type: string }>(schema: T) {
  return Type.Unsafe<Static<T> | null>({ ...schema, type: [schema.type, 'null'] })
}

/** A string enum as `{ type: 'string', enum }` rather than an `anyOf` of constants (see nullable). */
export function stringEnum<const Values extends readonly string[]>(values: Values, options: { description?: string; default?: Values[number] } = {}) {
  return Type.Unsafe<Values[number]>({ type: 'string', enum: [...values], ...options })
}
