// The OpenAPI document (/openapi.json) and the reference UI (/docs): generated from the routes,
// linted by Redocly's recommended rules, security requirements read from a route's access option,
// and the contract check that every test's responses go through (test/support/openapi-contract.ts).
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import Fastify from 'fastify'
import t from 'tap'
import { Type } from 'typebox'
import errorHandler from '../app/errors/error-handler.js'
import { DOCS_CONTENT_SECURITY_POLICY } from '../app/openapi/openapi-plugin.js'
import openapiPlugin from '../app/openapi/openapi-plugin.js'
import { buildTestApp } from './helpers.js'
import { checkResponsesAgainstDocument } from './support/openapi-contract.js'

const REDOCLY = path.resolve(import.meta.dirname, '../node_modules/@redocly/cli/bin/cli.js')

interface Operation {
  operationId: string
  summary?: string
  parameters?: { in: string; name: string }[]
  responses: Record<string, { content?: Record<string, { examples?: Record<string, { value: unknown }> }> }>
  security?: Record<string, string[]>[]
}
type Document = {
  openapi: string
  paths: Record<string, Record<string, Operation>>
  components?: { securitySchemes?: Record<string, unknown> }
}

const { app } = await buildTestApp(t)
const document = (await app.inject('/openapi.json')).json<Document>()
const operations = Object.entries(document.paths).flatMap(([url, item]) => Object.entries(item).map(([method, op]) => ({ url, method, op })))

t.test('/openapi.json is an OpenAPI 3.1 document of every API route, with parameters, responses and error examples', async (t) => {
  t.equal(document.openapi, '3.1.0')
  const routes = operations.map(({ url, method }) => `${method.toUpperCase()} ${url}`)
  for (const route of ['GET /health', 'GET /v1/planets', 'GET /v1/launches', 'POST /v1/launches', 'GET /v1/launches/{id}', 'DELETE /v1/launches/{id}', 'GET /v1/launches/stats']) {
    t.ok(routes.includes(route), `${route} is documented`)
  }
  t.notOk(routes.some((route) => /\/(docs|openapi\.json|assets)|^GET \/(launch|upcoming|history|planets)?$/.test(route)), 'pages, assets and the document itself are not API operations')
  for (const { url, method, op } of operations) {
    const name = `${method.toUpperCase()} ${url}`
    t.ok(op.summary, `${name} has a summary`)
    t.ok(Object.keys(op.responses).some((status) => status.startsWith('2')), `${name} documents its success`)
    for (const [, param] of url.matchAll(/\{([^}]+)\}/g)) {
      t.ok(op.parameters?.some((p) => p.in === 'path' && p.name === param), `${name} documents its path parameter ${param}`)
    }
    for (const [status, response] of Object.entries(op.responses).filter(([status]) => Number(status) >= 400 && url !== '/health')) {
      const examples = Object.values(response.content?.['application/json']?.examples ?? {})
      t.ok(examples.length > 0, `${name} ${status} shows an example error body`)
      for (const { value } of examples) t.match(value, { error: String, code: /^[A-Z_]+$/ }, `${name} ${status} example is in the error shape`)
    }
  }
  const lookup = document.paths['/v1/launches/{id}']!.get!.responses['404']!.content!['application/json']!.examples!
  t.same(lookup.LAUNCH_NOT_FOUND!.value, (await app.inject('/v1/launches/999999')).json(), 'the 404 example is the body the service sends')
})

t.test('Redocly lint (recommended rules) finds no error in the document', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'openapi-lint-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'openapi.json')
  await writeFile(file, JSON.stringify(document, null, 2))
  // Exit status 1 means errors were found; the JSON report says which either way.
  const result = await promisify(execFile)(process.execPath, [REDOCLY, 'lint', file, '--format=json', '--extends=recommended'], {
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    maxBuffer: 10 * 1024 * 1024
  }).catch((error: { stdout: string; stderr: string }) => error)
  const report = JSON.parse(result.stdout) as { totals: { errors: number; warnings: number }; problems: { ruleId: string; severity: string; message: string; location: { pointer: string }[] }[] }
  for (const problem of report.problems) t.comment(`redocly ${problem.severity} ${problem.ruleId}: ${problem.message} at ${problem.location[0]?.pointer}`)
  t.comment(`redocly lint: ${report.totals.errors} errors, ${report.totals.warnings} warnings`)
  t.equal(report.totals.errors, 0, 'no lint errors')
})

