import type { IncomingMessage, ServerResponse } from 'node:http'
import fp from 'fastify-plugin'
import helmet, { strictTransportSecurity, type HelmetOptions } from 'helmet'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** 'page': the dashboard's Content-Security-Policy (PAGE_CSP_DIRECTIVES) instead of the API's. */
    securityHeaders?: 'page'
  }
}

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

/** The route config that gives a page route the dashboard's policy (dashboard-plugin.ts). */
export const pageHeaders = { securityHeaders: 'page' } as const

const ONE_YEAR_SECONDS = 365 * 24 * 60 * 60

type Middleware = (request: IncomingMessage, response: ServerResponse, next: () => void) => void

/**
 * The headers a helmet middleware sets, collected once. Helmet builds its middleware, and parses
 * the CSP directives, on every call, and @fastify/helmet called it on every request; the headers
 * depend on nothing in the request, so that only cost time.
 */
function headersOf(middleware: Middleware): Record<string, string> {
  const headers: Record<string, string> = {}
  const response = {
    setHeader: (name: string, value: string) => void (headers[name.toLowerCase()] = value),
    removeHeader: (name: string) => void delete headers[name.toLowerCase()]
  }
  middleware({} as IncomingMessage, response as unknown as ServerResponse, () => {})
  return headers
}

const common = { frameguard: { action: 'deny' }, referrerPolicy: { policy: 'no-referrer' }, hsts: false } as const satisfies HelmetOptions
/**
 * Helmet's headers that only a document (a page a browser renders) acts on: origin keying, DNS
 * prefetching, IE8's download prompt, Flash/PDF cross-domain policies, the retired XSS auditor.
 * JSON and files go without them, as OWASP's REST Security Cheat Sheet lists: every byte and header
 * is paid on every API answer, by the service and by its clients.
 */
const DOCUMENT_ONLY = {
  originAgentCluster: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false
} as const satisfies HelmetOptions
const API_HEADERS = headersOf(helmet({ ...common, ...DOCUMENT_ONLY, contentSecurityPolicy: { useDefaults: false, directives: API_CSP_DIRECTIVES } }))
const PAGE_HEADERS = headersOf(helmet({ ...common, contentSecurityPolicy: { useDefaults: false, directives: PAGE_CSP_DIRECTIVES } }))
const HSTS = headersOf(strictTransportSecurity({ maxAge: ONE_YEAR_SECONDS, includeSubDomains: true }))

/**
 * Security headers on every response, HTML and JSON alike, errors and 404s included: CSP,
 * nosniff, X-Frame-Options DENY, Referrer-Policy no-referrer, Cross-Origin-Opener- and
 * -Resource-Policy same-origin; pages also get helmet's other defaults (DOCUMENT_ONLY).
 * HSTS only on requests that came over HTTPS (X-Forwarded-Proto from the load balancer): over
 * plain HTTP it means nothing, and local development stays on http://localhost. The headers are computed by helmet at start-up
 * (headersOf) and set on the reply, so Fastify writes them with its own.
 */
export default fp(
  async (app) => {
    app.addHook('onRequest', (request, reply, done) => {
      reply.headers(request.routeOptions.config.securityHeaders === 'page' ? PAGE_HEADERS : API_HEADERS)
      if (request.protocol === 'https') reply.headers(HSTS)
      done()
    })
  },
  { name: 'security-headers' }
)
