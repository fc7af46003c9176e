import type { FastifyReply, FastifyRequest } from 'fastify'
import { SESSION_MAX_DAYS } from './credentials.js'

/**
 * Over HTTPS (X-Forwarded-Proto from the load balancer) the cookie is `__Host-` prefixed and
 * Secure: browsers then refuse it from any other host or path. Browsers drop Secure cookies set
 * over plain http://, so local HTTP gets a plain name.
 */
const SECURE_NAME = '__Host-mc_session'
const PLAIN_NAME = 'mc_session'

export function readSessionCookie(request: FastifyRequest): string | undefined {
  return request.cookies[SECURE_NAME] ?? request.cookies[PLAIN_NAME]
}

export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, sessionId: string): void {
  const secure = request.protocol === 'https'
  reply.setCookie(secure ? SECURE_NAME : PLAIN_NAME, sessionId, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure,
    maxAge: SESSION_MAX_DAYS * 24 * 60 * 60
  })
}

export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply): void {
  const secure = request.protocol === 'https'
  reply.clearCookie(secure ? SECURE_NAME : PLAIN_NAME, { path: '/', httpOnly: true, sameSite: 'lax', secure })
}
