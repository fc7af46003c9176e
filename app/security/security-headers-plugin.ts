import fastifyHelmet from '@fastify/helmet'
import fp from 'fastify-plugin'
import { strictTransportSecurity } from 'helmet'

/**
 * The dashboard pages may load only what this origin serves: no inline script or style, no other
 * host, no framing. The dashboard is built to need nothing more (see client/build.ts).
 */
export const PAGE_CSP_DIRECTIVES = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'"],
  'font-src': ["'self'"],
  'connect-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"]
}

/** JSON and files are never documents that load anything: the strictest policy. */
const API_CSP_DIRECTIVES = { 'default-src': ["'none'"], 'frame-ancestors': ["'none'"] }

/** The route option that gives a page route the dashboard's policy (dashboard-plugin.ts). */
export const pageHelmet = { contentSecurityPolicy: { useDefaults: false, directives: PAGE_CSP_DIRECTIVES } } as const

const ONE_YEAR_SECONDS = 365 * 24 * 60 * 60
const hsts = strictTransportSecurity({ maxAge: ONE_YEAR_SECONDS, includeSubDomains: true })

/**
 * Security headers on every response, HTML and JSON alike, errors and 404s included: CSP,
 * nosniff, X-Frame-Options DENY, Referrer-Policy no-referrer, Cross-Origin-Opener- and
 * -Resource-Policy same-origin (helmet's defaults otherwise). HSTS only on requests that came
 * over HTTPS (X-Forwarded-Proto from the load balancer): over plain HTTP it means nothing, and
 * local development stays on http://localhost.
 */
export default fp(
  async (app) => {
    await app.register(fastifyHelmet, {
      global: true,
      contentSecurityPolicy: { useDefaults: false, directives: API_CSP_DIRECTIVES },
      frameguard: { action: 'deny' },
      referrerPolicy: { policy: 'no-referrer' },
      hsts: false
    })
    app.addHook('onRequest', (request, reply, done) => {
      if (request.protocol === 'https') hsts(request.raw, reply.raw, () => {})
      done()
    })
  },
  { name: 'security-headers' }
)
