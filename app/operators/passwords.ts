import { hash, verify } from '@node-rs/argon2'

/**
 * argon2id above the OWASP Password Storage Cheat Sheet's configurations (m = 64 MiB, t = 3, p = 1;
 * its minimums are m = 19 MiB with t = 2, or m = 46 MiB with t = 1): the OWASP minimums take under
 * 20 ms here, these put one hash at 50–250 ms (docs/security.md has the measurement). Hashing runs
 * on libuv's thread pool, never on the event loop.
 */
// algorithm 2 is Algorithm.Argon2id (a const enum, which isolated modules cannot import).
const PARAMETERS = { algorithm: 2, memoryCost: 65_536, timeCost: 3, parallelism: 1 } as const

export const MIN_PASSWORD_LENGTH = 12
/** Long enough for any passphrase, short enough that a request cannot make hashing expensive. */
export const MAX_PASSWORD_LENGTH = 256

export function hashPassword(password: string): Promise<string> {
  return hash(password, PARAMETERS)
}

/**
 * A hash of a random password with the same parameters: an unknown email (or an operator with no
 * password yet) is verified against it, so every failed sign-in costs the same time.
 */
export const DUMMY_PASSWORD_HASH = '$argon2id$v=19$m=65536,t=3,p=1$/I3OPebPLAqy+jDSapvxoA$/wo/Jqm/7t+nRVcTBFtuXJPrlx7jDpHXA1WcJsUgD18'

/** True when `password` matches `storedHash`; a missing hash is checked against the dummy. */
export async function verifyPassword(storedHash: string | null, password: string): Promise<boolean> {
  try {
    const matches = await verify(storedHash ?? DUMMY_PASSWORD_HASH, password)
    return matches && storedHash !== null
  } catch {
    return false
  }
}

/** The parameters a stored hash was made with, e.g. `m=65536,t=3,p=1` (for tests and rehash checks). */
export function hashParameters(storedHash: string): string | undefined {
  return /^\$argon2id\$v=19\$([^$]+)\$/.exec(storedHash)?.[1]
}

export const CURRENT_HASH_PARAMETERS = `m=${PARAMETERS.memoryCost},t=${PARAMETERS.timeCost},p=${PARAMETERS.parallelism}`
