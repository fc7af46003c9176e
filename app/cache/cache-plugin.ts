import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { etagOf, matchesEtag, ReadCache, type CachedAnswer } from './read-cache.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route's 200 answers are cached per instance and carry an ETag (If-None-Match → 304).
     * Only for public reads whose answer depends on nothing but the URL: never on credentials.
     */
    readCache?: boolean
  }
  interface FastifyInstance {
    readCache: ReadCache
  }
  interface FastifyRequest {
    /** The cache generation when a cacheable read started; -1 when the request is not one (or was answered from the cache). */
    readCacheGeneration: number
    /** The read's normalised key (route, parameters and query after validation and defaults). */
    readCacheKey: string
  }
}

/** The documented answer to a current If-None-Match: no body (`type: 'null'` documents none). */
export const notModified = { type: 'null', description: 'Not Modified: the ETag sent in If-None-Match is still current' } as const

export interface ReadCachePluginOptions {
  enabled: boolean
  maxBytes: number
}

/** Headers that belong to a cached answer besides its body (list totals and next-page links). */
const CACHED_HEADERS = ['x-total-count', 'link'] as const

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/** Object keys sorted, so `?b=1&a=2` and `?a=2&b=1` (and a default spelled out) share one entry. */
function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? ''
  const record = value as Record<string, unknown>
  return `{${Object.keys(record)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${stableJson(record[key])}`)
    .join(',')}}`
}

function normalisedKey(request: FastifyRequest): string {
  return `${request.routeOptions.url} ${stableJson(request.params)} ${stableJson(request.query)}`
}

/** Raw URLs are looked up before validation runs; they are stored only once they answered 200. */
const urlKey = (request: FastifyRequest) => `url ${request.url}`

function answer(request: FastifyRequest, reply: FastifyReply, cached: CachedAnswer): FastifyReply {
  request.readCacheGeneration = -1
  reply.header('etag', cached.etag)
  for (const name in cached.headers) reply.header(name, cached.headers[name])
  if (matchesEtag(request.headers['if-none-match'], cached.etag)) return reply.code(304).send()
  // A string with a JSON content type is sent as it is, without serialising again.
  return reply.type('application/json; charset=utf-8').send(cached.body)
}

/**
 * Every change clears the whole cache: this instance's own writes as soon as they answer (after
 * their commit: a rolled-back write answers with an error and clears nothing), and every
 * instance's writes through the change feed (app/events/). A reconnect of the feed clears too,
 * since changes may have been missed while it was down.
 */
export function clearOnChanges(app: FastifyInstance, cache: ReadCache): void {
  app.addHook('onSend', (request, reply, payload, done) => {
    if (!SAFE_METHODS.has(request.method) && reply.statusCode < 400) cache.clear()
    done(null, payload)
  })
  const unsubscribe: Array<() => void> = []
  app.addHook('onReady', async () => {
    unsubscribe.push(
      app.changeFeed.subscribe(() => cache.clear()),
      app.changeFeed.onReconnect(() => cache.clear())
    )
  })
  app.addHook('onClose', async () => {
    for (const stop of unsubscribe) stop()
  })
}

/**
 * Caches the answers of routes declared with `config: { readCache: true }`. A repeated URL is
 * answered in onRequest, before validation; another spelling of the same query after validation.
 * Every answer of such a route, cached or not, carries a strong ETag and honours If-None-Match,
 * with READ_CACHE=off too, so the two modes answer alike.
 */
export default fp<ReadCachePluginOptions>(
  async (app, { enabled, maxBytes }) => {
    const cache = new ReadCache(enabled, maxBytes)
    app.decorate('readCache', cache)
    app.decorateRequest('readCacheGeneration', -1)
    app.decorateRequest('readCacheKey', '')

    // Hooks with `done`, not async: they run on every request and never wait. A hook that
    // answers does not call `done`: the answer ends the request's hook chain.
    app.addHook('onRequest', (request, reply, done) => {
      if (request.method !== 'GET' || request.routeOptions.config.readCache !== true) return done()
      request.readCacheGeneration = cache.generation
      const cached = cache.get(urlKey(request))
      if (cached) answer(request, reply, cached)
      else done()
    })

    app.addHook('preHandler', (request, reply, done) => {
      if (request.readCacheGeneration === -1 || !cache.enabled) return done()
      request.readCacheKey = normalisedKey(request)
      const cached = cache.get(request.readCacheKey)
      if (!cached) return done()
      cache.set(urlKey(request), cached, request.readCacheGeneration)
      answer(request, reply, cached)
    })

    /** Stores a 200 of a cacheable read and gives it its ETag; the payload to send (null for a 304). */
    const storeAndCheck = (request: FastifyRequest, reply: FastifyReply, payload: unknown): unknown => {
      if (request.readCacheGeneration === -1 || reply.statusCode !== 200 || typeof payload !== 'string') return payload
      const etag = etagOf(payload)
      reply.header('etag', etag)
      if (cache.enabled) {
        const headers: Record<string, string> = {}
        for (const name of CACHED_HEADERS) {
          const value = reply.getHeader(name)
          if (value !== undefined) headers[name] = String(value)
        }
        const cached = { body: payload, etag, headers }
        cache.set(request.readCacheKey, cached, request.readCacheGeneration)
        cache.set(urlKey(request), cached, request.readCacheGeneration)
      }
      if (!matchesEtag(request.headers['if-none-match'], etag)) return payload
      reply.code(304).removeHeader('content-type')
      return null
    }
    app.addHook('onSend', (request, reply, payload, done) => {
      done(null, storeAndCheck(request, reply, payload))
    })

    clearOnChanges(app, cache)
  },
  { name: 'read-cache', dependencies: ['auth', 'events'] }
)
