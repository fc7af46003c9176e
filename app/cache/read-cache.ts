// The per-instance cache of public read answers: serialised bodies with their ETags, bounded in
// bytes and evicted least recently used first. It holds no rule about what may be cached (the
// plugin and the routes decide) and learns about changes only through clear().
import { createHash } from 'node:crypto'

/** One cached answer: the body exactly as sent, its strong ETag and the headers that go with it. */
export interface CachedAnswer {
  body: string
  etag: string
  headers: Readonly<Record<string, string>>
}

/** A strong ETag: a hash of the exact bytes sent, so equal bodies get equal tags on every instance. */
export function etagOf(body: string): string {
  return `"${createHash('sha1').update(body).digest('base64url')}"`
}

/**
 * Whether an If-None-Match header matches the ETag (RFC 9110 §13.1.2: weak comparison, so
 * `W/"x"` matches `"x"`, and `*` matches any current answer).
 */
export function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false
  if (ifNoneMatch.trim() === '*') return true
  return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)
}

/** What one entry costs against the cap: the key and body as UTF-16 in memory, plus headers and bookkeeping. */
function sizeOf(key: string, answer: CachedAnswer): number {
  let size = 2 * (key.length + answer.body.length + answer.etag.length) + 200
  for (const name in answer.headers) size += 2 * (name.length + answer.headers[name]!.length)
  return size
}

/** Midnight UTC after `now`: computed outcomes ('upcoming' → 'unknown') change then. */
function nextUtcMidnight(now: number): number {
  const day = new Date(now)
  return Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate() + 1)
}

/** How many filter combinations' totals are kept (each is a key and a number). */
const MAX_COUNTS = 10_000

export class ReadCache {
  /** Bumped by every clear(): an answer read before a change is never stored after it. */
  #generation = 0
  #answers = new Map<string, { answer: CachedAnswer; size: number }>()
  #bytes = 0
  #counts = new Map<string, number>()
  #validUntil: number

  constructor(
    /** False (READ_CACHE=off): answers are never stored; totals still are, like the database's own caches. */
    readonly enabled: boolean,
    readonly maxBytes: number,
    private readonly now: () => number = Date.now
  ) {
    this.#validUntil = nextUtcMidnight(now())
  }

  /**
   * The current generation, to pass back to set()/setCount(): take it before reading from the
   * database. Also where a new UTC day clears what was computed for the previous one.
   */
  get generation(): number {
    if (this.now() >= this.#validUntil) this.clear()
    return this.#generation
  }

  get bytes(): number {
    return this.#bytes
  }

  get size(): number {
    return this.#answers.size
  }

  get(key: string): CachedAnswer | undefined {
    if (!this.enabled) return undefined
    const entry = this.#answers.get(key)
    if (!entry) return undefined
    if (this.now() >= this.#validUntil) {
      this.clear()
      return undefined
    }
    // Most recently used last: Map keeps insertion order, so eviction takes from the front.
    this.#answers.delete(key)
    this.#answers.set(key, entry)
    return entry.answer
  }

  /** Stores an answer read in `generation`, unless a change cleared the cache since (it may be stale). */
  set(key: string, answer: CachedAnswer, generation: number): void {
    if (!this.enabled || generation !== this.generation) return
    const size = sizeOf(key, answer)
    if (size > this.maxBytes) return
    this.#delete(key)
    this.#answers.set(key, { answer, size })
    this.#bytes += size
    for (const [oldest] of this.#answers) {
      if (this.#bytes <= this.maxBytes) break
      this.#delete(oldest)
    }
  }

  /** The stored total of launches matching a filter combination, if no change happened since. */
  count(key: string): number | undefined {
    return this.#counts.get(key)
  }

  setCount(key: string, total: number, generation: number): void {
    if (generation !== this.generation) return
    if (this.#counts.size >= MAX_COUNTS) this.#counts.clear()
    this.#counts.set(key, total)
  }

  /** Forgets everything: called for every change any instance commits (see cache-plugin.ts). */
  clear(): void {
    this.#generation++
    this.#answers.clear()
    this.#counts.clear()
    this.#bytes = 0
    this.#validUntil = nextUtcMidnight(this.now())
  }

  #delete(key: string): void {
    const entry = this.#answers.get(key)
    if (!entry) return
    this.#answers.delete(key)
    this.#bytes -= entry.size
  }
}
