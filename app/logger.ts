import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { FastifyRequest } from 'fastify'
import { pino, type Logger, type LoggerOptions } from 'pino'

// Secrets never reach the logs, whichever object carries them: credentials in headers, passwords
// and tokens in logged objects, and one-time tokens in URLs (see maskUrlSecrets).
const redact = {
  paths: [
    'req.headers.authorization',
    'req.headers.cookie',
    'req.headers["x-csrf-token"]',
    'res.headers["set-cookie"]',
    'headers.authorization',
    'headers.cookie',
    'password',
    '*.password',
    'token',
    '*.token',
    'csrfToken',
    '*.csrfToken',
    'config.DATABASE_URL',
    'connectionString'
  ],
  censor: '[redacted]'
}

/** `/setup?token=abc` → `/setup?token=[redacted]`: setup and invite links carry their secret in the query. */
export function maskUrlSecrets(url: string): string {
  return url.replace(/([?&](?:token|csrf)=)[^&#]*/gi, '$1[redacted]')
}

/** Fastify's request serializer, with the URL's secrets masked. */
function serializeRequest(request: FastifyRequest) {
  return {
    method: request.method,
    url: maskUrlSecrets(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort
  }
}

/** pino options: JSON for machines, pretty only when a person watches a terminal. */
export function loggerOptions(level: string, pretty = Boolean(process.stdout.isTTY)): LoggerOptions {
  return {
    level,
    redact,
    serializers: { req: serializeRequest as (value: unknown) => unknown },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } } : {})
  }
}

/** Pending lines past this many characters are written at once, not at the end of the turn. */
const LOG_BATCH_MAX_CHARS = 64 * 1024

/**
 * The server process's logger. Unless a person watches (pretty output), the lines logged during
 * one turn of the event loop go to stdout in one write at its end (setImmediate): one write per
 * line was a system call per request for the access line, a fifth of the CPU of a cached read,
 * while under load one turn answers many requests. A line waits only for the turn it was logged
 * in to finish; at exit, errors and signals included, pending lines are written first.
 */
export function serverLogger(level: string, pretty = Boolean(process.stdout.isTTY)): Logger {
  if (pretty) return pino(loggerOptions(level, true))
  const stdout = pino.destination({ dest: 1, sync: true })
  let pending = ''
  const writePending = () => {
    if (pending === '') return
    const batch = pending
    pending = ''
    stdout.write(batch)
  }
  const turnByTurn = {
    write(line: string) {
      if (pending === '') setImmediate(writePending)
      pending += line
      if (pending.length >= LOG_BATCH_MAX_CHARS) writePending()
    }
  }
  process.once('exit', writePending)
  return pino(loggerOptions(level, false), turnByTurn)
}

// The ALB stamps every request with X-Amzn-Trace-Id ("Root=1-67891233-abcdef012345678912345678"):
// reusing it ties our logs to the load balancer's. Anything that does not look like one is ignored.
const traceIdPattern = /^[A-Za-z0-9=;:.\-]{1,200}$/

export function requestId(request: IncomingMessage): string {
  const traceId = request.headers['x-amzn-trace-id']
  return typeof traceId === 'string' && traceIdPattern.test(traceId) ? traceId : randomUUID()
}
