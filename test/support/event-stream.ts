// A Server-Sent Events client over a real socket (inject waits for a response to end; a stream
// never does): records each chunk as it arrives and parses the messages, as EventSource would.
import { request, type IncomingHttpHeaders } from 'node:http'

export interface EventMessage {
  id?: string
  event?: string
  data?: string
  retry?: string
  /** `: heartbeat` and other comment lines. */
  comments: string[]
  /** performance.now() when the message was complete. */
  at: number
}

export interface OpenedStream {
  status: number
  headers: IncomingHttpHeaders
  /** The raw chunks as they arrived, with performance.now() times. */
  chunks: Array<{ at: number; text: string }>
  messages: EventMessage[]
  /** Messages that carry an event (data), in order. */
  events(): EventMessage[]
  /** Resolves with the first message (from the start) matching `test`; rejects after `timeoutMs`. */
  waitFor(test: (message: EventMessage) => boolean, timeoutMs?: number): Promise<EventMessage>
  /** Resolves when the server ended the response. */
  ended: Promise<void>
  isEnded(): boolean
  close(): void
}

export function openEventStream(
  baseUrl: string,
  { path = '/v1/events', headers = {} }: { path?: string; headers?: Record<string, string> } = {}
): Promise<OpenedStream> {
  const url = new URL(path, baseUrl)
  return new Promise((resolve, reject) => {
    const outgoing = request(
      { host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, headers: { accept: 'text/event-stream', ...headers }, agent: false },
      (incoming) => {
        incoming.setEncoding('utf8')
        const chunks: OpenedStream['chunks'] = []
        const messages: EventMessage[] = []
        const waiters = new Set<() => void>()
        let buffer = ''
        let ended = false
        let markEnded!: () => void
        const endedPromise = new Promise<void>((done) => (markEnded = done))
        incoming.on('data', (text: string) => {
          const at = performance.now()
          chunks.push({ at, text })
          buffer += text
          let boundary: number
          while ((boundary = buffer.indexOf('\n\n')) !== -1) {
            const block = buffer.slice(0, boundary)
            buffer = buffer.slice(boundary + 2)
            const message: EventMessage = { comments: [], at }
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) message.comments.push(line.slice(1).trim())
              else {
                const colon = line.indexOf(':')
                const field = line.slice(0, colon) as 'id' | 'event' | 'data' | 'retry'
                message[field] = line.slice(colon + 1).replace(/^ /, '')
              }
            }
            messages.push(message)
          }
          for (const wake of waiters) wake()
        })
        const finish = () => {
          ended = true
          markEnded()
          for (const wake of waiters) wake()
        }
        incoming.on('end', finish)
        incoming.on('close', finish)
        incoming.on('error', finish)
        const stream: OpenedStream = {
          status: incoming.statusCode!,
          headers: incoming.headers,
          chunks,
          messages,
          events: () => messages.filter((message) => message.data !== undefined),
          ended: endedPromise,
          isEnded: () => ended,
          close: () => outgoing.destroy(),
          waitFor: (test, timeoutMs = 10_000) =>
            new Promise((found, fail) => {
              const check = () => {
                const match = messages.find(test)
                if (match) return done(() => found(match))
                if (ended) return done(() => fail(new Error(`the stream ended without the message; got ${JSON.stringify(messages)}`)))
              }
              const timer = setTimeout(
                () => done(() => fail(new Error(`no such message within ${timeoutMs} ms; got ${JSON.stringify(messages)}`))),
                timeoutMs
              )
              const done = (settle: () => void) => {
                clearTimeout(timer)
                waiters.delete(check)
                settle()
              }
              waiters.add(check)
              check()
            })
        }
        resolve(stream)
      }
    )
    outgoing.on('error', reject)
    outgoing.end()
  })
}
