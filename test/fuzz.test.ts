// Bad input, systematically: fast-check generates requests for every route the app registers
// (walked from its route schemas, so routes added later are fuzzed too), from each schema and
// from hostile values (control characters, NUL, unpaired surrogates, huge numbers, deep nesting,
// __proto__, wrong content types, oversized and truncated bodies). Every answer must be below
// 500, every 4xx in the error shape, and a rejected write must change nothing in the database.
import fc from 'fast-check'
import type { HTTPMethods, RouteOptions } from 'fastify'
import { sql } from 'kysely'
import t from 'tap'
import { BODY_LIMIT_BYTES } from '../app/app.js'
import { buildTestApp } from './helpers.js'

/** Across all routes, per run (PostgreSQL and PGlite each). */
const MINIMUM_REQUESTS = 10_000

type JsonSchema = {
  type?: string | string[]
  properties?: Record<string, JsonSchema>
  required?: string[]
  items?: JsonSchema
  anyOf?: JsonSchema[]
  const?: unknown
  minimum?: number
  maximum?: number
  minLength?: number
  maxLength?: number
  pattern?: string
  format?: string
  examples?: unknown[]
}

interface FuzzRequest {
  /** `POST /v1/launches/:id`: for the counts. */
  route: string
  method: string
  url: string
  headers: Record<string, string>
  payload?: string
}

// --- values ------------------------------------------------------------------------------------

const hostileText = fc.oneof(
  fc.string({ unit: 'binary-ascii', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('\u0000', 'a\u0000b', '\ud800', 'x\udfff', '\u202e', '\u0085', '\r\n', '\u00a0', '\ufeff', ' ', '', "' or 1=1 --", '%00', '../../etc/passwd', '{{7*7}}'),
  fc.string({ unit: 'grapheme', minLength: 90, maxLength: 120 }),
  fc.string({ maxLength: 20 }).map((text) => text + String.fromCharCode(0xd800 + (text.length % 0x400)))
)

const hostileNumber = fc.oneof(
  fc.constantFrom(0, -1, 1.5, 2 ** 31, 2 ** 53 + 1, Number.MAX_SAFE_INTEGER, -Number.MAX_VALUE, Number.MAX_VALUE, 1e-300),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer()
)

/** Anything JSON can carry, nested a little; text and numbers from the hostile sets. */
const hostileJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileText,
    hostileNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(hostileText, tie('value'), { maxKeys: 4 })
  )
})).value

/**
 * Values the API itself answered with (planet names, flight numbers…), filled in before the run:
 * mixed into generated values so that some requests are valid and reach the database.
 */
const known = { strings: ['Kepler-442 b'], integers: [1000] }

/** A value shaped by the schema: mostly close to valid, with hostile values mixed in. */
function fromSchema(schema: JsonSchema | undefined): fc.Arbitrary<unknown> {
  if (!schema) return hostileJson
  if (schema.anyOf) return fc.oneof(...schema.anyOf.map(fromSchema))
  if (schema.const !== undefined) return fc.constant(schema.const)
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type
  switch (type) {
    case 'string': {
      const shaped = schema.pattern
        ? fc.stringMatching(new RegExp(schema.pattern, 'u')).filter((text) => text.length <= (schema.maxLength ?? 1000))
        : fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 50, 200) })
      const dated = schema.format === 'date-time' || /date/i.test(JSON.stringify(schema)) ? [dateText] : []
      return fc.oneof(shaped, hostileText, fc.constantFrom(...known.strings), ...dated)
    }
    case 'integer':
      return fc.oneof(fc.integer({ min: schema.minimum ?? -1000, max: schema.maximum ?? 1_000_000 }), hostileNumber, fc.constantFrom(...known.integers))
    case 'number':
      return fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), hostileNumber)
    case 'boolean':
      return fc.oneof(fc.boolean(), hostileText)
    case 'array':
      return fc.oneof(fc.array(fromSchema(schema.items), { maxLength: 5 }), hostileJson)
    case 'object': {
      const properties = Object.fromEntries(Object.entries(schema.properties ?? {}).map(([name, property]) => [name, fromSchema(property)]))
      // Every property from its documented examples or from what the API answered: requests valid
      // as a whole, so the success path is fuzzed too.
      const plausible = Object.fromEntries(
        Object.entries(schema.properties ?? {}).map(([name, property]) => [
          name,
          property.examples?.length ? fc.constantFrom(...property.examples) : property.type === 'integer' ? fc.constantFrom(...known.integers) : fc.constantFrom(...known.strings)
        ])
      )
      return fc.oneof(
        { weight: 4, arbitrary: fc.record(properties, { requiredKeys: [] }) },
        { weight: 1, arbitrary: fc.record(properties) },
        { weight: 2, arbitrary: fc.record(plausible) },
        { weight: 1, arbitrary: hostileJson }
      )
    }
    default:
      return hostileJson
  }
}

