import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, type RouteOptions } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Logger } from 'pino'
import type { Config } from './config/config.js'
import type { DatabaseHandle } from './database/database.js'
import databasePlugin from './database/database-plugin.js'
import errorHandler from './errors/error-handler.js'
import healthRoutes from './health/health-routes.js'
import loadShedding from './health/load-shedding.js'
import planetsRoutes from './planets/planets-routes.js'
import launchesRoutes from './launches/launches-routes.js'
import spacexSyncPlugin from './spacex/spacex-sync-plugin.js'
import dashboardPlugin from './dashboard/dashboard-plugin.js'
import openapiPlugin from './openapi/openapi-plugin.js'
import metricsPlugin from './metrics/metrics-plugin.js'
import authPlugin from './auth/auth-plugin.js'
import sessionRoutes from './auth/session-routes.js'
import tokensRoutes from './auth/tokens-routes.js'
import operatorsRoutes from './operators/operators-routes.js'
import auditRoutes from './audit/audit-routes.js'
import securityHeaders from './security/security-headers-plugin.js'
import rateLimits from './security/rate-limit-plugin.js'
import writesPlugin from './writes/writes-plugin.js'
import eventsPlugin from './events/events-plugin.js'
import eventsRoutes from './events/events-routes.js'
import readCachePlugin from './cache/cache-plugin.js'
import { requestId } from './logger.js'
import { serializerCompiler, validatorCompiler } from './validation.js'

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

/**
 * One access-log line per request, when it is answered: the request (method, URL, client
 * address), the status and the time, with the request id. Fastify's default also logs each
 * request as it arrives, which doubled the logging cost of a request (about 7 µs a line, the
 * largest part of a cached read's CPU); that line stays at debug level (a request that never
 * completes still shows there). Errors are logged as before.
 */
class OneLinePerRequest extends LogController {
  /** The access line's logger: the app's, without redaction (see requestCompleted). */
  #accessLog = new WeakMap<FastifyBaseLogger, FastifyBaseLogger>()

  override incomingRequest(request: FastifyRequest): void {
    if (!this.isLogDisabled(request)) request.log.debug({ req: request }, 'incoming request')
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return
    if (error) return void reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored')
    // The line reply.log.info would write (the request id first, as its binding), through a logger
    // without the redaction paths: its fields are the req and res serializers' (method, URL with
    // its secrets masked, host, address, port; status), which carry no header, password or token.
    // pino's redaction runs a selective clone and restore for every key of every line: it was about
    // two thirds of the line's cost (15 → 5 µs a line, measured alone on a loaded machine).
    if (!(request.log as Logger).isLevelEnabled('info')) return
    let log = this.#accessLog.get(request.server.log)
    if (!log) this.#accessLog.set(request.server.log, (log = request.server.log.child({}, { redact: [] })))
    log.info({ [this.requestIdLogLabel]: request.id, req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed')
  }
}

/** Request bodies above this are refused with 413; nginx's client_max_body_size matches it. */
export const BODY_LIMIT_BYTES = 16 * 1024

declare module 'fastify' {
  interface FastifyInstance {
    /** First step of a graceful shutdown (server.ts): keep serving, but close every connection after its answer. */
    startDraining(): void
    /** Runs `listener` once when draining starts (or at close): long-lived streams end then. */
    onDraining(listener: () => void): void
    /** Every route as registered, schema included: the API's shape for tools (the fuzz tests walk it). */
    routeCatalog(): readonly RouteOptions[]
  }
}

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
    logController: new OneLinePerRequest({
      requestIdLogLabel: 'requestId',
      // The load balancer checks /health every few seconds per instance; failures still log.
      disableRequestLogging: (request) => request.url === '/health'
    }),
    trustProxy: trustedProxies(config.TRUST_PROXY_HOPS),
    bodyLimit: BODY_LIMIT_BYTES,
    // Requests that still arrive on open connections while closing are answered, not refused.
    return503OnClosing: false,
    connectionTimeout: 30_000,
    keepAliveTimeout: 65_000, // longer than the ALB's 60 s idle timeout, so the ALB closes first
    requestTimeout: 30_000,
    // A URL that cannot be decoded (`%ED%A0%80`, an unpaired surrogate) never reaches a route, or
    // the error handler: it gets the API's error shape here.
    frameworkErrors: (_error, _request, reply) => void (reply as FastifyReply).code(400).send({ error: 'The URL is not valid', code: 'INVALID_URL' })
  }).withTypeProvider<TypeBoxTypeProvider>()
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  const routes: RouteOptions[] = []
  app.addHook('onRoute', (route) => void routes.push(route))
  app.decorate('routeCatalog', () => routes)

  // Hooks on every request take `done` rather than being async where they never wait: no promise
  // per request and hook (docs/performance.md).
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    done()
  })
  // While shutting down, answers close their keep-alive connection: clients open the next one
  // to another instance, and no idle socket holds the server open until the keep-alive timeout.
  let draining = false
  const drainingListeners: Array<() => void> = []
  const startDraining = () => {
    if (draining) return
    draining = true
    for (const listener of drainingListeners) listener()
  }
  app.decorate('startDraining', startDraining)
  app.decorate('onDraining', (listener: () => void) => void drainingListeners.push(listener))
  app.addHook('preClose', async () => startDraining())
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (draining) reply.header('connection', 'close')
    done(null, payload)
  })

  await app.register(errorHandler)
  // First of the features: every request is measured, and its onClose runs last, after theirs.
  await app.register(metricsPlugin, {
    enabled: config.METRICS === 'on',
    ...(config.METRICS_FILE ? { file: config.METRICS_FILE } : {}),
    environment: config.METRICS_ENVIRONMENT,
    intervalMs: config.METRICS_INTERVAL_SECONDS * 1000
  })
  // Before the routes: the OpenAPI document is collected from the routes as they are added.
  await app.register(openapiPlugin)
  await app.register(databasePlugin, { database })
  await app.register(loadShedding, {
    poolWaitMs: config.LOAD_SHED_POOL_WAIT_MS,
    eventLoopDelayMs: config.LOAD_SHED_EVENT_LOOP_DELAY_MS
  })
  // onRequest hooks run in this order: headers on every answer, per-IP limits before any
  // credential is looked at, then authentication and access (auth-plugin.ts).
  await app.register(securityHeaders)
  await app.register(rateLimits, {
    ipReadsPerMinute: config.RATE_LIMIT_IP_READS_PER_MINUTE,
    ipWritesPerMinute: config.RATE_LIMIT_IP_WRITES_PER_MINUTE,
    operatorWritesPerMinute: config.RATE_LIMIT_OPERATOR_WRITES_PER_MINUTE
  })
  await app.register(writesPlugin)
  await app.register(eventsPlugin)
  await app.register(authPlugin, { authRequired: config.AUTH_REQUIRED })
  // After authentication and the limits: a cached answer still passes them.
  await app.register(readCachePlugin, { enabled: config.READ_CACHE === 'on', maxBytes: config.READ_CACHE_MAX_BYTES })
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
  await app.register(eventsRoutes, {
    prefix: '/v1',
    maxStreams: config.EVENTS_MAX_STREAMS,
    heartbeatMs: config.EVENTS_HEARTBEAT_SECONDS * 1000
  })
  await app.register(spacexSyncPlugin, {
    apiUrl: config.SPACEX_API_URL,
    timeoutMs: config.SPACEX_TIMEOUT_MS,
    syncOnStart: config.SPACEX_SYNC_ON_START
  })
  await app.register(dashboardPlugin)
  return app
}
