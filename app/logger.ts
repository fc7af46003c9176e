import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { LoggerOptions } from 'pino'

// Secrets never reach the logs, whichever object carries them.
const redact = {
  paths: [
    'req.headers.authorization',
    'req.headers.cookie',
    'res.headers["set-cookie"]',
    'password',
    '*.password',
    'config.DATABASE_URL',
    'connectionString'
  ],
  censor: '[redacted]'
}

/** pino options: JSON for machines, pretty only when a person watches a terminal. */
export function loggerOptions(level: string, pretty = Boolean(process.stdout.isTTY)): LoggerOptions {
  return {
    level,
    redact,
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