t.test('/docs is the self-hosted reference UI under a strict CSP', async (t) => {
  const page = await app.inject('/docs')
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /text\/html/)
  t.equal(page.headers['content-security-policy'], DOCS_CONTENT_SECURITY_POLICY)
  t.equal(page.headers['x-frame-options'], 'DENY')
  t.equal(page.headers['x-xss-protection'], '0', "a page: helmet's document headers too")
  t.notMatch(DOCS_CONTENT_SECURITY_POLICY, /unsafe|https?:/, 'no inline code, no other host')
  const scripts = [...page.body.matchAll(/<script src="([^"]+)"/g)].map((match) => match[1]!)
  t.ok(scripts.length > 0, 'the page loads its scripts')
  for (const src of scripts) {
    t.notMatch(src, /^(https?:)?\/\//, `${src} is served by this origin`)
    const asset = await app.inject(src)
    t.equal(asset.statusCode, 200, `${src} is served`)
  }
  t.notMatch(page.body, /<script>|<style|style="/, 'no inline script or style in the page')
  t.same((await app.inject('/docs/json')).json(), document, 'the UI reads the same document')
})

t.test("a route's access option becomes its security requirement; public routes need none", async (t) => {
  const bare = Fastify()
  await bare.register(errorHandler)
  await bare.register(openapiPlugin)
  const reply = { response: { 200: Type.Object({ ok: Type.Boolean() }) } }
  bare.post('/v1/things', { schema: { summary: 'Operators only', ...reply }, config: { access: 'operator' } as object }, async () => ({ ok: true }))
  bare.get('/v1/things', { schema: { summary: 'Anyone', ...reply }, config: { access: 'public' } as object }, async () => ({ ok: true }))
  bare.get('/v1/other', { schema: { summary: 'No option', ...reply } }, async () => ({ ok: true }))
  t.teardown(() => bare.close())
  const doc = (await bare.inject('/openapi.json')).json<Document>()
  t.same(doc.paths['/v1/things']!.post!.security, [{ sessionCookie: ['operator'] }, { bearerToken: ['operator'] }])
  t.same(doc.paths['/v1/things']!.get!.security, [])
  t.same(doc.paths['/v1/other']!.get!.security, [])
  t.match(doc.components?.securitySchemes, { sessionCookie: { type: 'apiKey', in: 'cookie' }, bearerToken: { type: 'http', scheme: 'bearer' } })
  t.match(document.components?.securitySchemes, { sessionCookie: { in: 'cookie' }, bearerToken: { scheme: 'bearer' } }, 'the service document declares the schemes its write routes need')
})

t.test('the contract check refuses an undocumented status and a body the document does not allow', async (t) => {
  const bare = Fastify()
  await bare.register(errorHandler)
  await bare.register(openapiPlugin)
  const schema = { summary: 'A timestamp', response: { 200: Type.Object({ at: Type.String({ format: 'date-time' }) }) } }
  bare.get('/v1/clock', { schema }, async (request, reply) => {
    const query = request.query as { status?: string; at?: string; text?: string }
    if (query.text) return reply.type('text/plain').send(query.text)
    return reply.code(Number(query.status ?? 200) as 200).send({ at: query.at ?? new Date().toISOString() })
  })
  checkResponsesAgainstDocument(bare)
  t.teardown(() => bare.close())
  t.equal((await bare.inject('/v1/clock')).statusCode, 200, 'a conforming response passes')
  await t.rejects(bare.inject('/v1/clock?at=yesterday'), /GET \/v1\/clock answered 200 with a body that does not match the document: \/at must match format "date-time"/)
  await t.rejects(bare.inject('/v1/clock?status=202'), /GET \/v1\/clock answered 202, a status the document does not list/)
  await t.rejects(bare.inject('/v1/clock?text=noon'), /GET \/v1\/clock answered 200 with "text\/plain", the document lists application\/json/)
  t.equal((await bare.inject('/nowhere')).statusCode, 404, 'paths outside the document are not checked')
})
