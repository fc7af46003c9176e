import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'

/** Where and as whom to connect; built from a Secrets Manager secret plus the DATABASE_* fallbacks. */
export interface DatabaseCredentials {
  host: string
  port: number
  database: string
  user: string
  password: string
}

/** The endpoint from the environment, for secrets that carry only `username` and `password`. */
export interface EndpointFallback {
  host?: string
  port?: number
  database?: string
}

/**
 * A misconfigured or unreadable secret. The message names the secret and the problem in one
 * line, because at start it is the only line the operator gets; it never contains secret values.
 */
export class DatabaseSecretError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'DatabaseSecretError'
  }
}

/** Reads the database secret on every call: no cache, so a re-read after rotation sees the new password. */
export class DatabaseSecretReader {
  readonly #client: SecretsManagerClient
  readonly #secretId: string
  readonly #fallback: EndpointFallback

  constructor(secretId: string, fallback: EndpointFallback, region?: string) {
    this.#secretId = secretId
    this.#fallback = fallback
    // The endpoint comes from the SDK's own AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL
    // (tests point it at a fake); credentials from the default chain (the instance profile on EB).
    this.#client = new SecretsManagerClient({
      ...(region ? { region } : {}),
      maxAttempts: 3,
      // A start that hangs on an unreachable endpoint is worse than one that fails.
      requestHandler: { connectionTimeout: 3000, requestTimeout: 5000 }
    })
  }

  get secretId(): string {
    return this.#secretId
  }

  async read(): Promise<DatabaseCredentials> {
    let secretString: string | undefined
    try {
      const output = await this.#client.send(new GetSecretValueCommand({ SecretId: this.#secretId }))
      secretString = output.SecretString
    } catch (error) {
      const { name, message } = error as Error
      throw new DatabaseSecretError(`cannot read database secret "${this.#secretId}": ${name}: ${message}`, {
        cause: error
      })
    }
    if (secretString === undefined) {
      throw new DatabaseSecretError(`database secret "${this.#secretId}" has no SecretString (binary secrets are not supported)`)
    }
    return parseDatabaseSecret(this.#secretId, secretString, this.#fallback)
  }

  destroy(): void {
    this.#client.destroy()
  }
}

/**
 * `{"username","password"}` (an RDS-managed master secret) or the full RDS rotation shape with
 * `host`, `port` (string or number) and `dbname`; the secret's values win over the environment.
 */
export function parseDatabaseSecret(secretId: string, secretString: string, fallback: EndpointFallback): DatabaseCredentials {
  const problem = (what: string) => new DatabaseSecretError(`database secret "${secretId}" ${what}`)
  let parsed: unknown
  try {
    parsed = JSON.parse(secretString)
  } catch {
    // JSON.parse's own message quotes the text, i.e. possibly the password: leave it out.
    throw problem('is not valid JSON')
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw problem('is not a JSON object')
  const secret = parsed as Record<string, unknown>

  const text = (field: string): string | undefined => {
    const value = secret[field]
    if (value === undefined || value === null) return undefined
    if (typeof value !== 'string' || value === '') throw problem(`has an invalid "${field}" (expected a non-empty string)`)
    return value
  }
  const user = text('username')
  const password = text('password')
  if (!user) throw problem('has no "username"')
  if (!password) throw problem('has no "password"')

  const host = text('host') ?? fallback.host
  if (!host) throw problem('has no "host" and DATABASE_HOST is not set')

  let port = fallback.port ?? 5432
  const rawPort = secret.port
  if (rawPort !== undefined && rawPort !== null && rawPort !== '') {
    port = Number(rawPort)
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw problem('has an invalid "port"')
  }

  const database = text('dbname') ?? fallback.database ?? 'postgres'
  return { host, port, database, user, password }
}

export function sameCredentials(a: DatabaseCredentials, b: DatabaseCredentials): boolean {
  return a.host === b.host && a.port === b.port && a.database === b.database && a.user === b.user && a.password === b.password
}