/** Dates as clients write them, near and far: ISO, human, extended years, nonsense. */
const dateText = fc.oneof(
  fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true }).map((date) => date.toISOString()),
  fc.integer({ min: 1900, max: 2200 }).map((year) => `${year}-06-01`),
  fc.integer({ min: 1, max: 300_000 }).map((year) => `January 4, ${year}`),
  fc.constantFrom('+275760-09-13T00:00:00.000Z', '-271821-04-20', '2030-02-30', '2030-13-01', 'tomorrow', '0', '1e10')
)

// --- requests ----------------------------------------------------------------------------------

/** Percent-encodes anything, unpaired surrogates included (as the bytes a broken client would send). */
function encode(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? ''
  let out = ''
  for (const char of text) {
    try {
      out += encodeURIComponent(char)
    } catch {
      const unit = char.charCodeAt(0)
      out += [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)].map((byte) => `%${byte.toString(16).toUpperCase()}`).join('')
    }
  }
  return out
}

function url(route: RouteOptions, params: Record<string, unknown>, query: Record<string, unknown>): string {
  const path = route.url.replace(/:(\w+)/g, (_, name: string) => (name in params ? encode(params[name]) : '1'))
  const search = Object.entries(query)
    .map(([name, value]) => `${encode(name)}=${encode(value)}`)
    .join('&')
  return search ? `${path}?${search}` : path
}

const schemaOf = (route: RouteOptions, part: 'params' | 'querystring' | 'body' | 'headers') => route.schema?.[part] as JsonSchema | undefined

/** Header values the schema allows (a client cannot send control characters in a header at all). */
function headersFromSchema(schema: JsonSchema | undefined): fc.Arbitrary<Record<string, string>> {
  const properties = Object.entries(schema?.properties ?? {}).filter(([, property]) => property.pattern)
  return fc.record(
    Object.fromEntries(properties.map(([name, property]) => [name, fc.stringMatching(new RegExp(property.pattern!, 'u')).filter((value) => value.length <= 300)])),
    { requiredKeys: [] }
  ) as fc.Arbitrary<Record<string, string>>
}

/** Requests built from the route's schemas: parameters, query string and JSON body. */
function shapedRequest(route: RouteOptions, method: string): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({
      params: fromSchema(schemaOf(route, 'params') ?? { type: 'object' }),
      query: fromSchema(schemaOf(route, 'querystring') ?? { type: 'object' }),
      headers: headersFromSchema(schemaOf(route, 'headers')),
      body: fromSchema(schemaOf(route, 'body'))
    })
    .map(({ params, query, headers, body }) => ({
      route: `${method} ${route.url}`,
      method,
      url: url(route, asObject(params), asObject(query)),
      headers: method === 'GET' || method === 'DELETE' ? headers : { ...headers, 'content-type': 'application/json' },
      ...(method === 'GET' || method === 'DELETE' ? {} : { payload: JSON.stringify(body) ?? 'null' })
    }))
}

