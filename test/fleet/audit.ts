// Audits a load run against the database: every acknowledged write stored exactly once, every
// acknowledged abort applied, nothing duplicated, every stream gap-free; and prints the table of
// requests and failures a scenario reports.
import type pg from 'pg'
import type { LoadGenerator, RequestRecord } from './load.js'

/** The service's documented 503s: each comes with Retry-After. */
export const DOCUMENTED_503 = new Set(['DATABASE_UNAVAILABLE', 'QUERY_TIMEOUT', 'SERVICE_OVERLOADED'])

export function failed(record: RequestRecord): boolean {
  const expected = record.kind === 'write' ? 201 : 200
  return record.status !== expected
}

/** `503 DATABASE_UNAVAILABLE`, `502`, `no answer (ECONNRESET)`… */
export function failureKind(record: RequestRecord): string {
  if (record.status === 0) return `no answer (${record.error})`
  return [record.status, record.code, record.status === 503 && !record.retryAfter ? '(no Retry-After)' : ''].filter(Boolean).join(' ')
}

/** A 503 the API documents, with its Retry-After. */
export function isDocumented503(record: RequestRecord): boolean {
  return record.status === 503 && DOCUMENTED_503.has(record.code ?? '') && record.retryAfter !== undefined
}

export interface AuditResult {
  requests: number
  failed: number
  failures: Map<string, number>
  writes: {
    /** Distinct writes (retries of one write count once). */
    sent: number
    acknowledged: number
    /** Acknowledged and found exactly once, with the acknowledged flight number. */
    storedOnce: number
    /** Missions stored more than once. */
    duplicated: number
    /** Acknowledged but not in the database. */
    lost: number
    /** Never acknowledged, yet stored (the client cannot know; a retry with its key settles it). */
    unacknowledgedStored: number
    /** Attempts after the first, with the same Idempotency-Key. */
    retries: number
  }
  aborts: { acknowledged: number; applied: number }
  streams: { clients: number; reconnects: number; missed: number; received: number }
}

export async function audit(load: LoadGenerator, client: pg.Client): Promise<AuditResult> {
  const { records } = load
  const failures = new Map<string, number>()
  for (const record of records.filter(failed)) failures.set(failureKind(record), (failures.get(failureKind(record)) ?? 0) + 1)

  const { rows } = await client.query<{ mission: string; flight_number: number; status: string }>(
    'select mission, flight_number, status from launches where mission like $1',
    [`${load.runId} #%`]
  )
  const stored = new Map<string, number[]>()
  for (const row of rows) stored.set(row.mission, [...(stored.get(row.mission) ?? []), row.flight_number])
  const status = new Map(rows.map((row) => [row.flight_number, row.status]))

  const writes = new Map<string, RequestRecord | undefined>()
  for (const record of records.filter((r) => r.kind === 'write')) {
    const acknowledged = record.status === 201 ? record : writes.get(record.mission!)
    writes.set(record.mission!, acknowledged)
  }
  const acknowledged = [...writes.values()].filter((record): record is RequestRecord => record !== undefined)
  const aborts = records.filter((record) => record.kind === 'abort' && record.status === 200)

  const streams = { clients: load.streams.length, reconnects: 0, missed: 0, received: 0 }
  if (load.streams.some((stream) => stream.ids.length > 0)) {
    const { rows: events } = await client.query<{ id: string }>('select id from change_events order by id')
    const ids = events.map((event) => Number(event.id))
    for (const stream of load.streams) {
      streams.reconnects += stream.connections - 1
      streams.received += stream.ids.length
      if (stream.ids.length === 0) continue
      // Everything committed between the client's first event and its last must have reached it.
      const seen = new Set(stream.ids)
      const [first, last] = [stream.ids[0]!, stream.ids.at(-1)!]
      streams.missed += ids.filter((id) => id > first && id <= last && !seen.has(id)).length
    }
  }

  return {
    requests: records.length,
    failed: records.filter(failed).length,
    failures,
    writes: {
      sent: writes.size,
      acknowledged: acknowledged.length,
      storedOnce: acknowledged.filter((record) => stored.get(record.mission!)?.length === 1 && stored.get(record.mission!)![0] === record.flightNumber).length,
      duplicated: [...stored.values()].filter((numbers) => numbers.length > 1).length,
      lost: acknowledged.filter((record) => !stored.has(record.mission!)).length,
      unacknowledgedStored: [...writes.entries()].filter(([mission, record]) => record === undefined && stored.has(mission)).length,
      retries: records.filter((record) => (record.attempt ?? 1) > 1).length
    },
    aborts: { acknowledged: aborts.length, applied: aborts.filter((record) => status.get(record.flightNumber!) === 'aborted').length },
    streams
  }
}

/** The scenario's table, as tap comments (printed with the test output). */
export function report(comment: (message: string) => void, title: string, result: AuditResult, notes: string[] = []): void {
  const failures = [...result.failures.entries()].map(([kind, count]) => `${count} × ${kind}`).join(', ') || 'none'
  const { writes, aborts, streams } = result
  const lines = [
    `${title}`,
    '| requests | failed | failures by kind | writes sent | retries (same key) | acknowledged | stored once | duplicated | lost | unacknowledged but stored | aborts acknowledged / applied |',
    '| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    `| ${result.requests} | ${result.failed} | ${failures} | ${writes.sent} | ${writes.retries} | ${writes.acknowledged} | ${writes.storedOnce} | ${writes.duplicated} | ${writes.lost} | ${writes.unacknowledgedStored} | ${aborts.acknowledged} / ${aborts.applied} |`
  ]
  if (streams.clients > 0) lines.push(`event streams: ${streams.clients} clients, ${streams.received} events, ${streams.reconnects} reconnects, ${streams.missed} missed`)
  for (const line of [...lines, ...notes]) comment(line)
}
