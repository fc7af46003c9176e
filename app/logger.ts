import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { FastifyRequest } from 'fastify'
import type { LoggerOptions } from 'pino'

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

// The ALB stamps every request with X-Amzn-Trace-Id ("Root=1-67891233-abcdef012345678912345678"):
// reusing it ties our logs to the load balancer's. Anything that does not look like one is ignored.
const traceIdPattern = /^[A-Za-z0-9=;:.\-]{1,200}$/

export function requestId(request: IncomingMessage): string {
  const traceId = request.headers['x-amzn-trace-id']
  return typeof traceId === 'string' && traceIdPattern.test(traceId) ? traceId : randomUUID()
}
