import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyBaseLogger } from 'fastify'
import type { PostgresPool } from 'kysely'
import type pg from 'pg'
import { poolCounts, type PoolCounts } from '../pool-usage.js'
import { sameCredentials, type DatabaseCredentials, type DatabaseSecretReader } from './database-secret.js'

/**
 * Refusal while the database rejects our credentials. SQLSTATE 28P01 (invalid_password) like
 * the server's own refusal, so requests get a 503 instead of a 500.
 */
export class DatabaseCredentialsRejectedError extends Error {
  readonly code = '28P01'
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'DatabaseCredentialsRejectedError'
  }
}

export interface RotatingPoolOptions {
  reader: DatabaseSecretReader
  credentials: DatabaseCredentials
  /** A configured pool (timeouts, TLS, error listeners) for a set of credentials. */
  createPool(credentials: DatabaseCredentials): pg.Pool
  /** Rewrites a connection failure for the reader (e.g. TLS verification errors). */
  explainFailure(error: unknown, credentials: DatabaseCredentials): unknown
  /** `PostgreSQL at host:port/db`, for messages. */
  describe(credentials: DatabaseCredentials): string
  /** How long a connection request waits for new credentials before it fails. */
  waitForCredentialsMs: number
  refreshIntervalMs: number
  log: FastifyBaseLogger
}

const MAX_BACKOFF_MS = 10_000

/** No pause before the first re-read after a rejection, then 0.25 s, 0.5 s, 1 s … up to 10 s. */
function backoffMs(failures: number): number {
  return failures <= 1 ? 0 : Math.min(250 * 2 ** (failures - 2), MAX_BACKOFF_MS)
}

function isPasswordRejected(error: unknown): boolean {
  return (error as { code?: unknown } | undefined)?.code === '28P01'
}

/**
 * A pg pool facade for Kysely that survives password rotation. PostgreSQL checks the password
 * only when a connection opens, so rotation shows up as 28P01 from `connect()`: the facade then
 * re-reads the secret (one read for any number of concurrent failures), swaps in a pool built
 * from the new credentials, drains the old one, and retries that connect once. The statement
 * was never sent, so retrying is safe for writes too. While the database keeps rejecting what
 * the secret holds, re-reads back off and `unavailableReason()` says why.
 */
export class RotatingPool implements PostgresPool {
  readonly #options: RotatingPoolOptions
  #pool: pg.Pool
  #credentials: DatabaseCredentials
  /** Bumped on every pool swap, so a failure on an old pool never triggers a second re-read. */
  #generation = 0
  #rejectedGeneration = -1
  #failures = 0
  #rejectedSince = 0
  /** What the database said about the current credentials; `#reason` adds what we did about it. */
  #rejection = ''
  #reason: string | undefined
  #renewal: Promise<void> | undefined
  /** Old pools draining after a swap, until their checked-out clients come back. */
  readonly #retiring = new Map<pg.Pool, Promise<void>>()
  readonly #refreshTimer: NodeJS.Timeout
  #ended = false
  /** Cuts short backoff pauses and waits when the pool ends, so they never hold the process open. */
  readonly #closing = new AbortController()

  constructor(options: RotatingPoolOptions) {
    this.#options = options
    this.#credentials = options.credentials
    this.#pool = options.createPool(options.credentials)
    // Picks up a rotation before the database forces it on us (and an alternated user name).
    this.#refreshTimer = setInterval(() => void this.#refresh(), options.refreshIntervalMs).unref()
  }

  /** Kysely reads the pool's options when it needs a control connection to cancel a query. */
  get options(): object {
    return this.#pool.options
  }

  unavailableReason(): string | undefined {
    return this.#reason
  }

