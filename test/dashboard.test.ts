// How the service serves the built dashboard: page routes, cache and security headers,
// precompressed variants, JSON 404s, and a clear 503 when the dashboard has not been built.
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import Fastify from 'fastify'
import t from 'tap'
import { trustedProxies } from '../app/app.js'
import dashboardPlugin, { DASHBOARD_PAGES } from '../app/dashboard/dashboard-plugin.js'
import errorHandler from '../app/errors/error-handler.js'
import securityHeaders from '../app/security/security-headers-plugin.js'
import { buildClient } from '../client/build.js'
import { buildTestApp } from './helpers.js'

async function serve(t: { teardown(fn: () => unknown): void }, root: string) {
  const app = Fastify({ trustProxy: trustedProxies(2) })
  await app.register(errorHandler)
  await app.register(securityHeaders)
  await app.register(dashboardPlugin, { root })
  t.teardown(() => app.close())
  await app.ready()
  return app
}

const built = await mkdtemp(path.join(tmpdir(), 'client-dist-'))
t.teardown(() => rm(built, { recursive: true, force: true }))
await buildClient(built)
const indexHtml = await readFile(path.join(built, 'index.html'), 'utf8')
const script = /src="(\/assets\/main-[^"]+\.js)"/.exec(indexHtml)![1]!

const PAGE_CSP =
  "default-src 'self';script-src 'self';style-src 'self';img-src 'self';font-src 'self';connect-src 'self';" +
  "object-src 'none';base-uri 'none';form-action 'self';frame-ancestors 'none'"

t.test('every page route answers index.html, never cached, under a strict CSP and the security headers', async (t) => {
  const app = await serve(t, built)
  for (const url of DASHBOARD_PAGES) {
    const response = await app.inject({ method: 'GET', url })
    t.equal(response.statusCode, 200, url)
    t.match(response.headers['content-type'], /^text\/html/)
    t.equal(response.headers['cache-control'], 'no-cache')
    t.equal(response.headers['content-security-policy'], PAGE_CSP)
    t.equal(response.headers['x-content-type-options'], 'nosniff')
    t.equal(response.headers['x-frame-options'], 'DENY')
    t.equal(response.headers['referrer-policy'], 'no-referrer')
    t.equal(response.headers['cross-origin-opener-policy'], 'same-origin')
    t.equal(response.headers['cross-origin-resource-policy'], 'same-origin')
    t.equal(response.headers['strict-transport-security'], undefined, 'no HSTS over plain HTTP')
    t.equal(response.body, indexHtml)
  }
  const https = await app.inject({ method: 'GET', url: '/launch', headers: { 'x-forwarded-proto': 'https' } })
  t.equal(https.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains', 'HSTS over HTTPS')
  t.equal(https.headers['content-security-policy'], PAGE_CSP)
  const asset = await app.inject({ method: 'GET', url: script, headers: { 'x-forwarded-proto': 'https' } })
  t.equal(asset.headers['x-content-type-options'], 'nosniff', 'assets too')
  t.equal(asset.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains')
  t.notMatch(indexHtml, /<script>|<style|style=/, 'no inline script or style for the CSP to refuse')
})

t.test('index.html revalidates with its ETag', async (t) => {
  const app = await serve(t, built)
  const first = await app.inject({ method: 'GET', url: '/history' })
  const again = await app.inject({ method: 'GET', url: '/history', headers: { 'if-none-match': first.headers.etag as string } })
  t.equal(again.statusCode, 304)
})

t.test('brotli or gzip variants are sent when accepted, with the same content', async (t) => {
  const app = await serve(t, built)
  const original = await readFile(path.join(built, script.slice(1)))
  const plain = await app.inject({ method: 'GET', url: script })
  t.equal(plain.headers['content-encoding'], undefined)
  t.same(plain.rawPayload, original)
  const br = await app.inject({ method: 'GET', url: script, headers: { 'accept-encoding': 'gzip, deflate, br' } })
  t.equal(br.headers['content-encoding'], 'br')
  t.same(brotliDecompressSync(br.rawPayload), original)
  t.ok(br.rawPayload.length < original.length / 2, 'brotli more than halves the script')
  const gzip = await app.inject({ method: 'GET', url: script, headers: { 'accept-encoding': 'gzip' } })
  t.equal(gzip.headers['content-encoding'], 'gzip')
  t.same(gunzipSync(gzip.rawPayload), original)
  t.match(br.headers.vary, /accept-encoding/i)
  const page = await app.inject({ method: 'GET', url: '/planets', headers: { 'accept-encoding': 'br' } })
  t.equal(page.headers['content-encoding'], 'br')
  t.equal(page.headers['cache-control'], 'no-cache', 'the compressed index.html is not cached either')
  t.equal(brotliDecompressSync(page.rawPayload).toString(), indexHtml)
})

t.test('hashed assets are cached for a year as immutable', async (t) => {
  const app = await serve(t, built)
  const response = await app.inject({ method: 'GET', url: script })
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /javascript/)
  t.equal(response.headers['cache-control'], 'public, max-age=31536000, immutable')
})

t.test('unknown assets, pages and /v1 paths are JSON 404s', async (t) => {
  const app = await serve(t, built)
  for (const url of ['/assets/main-0000000000.js', '/v1/nothing-here', '/launches', '/index.html']) {
    const response = await app.inject({ method: 'GET', url, headers: { 'accept-encoding': 'br, gzip' } })
    t.equal(response.statusCode, 404, url)
    t.same(response.json(), { error: 'Not Found', code: 'NOT_FOUND' }, url)
    t.equal(response.headers['cache-control'], undefined, `${url} is not cached`)
  }
})

t.test('without a build the pages answer 503 saying how to build, and the API keeps working', async (t) => {
  const empty = await mkdtemp(path.join(tmpdir(), 'client-dist-missing-'))
  t.teardown(() => rm(empty, { recursive: true, force: true }))
  const app = await serve(t, empty)
  const response = await app.inject({ method: 'GET', url: '/upcoming' })
  t.equal(response.statusCode, 503)
  t.same(response.json(), { error: 'The dashboard is not built: run `npm run build` and restart', code: 'DASHBOARD_NOT_BUILT' })
  t.equal((await app.inject({ method: 'GET', url: '/v1/nothing-here' })).statusCode, 404)

  const { app: service } = await buildTestApp(t)
  t.equal((await service.inject({ method: 'GET', url: '/health' })).statusCode, 200, 'the whole service starts either way')
})
