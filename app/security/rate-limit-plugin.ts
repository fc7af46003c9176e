import fastifyRateLimit from '@fastify/rate-limit'
import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'
import { tooManyRequests } from '../errors/http-errors.js'

export interface RateLimitOptions {
  /** Requests per minute and client IP: GET/HEAD/OPTIONS, and everything else. 0 = no limit. */
  ipReadsPerMinute: number
  ipWritesPerMinute: number
  /** Writes per minute and operator, whichever IP they come from. 0 = no limit. */
  operatorWritesPerMinute: number
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])
const MINUTE_MS = 60_000

/**
 * Request rates, counted in this instance's memory (@fastify/rate-limit's LRU store): with N
 * instances behind the load balancer a client gets up to N × the limit. That is deliberate: these
 * limits brake one client flooding an instance, at no cost to the read path (no database round
 * trip per request); the WAF's per-IP rule limits across the fleet, and the limit that guards
 * accounts (failed sign-ins, app/auth/sign-in-throttle.ts) is in PostgreSQL. /health is exempt
 * (the load balancer's checks). Per IP runs first, before any credential is checked; per operator
 * once the operator is known.
 */
export default fp<RateLimitOptions>(
  async (app, limits) => {
    await app.register(fastifyRateLimit, { global: false })

    const limiter = (max: number, keyGenerator: (request: FastifyRequest) => string) =>
      max > 0 ? app.createRateLimit({ max, timeWindow: MINUTE_MS, keyGenerator }) : undefined
    const byIpReads = limiter(limits.ipReadsPerMinute, (request) => `read:${request.ip}`)
    const byIpWrites = limiter(limits.ipWritesPerMinute, (request) => `write:${request.ip}`)
    const byOperator = limiter(limits.operatorWritesPerMinute, (request) => `operator:${request.operator?.id}`)

    const enforce = async (check: NonNullable<ReturnType<typeof limiter>>, request: FastifyRequest) => {
      const result = await check(request)
      if (!result.isAllowed && result.isExceeded) {
        throw tooManyRequests('RATE_LIMITED', `Too many requests: retry in ${result.ttlInSeconds} s`, result.ttlInSeconds)
      }
    }

    // Hooks with `done`, not async, and none for a limit that is off: requests no limit applies
    // to pass without a promise.
    if (byIpReads || byIpWrites) {
      app.addHook('onRequest', (request, _reply, done) => {
        const check = SAFE_METHODS.has(request.method) ? byIpReads : byIpWrites
        if (!check || request.routeOptions.url === '/health') return done()
        enforce(check, request).then(() => done(), done)
      })
    }
    if (byOperator) {
      app.addHook('preHandler', (request, _reply, done) => {
        if (!request.operator || SAFE_METHODS.has(request.method)) return done()
        enforce(byOperator, request).then(() => done(), done)
      })
    }
  },
  { name: 'rate-limits' }
)
