import fastifySwagger from '@fastify/swagger'
import fastifySwaggerUi from '@fastify/swagger-ui'
import fp from 'fastify-plugin'
import { pageHeaders } from '../security/security-headers-plugin.js'
import { version } from '../version.js'
import { describeOperation, describeDocument } from './operations.js'

/** The reference UI's policy: the dashboard's, plus the data: images swagger-ui's stylesheet uses for its icons. */
export const DOCS_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'"
].join('; ')

/**
 * The OpenAPI 3.1 document, generated from the route schemas of every route registered after this
 * plugin (@fastify/swagger collects them as they are added), served at /openapi.json, and the
 * self-hosted swagger-ui reference at /docs. Routes opt out with `schema: { hide: true }`.
 */
export default fp(
  async (app) => {
    await app.register(fastifySwagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Mission Control API',
          version,
          summary: 'Habitable Kepler planets, interstellar launch scheduling and SpaceX launch history',
          description:
            'Every error is `{ "error": "<message>", "code": "<STABLE_CODE>" }`, plus `field` when one request ' +
            'property is at fault. Every response carries `X-Request-Id`.',
          license: { name: 'MIT', identifier: 'MIT' }
        },
        servers: [{ url: '/', description: 'The service that serves this document' }]
      },
      transform: describeOperation,
      transformObject: describeDocument
    })

    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())

    // The reference UI is a page: the pages' security headers (its own CSP, staticCSP, replaces theirs).
    app.addHook('onRoute', (route) => {
      if (route.url.startsWith('/docs')) route.config = { ...route.config, ...pageHeaders }
    })
    // swagger-ui's own routes (/docs, /docs/static/*, /docs/json) are hidden from the document.
    await app.register(fastifySwaggerUi, {
      routePrefix: '/docs',
      staticCSP: DOCS_CONTENT_SECURITY_POLICY,
      theme: { title: 'Mission Control API reference' },
      // BaseLayout: no top bar, whose inline SVG logo carries a <style> the CSP refuses.
      uiConfig: { layout: 'BaseLayout', deepLinking: true, tryItOutEnabled: false },
      // No badge from the public validator: the page asks nothing of any other host.
      validatorUrl: false
    })
  },
  { name: 'openapi', dependencies: ['error-handler'] }
)