/** Bodies no schema describes: wrong content types, too large, cut short, deeply nested, __proto__. */
function brokenBody(route: RouteOptions, method: string): fc.Arbitrary<FuzzRequest> {
  const json = fromSchema(schemaOf(route, 'body')).map((body) => JSON.stringify(body) ?? 'null')
  const withType = (contentType: string) => (payload: string): FuzzRequest => ({
    route: `${method} ${route.url}`,
    method,
    url: route.url.replace(/:\w+/g, '1'),
    headers: { 'content-type': contentType },
    payload
  })
  return fc.oneof(
    json.map(withType('text/plain')),
    json.map(withType('application/x-www-form-urlencoded')),
    json.map(withType('multipart/form-data; boundary=x')),
    json.map(withType('application/json; charset=latin1')),
    fc.integer({ min: BODY_LIMIT_BYTES + 1, max: BODY_LIMIT_BYTES * 4 }).map((size) => withType('application/json')(JSON.stringify({ mission: 'x'.repeat(size) }))),
    fc.tuple(json, fc.nat()).map(([text, cut]) => withType('application/json')(text.slice(0, cut % Math.max(text.length, 1)))),
    fc.integer({ min: 100, max: 8000 }).map((depth) => withType('application/json')('['.repeat(depth) + ']'.repeat(depth))),
    fc.integer({ min: 100, max: 5000 }).map((depth) => withType('application/json')('{"a":'.repeat(depth) + '1' + '}'.repeat(depth))),
    json.map((text) => withType('application/json')(`{"__proto__":{"admin":true},${text.startsWith('{') ? text.slice(1) : '"x":1}'}`)),
    json.map((text) => withType('application/json')(`{"constructor":{"prototype":{"admin":true}},"mission":${JSON.stringify(text)}}`)),
    fc.constant(withType('application/json')('')),
    json.map((text) => ({ ...withType('application/json')(text), headers: { 'content-type': 'application/json', 'content-length': String(text.length + 10) } }))
  )
}

function asObject(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {}
}

// --- the run -----------------------------------------------------------------------------------

t.setTimeout(900_000)

