// One SpaceX sync: fetch and validate every page first (the network is the slow, failing part),
// then upsert everything in one transaction, so a failure anywhere writes nothing.
import { sql, type Kysely, type Transaction } from 'kysely'
import type { Database } from '../database/schema.js'
import { findLaunches } from '../launches/launches-queries.js'
import { runWrite } from '../writes/unit-of-work.js'
import { fetchSpacexLaunches, type FetchLaunchesOptions } from './spacex-api.js'
import { planLaunchRows, type SkippedLaunch, type SpacexLaunchRow } from './spacex-launches.js'

export interface SpacexSyncResult {
  fetched: number
  inserted: number
  updated: number
  unchanged: number
  skipped: number
  skippedLaunches: SkippedLaunch[]
}

/** Rows per multi-row insert: 7 parameters each, far below PostgreSQL's 65535 limit. */
const UPSERT_BATCH_SIZE = 100
/** Any constant shared by every instance: pg_advisory_xact_lock keys are one bigint namespace per database. */
const SYNC_LOCK_KEY = 7_231_604_400

/** The sync writes as the service itself: its audit rows and feed events name this actor. */
const SYNC_ACTOR = { type: 'system', name: 'spacex-sync' } as const

export async function syncSpacexLaunches(db: Kysely<Database>, options: FetchLaunchesOptions): Promise<SpacexSyncResult> {
  const docs = await fetchSpacexLaunches(options)
  const { result } = await runWrite(db, { actor: SYNC_ACTOR }, async (trx) => {
    // Instances starting together all sync an empty table: they take turns, and the later ones
    // find nothing to change. The lock ends with the transaction.
    await sql`select pg_advisory_xact_lock(${SYNC_LOCK_KEY})`.execute(trx)
    const stored = await trx.selectFrom('launches').select(['flight_number', 'spacex_id']).where('source', '=', 'spacex').execute()
    const storedFlightOwners = new Map(stored.map((row) => [row.flight_number, row.spacex_id as string]))
    const { rows, skipped } = planLaunchRows(docs, storedFlightOwners, new Date())

    const result: SpacexSyncResult = {
      fetched: docs.length,
      inserted: 0,
      updated: 0,
      unchanged: 0,
      skipped: skipped.length,
      skippedLaunches: skipped
    }
    const writtenFlightNumbers: number[] = []
    for (let start = 0; start < rows.length; start += UPSERT_BATCH_SIZE) {
      // The app is closing: throwing here rolls the whole sync back.
      options.signal?.throwIfAborted()
      const batch = rows.slice(start, start + UPSERT_BATCH_SIZE)
      const written = await upsertBatch(trx, batch)
      const inserted = written.filter((row) => row.inserted).length
      result.inserted += inserted
      result.updated += written.length - inserted
      result.unchanged += batch.length - written.length
      writtenFlightNumbers.push(...written.map((row) => row.flight_number))
    }
    const { skippedLaunches, ...counts } = result
    const launches = await findLaunches(trx, writtenFlightNumbers)
    return {
      result,
      audit: [{ action: 'spacex.synced', details: { ...counts, apiUrl: options.apiUrl } }],
      events: [...launches.map((launch) => ({ type: 'launch' as const, payload: { change: 'synced', launch } })), { type: 'sync', payload: counts }]
    }
  })
  return result
}

/** Inserts new launches and updates changed ones; returns only the rows it wrote. */
function upsertBatch(trx: Transaction<Database>, batch: SpacexLaunchRow[]) {
  return trx
    .insertInto('launches')
    .values(batch.map((row) => ({ ...row, source: 'spacex' as const, target_planet_id: null })))
    .onConflict((conflict) =>
      conflict
        .column('spacex_id')
        .doUpdateSet((eb) => ({
          flight_number: eb.ref('excluded.flight_number'),
          mission: eb.ref('excluded.mission'),
          rocket: eb.ref('excluded.rocket'),
          launch_date: eb.ref('excluded.launch_date'),
          customers: eb.ref('excluded.customers'),
          status: eb.ref('excluded.status'),
          // SpaceX's status is the truth for its launches: a row aborted here before aborting them
          // was refused must not keep an abort time (or aborter) the status no longer explains.
          aborted_at: null,
          aborted_by: null,
          updated_at: sql<Date>`now()`
        }))
        // An identical row is left alone: no write, no new updated_at, not returned.
        .where(
          sql<boolean>`(launches.flight_number, launches.mission, launches.rocket, launches.launch_date, launches.customers, launches.status, launches.aborted_at)
            is distinct from (excluded.flight_number, excluded.mission, excluded.rocket, excluded.launch_date, excluded.customers, excluded.status, excluded.aborted_at)`
        )
    )
    // xmax is 0 only in a freshly inserted row version; an updated one carries our transaction id.
    .returning(['flight_number', sql<boolean>`xmax = 0`.as('inserted')])
    .execute()
}

export async function hasStoredSpacexLaunches(db: Kysely<Database>): Promise<boolean> {
  const row = await db.selectFrom('launches').select('flight_number').where('source', '=', 'spacex').limit(1).executeTakeFirst()
  return row !== undefined
}
