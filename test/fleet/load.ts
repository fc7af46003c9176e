// A bounded load generator for the fleet (and the soak): requests at a steady rate whatever the
// answers take (open loop, as real clients behave), at most `maxInFlight` at once, mixing
// reads, writes (schedules) and aborts, plus
// server-sent-event clients on /v1/events when the service has that route. Every request is
// recorded with its answer, and every write carries a mission name unique to the run, so the
// database can be audited afterwards. Each request opens a connection of its own: reloading the
// ALB stand-in closes idle keep-alive connections, an artefact a real ALB does not have.
import { randomBytes, randomUUID } from 'node:crypto'
import { request, type IncomingHttpHeaders } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'

export type RequestKind = 'read' | 'write' | 'abort'

export interface RequestRecord {
  kind: RequestKind
  method: string
  path: string
  /** performance.now() when sent and when answered (or failed). */
  startedAt: number
  endedAt: number
  /** 0 when no answer came (connection refused or reset, timeout). */
  status: number
  /** The error code of a JSON error answer. */
  code?: string
  /** Why no answer came. */
  error?: string
  retryAfter?: string
  /** The instance the ALB stand-in chose (its X-Fleet-Upstream header). */
  upstream?: string
  /** Writes: the run-unique mission name, and the flight number once acknowledged. */
  mission?: string
  flightNumber?: number
  idempotencyKey?: string
  /** 1 for the first attempt of a write, 2… for its retries with the same Idempotency-Key. */
  attempt?: number
}

export interface StreamRecord {
  client: number
  /** Event ids in the order received, over every connection of this client. */
  ids: number[]
  connections: number
  /** Why each connection ended (except the last, ended by stop()). */
  endings: string[]
}

export interface LoadOptions {
  url: string
  /** Sent with every request, e.g. `authorization: Bearer mc_…` once writes need an operator. */
  headers?: Record<string, string>
  /** Requests started per second. */
  rate?: number
  /** The bound: past it, a tick sends nothing (counted in `skipped`). */
  maxInFlight?: number
  /** Relative weights of the request kinds. */
  mix?: Record<RequestKind, number>
  /** Server-sent-event clients, used only if GET /v1/events answers with a stream. */
  streams?: number
  requestTimeoutMs?: number
  /**
   * Send a write (schedule or abort) that got no answer or a 5xx again, with the same
   * Idempotency-Key, after its Retry-After, until it is acknowledged (or the run stops).
   */
  retryWrites?: boolean
}

interface Answer {
  status: number
  headers: IncomingHttpHeaders
  body: string
}

export class LoadGenerator {
  readonly runId = `fleet-${randomBytes(3).toString('hex')}`
  readonly records: RequestRecord[] = []
  readonly streams: StreamRecord[] = []
  readonly marks: Array<{ label: string; at: number }> = []
  /** Ticks that sent nothing because maxInFlight requests were still unanswered. */
  skipped = 0
  readonly #options: Required<Omit<LoadOptions, 'headers'>> & { headers: Record<string, string> }
  #running = false
  /** After stop(), writes still being retried get this long (performance.now()) to settle. */
  #settleBy = Infinity
  #scheduler: Promise<void> | undefined
  readonly #inFlight = new Set<Promise<void>>()
  #streamStops: Array<() => void> = []
  #planets: string[] = []
  #abortable: number[] = []
  #acknowledged: number[] = []
  #writes = 0
  readonly #launchDate = `${new Date().getUTCFullYear() + 1}-06-01`

