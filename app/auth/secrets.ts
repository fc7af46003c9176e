import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

/** 32 random bytes (256 bits), URL-safe: session ids, CSRF tokens, setup and invite links. */
export function randomSecret(): string {
  return randomBytes(32).toString('base64url')
}

/** API tokens carry a prefix, so a leaked one is recognisable (secret scanners, logs, support). */
export const API_TOKEN_PREFIX = 'mc_'

export function newApiToken(): string {
  return `${API_TOKEN_PREFIX}${randomSecret()}`
}

/**
 * What the database stores instead of a secret. The secrets are 256-bit random values, so a fast
 * hash is enough (nothing to brute-force) and lookups stay one indexed equality.
 */
export function secretHash(secret: string): string {
  return createHash('sha256').update(secret).digest('hex')
}

export function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a)
  const right = Buffer.from(b)
  return left.length === right.length && timingSafeEqual(left, right)
}
