import { appendFileSync } from 'node:fs'
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { emfRecord, MAX_VALUES_PER_METRIC, type MetricDirective } from './emf.js'

/** The contract with infra/'s alarms and dashboard (docs/operations.md, "Metrics"). */
export const NAMESPACE = 'MissionControl'
export const SERVICE = 'mission-control'
const SERVICE_DIMENSIONS = ['Service', 'Environment']

export interface Metrics {
  /**
   * Samples `read` at every metrics interval and writes it as `name` (Count) on [Service,
   * Environment]: the database pool's DbPoolInUse and DbPoolWaiting; an event-stream plugin would
   * add EventStreamsOpen the same way.
   */
  gauge(name: string, read: () => number): void
  /** Writes one duration now, on [Service, Environment, …dimensions], e.g. SpacexSyncDuration by Outcome. */
  duration(name: string, milliseconds: number, dimensions: Record<string, string>): void
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
  }
  interface FastifyContextConfig {
    /**
     * The route answers with a stream that stays open (GET /v1/events): how long it stayed open is
     * no latency, and would set off the latency alarm. Its successes are not recorded as requests;
     * a gauge of open streams stands for them.
     */
    longLived?: boolean
  }
}

export interface MetricsOptions {
  enabled: boolean
  /** Where records go: appended to this file, or stdout when unset. */
  file?: string
  /** The Environment dimension: the Elastic Beanstalk environment's name. */
  environment: string
  intervalMs: number
}

// RequestCount carries how many requests the record covers and Latency one value per request, so
// Sum(RequestCount) counts requests and Latency percentiles are exact. ServerErrors is the 5xx
// count, 0 in the records of other classes so the error-rate alarm always has data.
const REQUEST_DIRECTIVES: MetricDirective[] = [
  {
    dimensionSets: [SERVICE_DIMENSIONS, [...SERVICE_DIMENSIONS, 'Route', 'StatusClass']],
    metrics: { RequestCount: 'Count', Latency: 'Milliseconds' }
  },
  { dimensionSets: [SERVICE_DIMENSIONS], metrics: { ServerErrors: 'Count' } }
]

type LineWriter = (lines: string[]) => void

/** Appends lines to the file (synchronously: a few lines a minute) or writes them to stdout. */
function lineWriter(file: string | undefined, log: FastifyBaseLogger): LineWriter {
  if (!file) return (lines) => void process.stdout.write(`${lines.join('\n')}\n`)
  let failing = false
  return (lines) => {
    try {
      appendFileSync(file, `${lines.join('\n')}\n`)
      failing = false
    } catch (error) {
      // Metrics never take the service down; the failure is logged once until writing works again.
      if (!failing) log.error({ err: error, file }, 'cannot write metrics; they are lost until the file is writable')
      failing = true
    }
  }
}

/**
 * Service metrics as CloudWatch Embedded Metric Format records: no agent and no API call, the
 * log stream carries them. Requests are aggregated per route and status class and written every
 * interval (or as soon as a bucket holds 100 latencies), gauges are sampled every interval, and
 * whatever is pending is written when the app closes.
 */
export default fp<MetricsOptions>(
  async (app, { enabled, file, environment, intervalMs }) => {
    if (!enabled) {
      app.decorate('metrics', { gauge: () => {}, duration: () => {} })
      return
    }
    const write = lineWriter(file, app.log)
    const serviceMembers = { Service: SERVICE, Environment: environment }
    const gauges = new Map<string, () => number>()
    /** Latencies per `${Route}\t${StatusClass}` since they were last written. */
    const buckets = new Map<string, number[]>()

    const requestRecord = (key: string, latencies: number[]) => {
      const [route, statusClass] = key.split('\t') as [string, string]
      return emfRecord(NAMESPACE, REQUEST_DIRECTIVES, {
        ...serviceMembers,
        Route: route,
        StatusClass: statusClass,
        RequestCount: latencies.length,
        Latency: latencies,
        ServerErrors: statusClass === '5xx' ? latencies.length : 0
      })
    }

    const writeRequests = () => {
      if (buckets.size === 0) return
      const lines = [...buckets].map(([key, latencies]) => requestRecord(key, latencies))
      buckets.clear()
      write(lines)
    }

    const sampleGauges = () => {
      if (gauges.size === 0) return
      const names = [...gauges.keys()]
      const metrics = Object.fromEntries(names.map((name) => [name, 'Count' as const]))
      const values = Object.fromEntries([...gauges].map(([name, read]) => [name, read()]))
      write([emfRecord(NAMESPACE, [{ dimensionSets: [SERVICE_DIMENSIONS], metrics }], { ...serviceMembers, ...values })])
    }

    app.decorate('metrics', {
      gauge: (name, read) => void gauges.set(name, read),
      duration: (name, milliseconds, dimensions) => {
        const directive = { dimensionSets: [[...SERVICE_DIMENSIONS, ...Object.keys(dimensions)]], metrics: { [name]: 'Milliseconds' as const } }
        write([emfRecord(NAMESPACE, [directive], { ...serviceMembers, ...dimensions, [name]: Math.round(milliseconds) })])
      }
    } satisfies Metrics)

    const record = (request: FastifyRequest, reply: FastifyReply) => {
      if (request.routeOptions.config.longLived && reply.statusCode < 400) return
      // The route pattern, never the raw URL: one series per route, whatever ids clients send.
      const route = `${request.method} ${request.routeOptions.url ?? '(no route)'}`
      const key = `${route}\t${Math.floor(reply.statusCode / 100)}xx`
      const latencies = buckets.get(key) ?? []
      latencies.push(Math.round(reply.elapsedTime * 100) / 100)
      buckets.set(key, latencies)
      if (latencies.length >= MAX_VALUES_PER_METRIC) {
        buckets.delete(key)
        write([requestRecord(key, latencies)])
      }
    }
    // With `done`, not async: it runs on every request and never waits.
    app.addHook('onResponse', (request, reply, done) => {
      record(request, reply)
      done()
    })

    const timer = setInterval(() => {
      writeRequests()
      sampleGauges()
    }, intervalMs).unref()
    // Registered before the other plugins, so their onClose hooks (and the durations they record) run first.
    app.addHook('onClose', async () => {
      clearInterval(timer)
      writeRequests()
    })
  },
  { name: 'metrics' }
)
