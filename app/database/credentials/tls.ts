import { readFile } from 'node:fs/promises'
import type { ConnectionOptions } from 'node:tls'
import type { Config } from '../../config/config.js'

export type TlsMode = NonNullable<Config['DATABASE_SSL']>

/**
 * node-postgres `ssl` option for a mode. verify-full checks the chain against the CA bundle
 * (the RDS global bundle in AWS; Node's own CAs when no file is given) and the host name;
 * no-verify encrypts without checking who answers, so it is only ever an explicit choice.
 */
export async function tlsOptions(mode: TlsMode, caFile: string | undefined): Promise<ConnectionOptions | false> {
  if (mode === 'disable') return false
  if (mode === 'no-verify') return { rejectUnauthorized: false }
  if (!caFile) return { rejectUnauthorized: true }
  try {
    return { rejectUnauthorized: true, ca: await readFile(caFile, 'utf8') }
  } catch (error) {
    throw new Error(`cannot read DATABASE_SSL_CA_FILE "${caFile}": ${(error as Error).message}`, { cause: error })
  }
}

// URL parameters with which pg-connection-string builds its own `ssl` and replaces ours.
const urlTlsParameters = ['ssl', 'sslmode', 'sslrootcert', 'sslcert', 'sslkey']

/** Refuses a DATABASE_URL whose TLS parameters would silently replace DATABASE_SSL's settings. */
export function assertNoTlsInUrl(url: string): void {
  let parameters: URLSearchParams
  try {
    parameters = new URL(url).searchParams
  } catch {
    return
  }
  const found = urlTlsParameters.filter((name) => parameters.has(name))
  if (found.length > 0) {
    throw new Error(
      `DATABASE_URL sets ${found.join(', ')} and DATABASE_SSL is set too: the URL would replace DATABASE_SSL's settings; use one of them`
    )
  }
}

// Node's codes for a certificate that does not check out (chain, expiry or name).
const verificationCodes = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID'
])

/** Turns Node's terse certificate errors into one line that says what to check. */
export function explainTlsFailure(error: unknown, server: string, caFile: string | undefined): unknown {
  const code = (error as { code?: unknown } | undefined)?.code
  if (typeof code !== 'string' || !verificationCodes.has(code)) return error
  const check =
    code === 'ERR_TLS_CERT_ALTNAME_INVALID'
      ? 'connect with the host name on the certificate (for RDS, the instance endpoint, not an IP or alias)'
      : caFile
        ? `is DATABASE_SSL_CA_FILE "${caFile}" the CA bundle that signed the server certificate?`
        : 'set DATABASE_SSL_CA_FILE to the CA bundle that signed the server certificate'
  return new Error(`TLS verification of ${server} failed: ${(error as Error).message} (${code}); ${check}`, {
    cause: error
  })
}