  constructor(options: LoadOptions) {
    this.#options = {
      headers: {},
      rate: 30,
      maxInFlight: 64,
      mix: { read: 6, write: 3, abort: 1 },
      streams: 2,
      requestTimeoutMs: 20_000,
      retryWrites: false,
      ...options
    }
  }

  async start(): Promise<void> {
    // A service that has just started may shed its first requests: retry as a client would.
    let planets = await this.#send('GET', '/v1/planets')
    for (let attempt = 1; planets.status === 503 && attempt < 15; attempt++) {
      await sleep(Number(planets.headers['retry-after'] ?? 1) * 1000)
      planets = await this.#send('GET', '/v1/planets')
    }
    if (planets.status !== 200) throw new Error(`GET /v1/planets answered ${planets.status}: ${planets.body}`)
    this.#planets = (JSON.parse(planets.body) as Array<{ keplerName: string }>).map((planet) => planet.keplerName)
    this.#running = true
    this.#scheduler = this.#schedule()
    if (this.#options.streams > 0 && (await this.#hasEventStream())) {
      for (let client = 0; client < this.#options.streams; client++) this.#stream(client)
    }
  }

  /** Notes a moment of the scenario (a kill, a restart) on the timeline. */
  mark(label: string): number {
    const at = performance.now()
    this.marks.push({ label, at })
    return at
  }

  /** Stops sending, waits for requests in flight (and, for 45 s, writes being retried), closes the streams. */
  async stop(): Promise<void> {
    this.#running = false
    this.#settleBy = performance.now() + 45_000
    await this.#scheduler
    await Promise.all(this.#inFlight)
    for (const stop of this.#streamStops) stop()
  }

  /** Requests now in flight. */
  get inFlight(): number {
    return this.#inFlight.size
  }

  async #schedule(): Promise<void> {
    const interval = 1000 / this.#options.rate
    let next = performance.now()
    while (this.#running) {
      if (this.#inFlight.size >= this.#options.maxInFlight) this.skipped++
      else {
        const operation = this.#operation().finally(() => this.#inFlight.delete(operation))
        this.#inFlight.add(operation)
      }
      next += interval
      await sleep(Math.max(0, next - performance.now()))
    }
  }

  #operation(): Promise<void> {
    const kind = this.#pick()
    if (kind === 'write') return this.#write()
    if (kind === 'abort' && this.#abortable.length > 0) return this.#abort()
    return this.#read()
  }

  #pick(): RequestKind {
    const { mix } = this.#options
    let roll = Math.random() * (mix.read + mix.write + mix.abort)
    for (const kind of ['read', 'write', 'abort'] as const) {
      roll -= mix[kind]
      if (roll < 0) return kind
    }
    return 'read'
  }

  async #read(): Promise<void> {
    const known = this.#acknowledged[Math.floor(Math.random() * this.#acknowledged.length)]
    const paths = ['/v1/launches?limit=20&order=desc', '/v1/planets', '/v1/launches/stats', ...(known ? [`/v1/launches/${known}`] : [])]
    await this.#record('read', 'GET', paths[Math.floor(Math.random() * paths.length)]!)
  }

  async #write(): Promise<void> {
    const mission = `${this.runId} #${++this.#writes}`
    const target = this.#planets[Math.floor(Math.random() * this.#planets.length)]!
    const body = JSON.stringify({ mission, rocket: 'Explorer IS1', target, launchDate: this.#launchDate })
    const { record, body: answer } = await this.#retried('write', 'POST', '/v1/launches', body, { mission })
    if (record.status !== 201) return
    record.flightNumber = (JSON.parse(answer) as { flightNumber: number }).flightNumber
    this.#acknowledged.push(record.flightNumber)
    this.#abortable.push(record.flightNumber)
  }

  async #abort(): Promise<void> {
    // Taken out first, so that two requests never abort the same launch.
    const flightNumber = this.#abortable.splice(Math.floor(Math.random() * this.#abortable.length), 1)[0]!
    await this.#retried('abort', 'DELETE', `/v1/launches/${flightNumber}`, undefined, { flightNumber })
  }

  /** A write with its Idempotency-Key, sent again (same key) while retryWrites says so. */
  async #retried(
    kind: RequestKind,
    method: string,
    path: string,
    body: string | undefined,
    write: Pick<RequestRecord, 'mission' | 'flightNumber'>
  ): Promise<{ record: RequestRecord; body: string }> {
    const idempotencyKey = randomUUID()
    for (let attempt = 1; ; attempt++) {
      const answer = await this.#record(kind, method, path, body, { ...write, idempotencyKey, attempt })
      const retriable = answer.record.status === 0 || answer.record.status >= 500
      if (!retriable || !this.#options.retryWrites || performance.now() > this.#settleBy) return answer
      // Retry-After, doubled on each further attempt (up to 16 s): retries never pile onto an outage.
      await sleep(Math.min(Number(answer.record.retryAfter ?? 1) * 2 ** (attempt - 1), 16) * 1000)
    }
  }

  async #record(
    kind: RequestKind,
    method: string,
    path: string,
    body?: string,
    write: Pick<RequestRecord, 'mission' | 'flightNumber' | 'idempotencyKey' | 'attempt'> = {}
  ): Promise<{ record: RequestRecord; body: string }> {
    const startedAt = performance.now()
    const headers: Record<string, string> = write.idempotencyKey ? { 'idempotency-key': write.idempotencyKey } : {}
    const answer = await this.#send(method, path, body, headers).catch((error: Error & { code?: string }) => ({
      status: 0,
      headers: {} as IncomingHttpHeaders,
      body: '',
      error: error.code ?? error.message
    }))
    const record: RequestRecord = { kind, method, path, startedAt, endedAt: performance.now(), status: answer.status, ...write }
    if ('error' in answer) record.error = answer.error
    if (answer.status >= 400) record.code = errorCode(answer.body)
    if (answer.headers['retry-after']) record.retryAfter = String(answer.headers['retry-after'])
    if (answer.headers['x-fleet-upstream']) record.upstream = String(answer.headers['x-fleet-upstream'])
    this.records.push(record)
    return { record, body: answer.body }
  }

  #send(method: string, path: string, body?: string, extraHeaders: Record<string, string> = {}): Promise<Answer> {
    const url = new URL(path, this.#options.url)
    return new Promise((resolve, reject) => {
      const outgoing = request(
        url,
        {
          method,
          agent: false,
          timeout: this.#options.requestTimeoutMs,
          headers: {
            connection: 'close',
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...this.#options.headers,
            ...extraHeaders
          }
        },
        (response) => {
          const chunks: Buffer[] = []
          response.on('data', (chunk: Buffer) => chunks.push(chunk))
          response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks).toString() }))
          response.on('error', reject)
        }
      )
      outgoing.on('timeout', () => outgoing.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })))
      outgoing.on('error', reject)
      outgoing.end(body)
    })
  }

  async #hasEventStream(): Promise<boolean> {
    return new Promise((resolve) => {
      const probe = request(new URL('/v1/events', this.#options.url), { agent: false, headers: this.#options.headers }, (response) => {
        resolve(response.statusCode === 200 && /text\/event-stream/.test(String(response.headers['content-type'])))
        response.destroy()
      })
      probe.on('error', () => resolve(false))
      probe.end()
    })
  }

  /** One SSE client: reconnects with Last-Event-ID whenever its stream ends, until stop(). */
  #stream(client: number): void {
    const record: StreamRecord = { client, ids: [], connections: 0, endings: [] }
    this.streams.push(record)
    let current: ReturnType<typeof request> | undefined
    let stopped = false
    this.#streamStops.push(() => {
      stopped = true
      current?.destroy()
    })
    const connect = () => {
      if (stopped) return
      record.connections++
      const lastId = record.ids.at(-1)
      const headers = { ...this.#options.headers, accept: 'text/event-stream', ...(lastId === undefined ? {} : { 'last-event-id': String(lastId) }) }
      let buffered = ''
      const ended = (why: string) => {
        if (stopped) return
        record.endings.push(why)
        setTimeout(connect, 250)
      }
      current = request(new URL('/v1/events', this.#options.url), { agent: false, headers }, (response) => {
        if (response.statusCode !== 200) {
          response.resume()
          return ended(`status ${response.statusCode}`)
        }
        response.setEncoding('utf8')
        response.on('data', (chunk: string) => {
          buffered += chunk
          let boundary: number
          while ((boundary = buffered.indexOf('\n\n')) >= 0) {
            const id = /^id:\s*(\d+)$/m.exec(buffered.slice(0, boundary))?.[1]
            if (id !== undefined) record.ids.push(Number(id))
            buffered = buffered.slice(boundary + 2)
          }
        })
        response.on('end', () => ended('end'))
        response.on('error', (error) => ended(error.message))
      })
      current.on('error', (error: Error & { code?: string }) => ended(error.code ?? error.message))
      current.end()
    }
    connect()
  }
}

function errorCode(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { code?: string }).code
  } catch {
    return undefined
  }
}
