import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Config } from './config/config.js'
import type { DatabaseHandle } from './database/database.js'
import databasePlugin from './database/database-plugin.js'
import errorHandler from './errors/error-handler.js'
import healthRoutes from './health/health-routes.js'
import planetsRoutes from './planets/planets-routes.js'
import launchesRoutes from './launches/launches-routes.js'
import spacexSyncPlugin from './spacex/spacex-sync-plugin.js'
import dashboardPlugin from './dashboard/dashboard-plugin.js'
import authPlugin from './auth/auth-plugin.js'
import sessionRoutes from './auth/session-routes.js'
import tokensRoutes from './auth/tokens-routes.js'
import operatorsRoutes from './operators/operators-routes.js'
import auditRoutes from './audit/audit-routes.js'
import securityHeaders from './security/security-headers-plugin.js'
import rateLimits from './security/rate-limit-plugin.js'
import writesPlugin from './writes/writes-plugin.js'
import { requestId } from './logger.js'
import { validatorCompiler } from './validation.js'

/**
 * The ALB and nginx sit in front: the client's address is the X-Forwarded-For entry `hops` from
 * the right (the address the ALB saw), so whatever a client writes into X-Forwarded-For itself is
 * ignored. The immediate peer must be loopback (nginx on the instance): a client reaching the
 * port directly is taken at its socket address. (Fastify 5.12 refuses a bare hop count for that
 * reason.)
 */
export function trustedProxies(hops: number): false | ((address: string, hop: number) => boolean) {
  if (hops === 0) return false
  return (address, hop) => hop < hops && (hop > 0 || isLoopback(address))
}

function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.')
}

/** Request bodies above this are refused with 413; nginx's client_max_body_size matches it. */
export const BODY_LIMIT_BYTES = 16 * 1024

export interface BuildAppOptions {
  config: Config
  database: DatabaseHandle
  /** The process logger (server.ts); tests leave it out and get a silent one. */
  loggerInstance?: FastifyBaseLogger
}

/**
 * Builds the whole service as a Fastify instance without listening: server.ts listens,
 * tests call `inject`. Plugins declare what they depend on; Fastify checks the graph at ready.
 */
export async function buildApp({ config, database, loggerInstance }: BuildAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(loggerInstance ? { loggerInstance } : { logger: false }),
    genReqId: requestId,
    logController: new LogController({
      requestIdLogLabel: 'requestId',
      // The load balancer checks /health every few seconds per instance; failures still log.
      disableRequestLogging: (request) => request.url === '/health'
    }),
    trustProxy: trustedProxies(config.TRUST_PROXY_HOPS),
    bodyLimit: BODY_LIMIT_BYTES,
    return503OnClosing: true,
    connectionTimeout: 30_000,
    keepAliveTimeout: 65_000, // longer than the ALB's 60 s idle timeout, so the ALB closes first
    requestTimeout: 30_000,
  }).withTypeProvider<TypeBoxTypeProvider>()
  app.setValidatorCompiler(validatorCompiler)

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })
  // While shutting down, answers to requests in flight close their keep-alive connection:
  // otherwise the idle socket holds the server open until the keep-alive timeout.
  let closing = false
  app.addHook('preClose', async () => {
    closing = true
  })
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close')
  })

  await app.register(errorHandler)
  await app.register(databasePlugin, { database })
  // onRequest hooks run in this order: headers on every answer, per-IP limits before any
  // credential is looked at, then authentication and access (auth-plugin.ts).
  await app.register(securityHeaders)
  await app.register(rateLimits, {
    ipReadsPerMinute: config.RATE_LIMIT_IP_READS_PER_MINUTE,
    ipWritesPerMinute: config.RATE_LIMIT_IP_WRITES_PER_MINUTE,
    operatorWritesPerMinute: config.RATE_LIMIT_OPERATOR_WRITES_PER_MINUTE
  })
  await app.register(writesPlugin)
  await app.register(authPlugin, { authRequired: config.AUTH_REQUIRED })
  await app.register(healthRoutes)
  await app.register(planetsRoutes, { prefix: '/v1' })
  await app.register(launchesRoutes, { prefix: '/v1' })
  await app.register(sessionRoutes, {
    prefix: '/v1',
    signIn: { maxFailures: config.SIGN_IN_MAX_FAILURES, windowMinutes: config.SIGN_IN_FAILURE_WINDOW_MINUTES }
  })
  await app.register(tokensRoutes, { prefix: '/v1' })
  await app.register(operatorsRoutes, { prefix: '/v1' })
  await app.register(auditRoutes, { prefix: '/v1' })
  await app.register(spacexSyncPlugin, {
    apiUrl: config.SPACEX_API_URL,
    timeoutMs: config.SPACEX_TIMEOUT_MS,
    syncOnStart: config.SPACEX_SYNC_ON_START
  })
  await app.register(dashboardPlugin)
  return app
}