t.test('every route, fuzzed: no 5xx, every 4xx in the error shape, rejected writes change nothing', async (t) => {
  // AUTH_REQUIRED=false lets writes reach validation once writes need an operator; the per-IP
  // limits (tested in security.test.ts) would otherwise answer most of the run with 429.
  const { app } = await buildTestApp(t, {
    env: { AUTH_REQUIRED: 'false', RATE_LIMIT_IP_READS_PER_MINUTE: '0', RATE_LIMIT_IP_WRITES_PER_MINUTE: '0', RATE_LIMIT_OPERATOR_WRITES_PER_MINUTE: '0' }
  })
  const routes = app
    .routeCatalog()
    .filter((route) => route.schema !== undefined)
    // An event stream never ends, so inject never returns: test/events.test.ts reads it over a socket.
    .filter((route) => !JSON.stringify(route.schema?.response ?? {}).includes('"text/event-stream"'))
    .flatMap((route) => ([] as HTTPMethods[]).concat(route.method).filter((method) => method !== 'HEAD').map((method) => ({ route, method })))
  t.ok(routes.length >= 7, `${routes.length} routes with schemas: ${routes.map(({ method, route }) => `${method} ${route.url}`).join(', ')}`)

  const tables = (
    await sql<{ name: string }>`select table_name as name from information_schema.tables
      where table_schema = 'public' and table_type = 'BASE TABLE' and table_name not like 'kysely_%' order by 1`.execute(app.db)
  )
    .rows.map((row) => row.name)
    // A refused sign-in is recorded on purpose (the throttle's count, and its audit row, below).
    .filter((name) => name !== 'sign_in_failures')
  /** Every row of every table, hashed: a rejected write must leave it as it was. */
  const fingerprint = async () =>
    (
      await sql<{ hash: string }>`select md5(${sql.raw(
        tables
          .map((table) => {
            const kept = table === 'audit_events' ? ` where r.action <> 'session.sign_in_failed'` : ''
            return `coalesce((select string_agg(md5(r::text), '' order by r::text) from ${table} r${kept}), '')`
          })
          .join(' || ')
      )}) as hash`.execute(app.db)
    ).rows[0]!.hash

  // Strings and integers from every API GET route without parameters, e.g. planet names (not the
  // API's own description at /openapi.json, whose hundreds of strings would drown them).
  for (const { route } of routes.filter(({ method, route }) => method === 'GET' && route.url.startsWith('/v1/') && !route.url.includes(':'))) {
    const response = await app.inject({ method: 'GET', url: route.url })
    if (!/json/.test(String(response.headers['content-type']))) continue
    JSON.stringify(response.json(), (_key, value: unknown) => {
      if (typeof value === 'string' && value.length <= 100) known.strings.push(value)
      if (Number.isInteger(value)) known.integers.push(value as number)
      return value
    })
  }

  // Dates a launch may have: today's year and the next few.
  for (let year = 1; year <= 3; year++) known.strings.push(`${new Date().getUTCFullYear() + year}-06-15`)
  known.strings = [...new Set(known.strings)]
  known.integers = [...new Set(known.integers)]

  let state = await fingerprint()
  const statuses = new Map<string, number>()
  const perRoute = new Map<string, number>()
  let requests = 0

  const check = async (request: FuzzRequest) => {
    const response = await app.inject({ method: request.method as HTTPMethods, url: request.url, headers: request.headers, payload: request.payload })
    requests++
    perRoute.set(request.route, (perRoute.get(request.route) ?? 0) + 1)
    statuses.set(String(response.statusCode), (statuses.get(String(response.statusCode)) ?? 0) + 1)
    const describe = () => `${request.method} ${request.url} ${JSON.stringify(request.headers)} ${request.payload?.slice(0, 300)} → ${response.statusCode} ${response.body.slice(0, 300)}`
    if (response.statusCode >= 500) throw new Error(`server error: ${describe()}`)
    if (response.statusCode >= 400) {
      const body = response.json() as Record<string, unknown>
      const shaped =
        typeof body.error === 'string' &&
        typeof body.code === 'string' &&
        (body.field === undefined || typeof body.field === 'string') &&
        Object.keys(body).every((name) => ['error', 'code', 'field'].includes(name))
      if (!shaped) throw new Error(`not the error shape: ${describe()}`)
    }
    if (request.method !== 'GET') {
      const after = await fingerprint()
      if (response.statusCode >= 400 && after !== state) throw new Error(`a rejected write changed the database: ${describe()}`)
      state = after
    }
  }

  const perProperty = Math.ceil(MINIMUM_REQUESTS / (routes.length * 2 + routes.filter(({ method }) => method === 'POST').length))
  for (const { route, method } of routes) {
    await fc.assert(fc.asyncProperty(shapedRequest(route, method), check), { numRuns: perProperty })
    const hostile = fc.record({ params: fc.dictionary(fc.constantFrom('id', 'x'), hostileJson), query: fc.dictionary(fc.oneof(fc.constantFrom('page', 'limit', 'q', 'upcoming', 'source', 'outcome', 'order', '__proto__', 'constructor'), hostileText), hostileJson) })
    await fc.assert(
      fc.asyncProperty(hostile, async ({ params, query }) => check({ route: `${method} ${route.url}`, method, url: url(route, params, query), headers: {} })),
      { numRuns: perProperty }
    )
    if (method === 'POST') await fc.assert(fc.asyncProperty(brokenBody(route, method), check), { numRuns: perProperty })
  }

  t.comment(`${requests} requests: ${[...perRoute.entries()].map(([route, count]) => `${route} ${count}`).join(', ')}`)
  t.comment(`statuses: ${[...statuses.entries()].sort().map(([status, count]) => `${status} × ${count}`).join(', ')}`)
  t.ok(requests >= MINIMUM_REQUESTS, `${requests} requests sent (at least ${MINIMUM_REQUESTS})`)
  t.notOk([...statuses.keys()].some((status) => Number(status) >= 500), 'no 5xx')
  t.ok(statuses.has('201'), 'some generated writes were valid and stored (the success path is fuzzed too)')
})
