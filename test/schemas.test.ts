// Every schema the service compiles is valid JSON Schema. The service's Ajv instances do not check
// this at start (validateSchema: false, app/validation.ts and app/config/config.ts: it cost a
// meta-schema compilation per instance at every start); the schemas are constants, so this test
// checks them all once, as Ajv did, against its draft-07 meta-schema.
import { Ajv } from 'ajv'
import type { RouteOptions } from 'fastify'
import t from 'tap'
import { ConfigSchema } from '../app/config/config.js'
import { buildTestApp } from './helpers.js'

// As the service's instances would have: the default meta-schema, the same strictness.
const ajv = new Ajv({ strict: false })

/** Each schema a route hands to the validator and serializer compilers, named for the message. */
function routeSchemas(route: RouteOptions): Array<[string, unknown]> {
  const schema = (route.schema ?? {}) as Record<string, unknown>
  const found: Array<[string, unknown]> = []
  for (const part of ['body', 'querystring', 'query', 'params', 'headers']) {
    if (schema[part] !== undefined) found.push([part, schema[part]])
  }
  for (const [status, response] of Object.entries((schema.response ?? {}) as Record<string, { content?: Record<string, { schema: unknown }> }>)) {
    if (response.content) {
      for (const [type, { schema: content }] of Object.entries(response.content)) found.push([`response ${status} ${type}`, content])
    } else {
      found.push([`response ${status}`, response])
    }
  }
  return found
}

t.test('every route schema is valid JSON Schema', async (t) => {
  const { app } = await buildTestApp(t)
  const routes = app.routeCatalog().filter((route) => route.schema !== undefined)
  t.ok(routes.length > 20, `${routes.length} routes with schemas`)
  let checked = 0
  for (const route of routes) {
    for (const [part, schema] of routeSchemas(route)) {
      checked++
      if (!ajv.validateSchema(schema as object)) t.fail(`${String(route.method)} ${route.url} ${part}: ${ajv.errorsText(ajv.errors)}`)
    }
  }
  t.ok(checked > 50, `${checked} schemas checked`)
})

t.test('the configuration schema is valid JSON Schema', async (t) => {
  t.ok(ajv.validateSchema(ConfigSchema), ajv.errorsText(ajv.errors))
})

t.test('an invalid schema is caught (the check checks)', async (t) => {
  t.notOk(ajv.validateSchema({ type: 'object', properties: { port: { type: 'integer', minimum: '1' } } }))
  t.notOk(ajv.validateSchema({ type: 'strin' }))
})