  /** Connections in use and requests waiting, over the current pool and the ones still draining. */
  counts(): PoolCounts {
    return poolCounts(this.#pool, ...this.#retiring.keys())
  }

  async connect(): Promise<pg.PoolClient> {
    const generation = this.#generation
    if (this.#rejectedGeneration === generation) {
      // Known-bad credentials: wait for the secret to change instead of knocking on the database.
      await this.#waitForNewCredentials(generation)
      return this.#connectOnce()
    }
    try {
      return await this.#connectOnce()
    } catch (error) {
      if (!isPasswordRejected(error)) throw error
      await this.#waitForNewCredentials(generation)
      this.#options.log.debug('retrying a database connection with the re-read credentials')
      return this.#connectOnce()
    }
  }

  async end(): Promise<void> {
    if (this.#ended) return
    this.#ended = true
    this.#closing.abort()
    clearInterval(this.#refreshTimer)
    this.#retire(this.#pool)
    await Promise.all(this.#retiring.values())
    this.#options.reader.destroy()
  }

  async #connectOnce(): Promise<pg.PoolClient> {
    const generation = this.#generation
    try {
      const client = await this.#pool.connect()
      if (this.#reason !== undefined && generation === this.#generation) {
        this.#options.log.info({ unavailableMs: Date.now() - this.#rejectedSince }, 'the database accepts the credentials again')
        this.#reason = undefined
        this.#failures = 0
      }
      return client
    } catch (error) {
      if (!isPasswordRejected(error)) throw this.#options.explainFailure(error, this.#credentials)
      if (this.#rejectedGeneration !== generation && generation === this.#generation) {
        this.#rejectedGeneration = generation
        this.#rejection = `${this.#options.describe(this.#credentials)} rejects the credentials from secret "${this.#options.reader.secretId}" (${(error as Error).message})`
        this.#noteRejection(this.#rejection)
        this.#options.log.warn({ secretId: this.#options.reader.secretId }, 'database rejected the password; re-reading the secret')
      }
      throw new DatabaseCredentialsRejectedError(this.#reason ?? (error as Error).message, { cause: error })
    }
  }

  #noteRejection(reason: string): void {
    if (this.#reason === undefined) this.#rejectedSince = Date.now()
    this.#failures += 1
    this.#reason = reason
  }

  /** Waits, within the budget, through as many (backed-off) re-reads as it takes for a pool swap. */
  async #waitForNewCredentials(generation: number): Promise<void> {
    const deadline = Date.now() + this.#options.waitForCredentialsMs
    while (this.#generation === generation) {
      const remaining = deadline - Date.now()
      if (remaining <= 0 || this.#ended) {
        throw new DatabaseCredentialsRejectedError(this.#reason ?? 'waiting for new database credentials')
      }
      const timeout = sleep(remaining, undefined, { signal: this.#closing.signal }).catch(() => undefined)
      await Promise.race([this.#renew(generation).catch(() => undefined), timeout])
    }
  }

  /** One re-read at a time; every waiter shares it. */
  #renew(generation: number): Promise<void> {
    if (generation !== this.#generation) return Promise.resolve()
    this.#renewal ??= this.#reread(generation).finally(() => {
      this.#renewal = undefined
    })
    return this.#renewal
  }

  async #reread(generation: number): Promise<void> {
    const delay = backoffMs(this.#failures)
    if (delay > 0) await sleep(delay, undefined, { signal: this.#closing.signal }).catch(() => undefined)
    if (this.#ended || generation !== this.#generation) return
    const { reader, log } = this.#options
    let credentials: DatabaseCredentials
    try {
      credentials = await reader.read()
    } catch (error) {
      this.#noteRejection(`${this.#rejection}; re-reading it failed: ${(error as Error).message}`)
      log.error({ err: error }, 'cannot re-read the database secret')
      throw error
    }
    if (sameCredentials(credentials, this.#credentials)) {
      this.#noteRejection(
        `${this.#rejection}; the secret still holds the same credentials (next re-read in ${backoffMs(this.#failures + 1) / 1000} s)`
      )
      throw new DatabaseCredentialsRejectedError(this.#reason as string)
    }
    this.#swap(credentials, 'rejected')
  }

  async #refresh(): Promise<void> {
    if (this.#renewal || this.#ended) return
    try {
      const credentials = await this.#options.reader.read()
      if (!this.#ended && !sameCredentials(credentials, this.#credentials)) this.#swap(credentials, 'refresh')
    } catch (error) {
      // The pool keeps its current credentials; a rejection will force another read.
      this.#options.log.warn({ err: error }, 'scheduled refresh of the database secret failed')
    }
  }

  #swap(credentials: DatabaseCredentials, cause: 'rejected' | 'refresh'): void {
    const previous = this.#pool
    this.#pool = this.#options.createPool(credentials)
    this.#credentials = credentials
    this.#generation += 1
    this.#retire(previous)
    this.#options.log.info({ cause, user: credentials.user }, 'database credentials changed; new connections use them')
  }

  /** Ends an old pool once its checked-out clients come back; its idle ones close now. */
  #retire(pool: pg.Pool): void {
    const ending = pool
      .end()
      .catch((error: unknown) => this.#options.log.warn({ err: error }, 'closing a retired database pool failed'))
      .finally(() => this.#retiring.delete(pool))
    this.#retiring.set(pool, ending)
  }
}
