import { sql, type ExpressionBuilder, type Kysely } from 'kysely'
import type { Database, LaunchStatus } from '../database/schema.js'
import type { Launch, LaunchOutcome, LaunchStats, ListLaunchesQuery } from './launch-schemas.js'
import { startOfTodayUtc } from './launch-date.js'

type LaunchesWithTarget = ExpressionBuilder<Database, 'launches' | 'planets'>

/**
 * A launch still marked upcoming whose day has passed never got an outcome (SpaceX stopped
 * updating its data in 2022), so it is reported as 'unknown' rather than as upcoming forever.
 */
function outcomeOf(eb: ExpressionBuilder<Database, 'launches'>, today: Date) {
  return eb
    .case()
    .when(eb.and([eb('launches.status', '=', 'upcoming'), eb('launches.launch_date', '<', today)]))
    .then(sql.lit<LaunchOutcome>('unknown'))
    .else(eb.ref('launches.status'))
    .end()
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`)
}

function matchesFilters(eb: LaunchesWithTarget, filters: Omit<ListLaunchesQuery, 'page' | 'limit' | 'order'>, today: Date) {
  const conditions = []
  if (filters.source) conditions.push(eb('launches.source', '=', filters.source))
  if (filters.outcome) conditions.push(eb(outcomeOf(eb, today), '=', filters.outcome))
  if (filters.upcoming !== undefined) {
    const upcoming = eb.and([eb('launches.status', '=', 'upcoming'), eb('launches.launch_date', '>=', today)])
    conditions.push(filters.upcoming ? upcoming : eb.not(upcoming))
  }
  if (filters.q) {
    const pattern = `%${escapeLike(filters.q)}%`
    conditions.push(
      eb.or([
        eb('launches.mission', 'ilike', pattern),
        eb('launches.rocket', 'ilike', pattern),
        eb('planets.kepler_name', 'ilike', pattern),
        eb(sql<string>`array_to_string(${eb.ref('launches.customers')}, ' ')`, 'ilike', pattern)
      ])
    )
  }
  return eb.and(conditions)
}

function launchesWithTargets(db: Kysely<Database>) {
  return db.selectFrom('launches').leftJoin('planets', 'planets.id', 'launches.target_planet_id')
}

function selectLaunch(db: Kysely<Database>, today: Date) {
  return launchesWithTargets(db).select((eb) => [...launchColumns(eb, today), 'planets.kepler_name as target'])
}

/** The launch columns the API shows, plus the computed outcome; for selects and RETURNING alike. */
function launchColumns(eb: ExpressionBuilder<Database, 'launches'>, today: Date) {
  return [
    'launches.flight_number',
    'launches.mission',
    'launches.rocket',
    'launches.launch_date',
    'launches.customers',
    'launches.source',
    'launches.aborted_at',
    outcomeOf(eb, today).as('outcome'),
    operatorName(eb, 'launches.scheduled_by').as('scheduled_by_name'),
    operatorName(eb, 'launches.aborted_by').as('aborted_by_name')
  ] as const
}

/** The display name of the operator a launch column points at (a subquery, so RETURNING can use it too). */
function operatorName(eb: ExpressionBuilder<Database, 'launches'>, column: 'launches.scheduled_by' | 'launches.aborted_by') {
  return eb.selectFrom('operators').select('operators.display_name').whereRef('operators.id', '=', column).$asScalar()
}

type LaunchRecord = Awaited<ReturnType<ReturnType<typeof selectLaunch>['executeTakeFirstOrThrow']>>

function toLaunch(row: LaunchRecord): Launch {
  return {
    flightNumber: row.flight_number,
    mission: row.mission,
    rocket: row.rocket,
    launchDate: row.launch_date.toISOString(),
    target: row.target,
    customers: row.customers,
    upcoming: row.outcome === 'upcoming',
    success: row.outcome === 'success' ? true : row.outcome === 'failure' || row.outcome === 'aborted' ? false : null,
    outcome: row.outcome,
    source: row.source,
    abortedAt: row.aborted_at ? row.aborted_at.toISOString() : null,
    scheduledBy: row.scheduled_by_name ?? null,
    abortedBy: row.aborted_by_name ?? null
  }
}

export async function listLaunches(db: Kysely<Database>, query: ListLaunchesQuery): Promise<{ launches: Launch[]; total: number }> {
  const today = startOfTodayUtc()
  const { page, limit, order, ...filters } = query
  const [rows, count] = await Promise.all([
    selectLaunch(db, today)
      .where((eb) => matchesFilters(eb, filters, today))
      .orderBy('launches.flight_number', order)
      .limit(limit)
      .offset((page - 1) * limit)
      .execute(),
    launchesWithTargets(db)
      .where((eb) => matchesFilters(eb, filters, today))
      .select(sql<number>`count(*)::int`.as('total'))
      .executeTakeFirstOrThrow()
  ])
  return { launches: rows.map(toLaunch), total: count.total }
}

export async function findLaunch(db: Kysely<Database>, flightNumber: number): Promise<Launch | undefined> {
  const [launch] = await findLaunches(db, [flightNumber])
  return launch
}

/** Customers of launches scheduled here, as in the original mission control. */
export const DEFAULT_CUSTOMERS = ['Zero to Mastery', 'NASA']

/**
 * Inserts a mission-control launch to the named planet (the database assigns the flight number)
 * and returns it as stored, from the same statement: there is no read-back that could fail after
 * the row is written. Returns undefined when no planet has that name.
 */
export async function scheduleLaunch(
  db: Kysely<Database>,
  launch: { mission: string; rocket: string; target: string; launchDate: Date; scheduledBy: number | null }
): Promise<Launch | undefined> {
  const row = await db
    .insertInto('launches')
    .columns(['mission', 'rocket', 'launch_date', 'target_planet_id', 'customers', 'status', 'source', 'scheduled_by'])
    .expression((eb) =>
      eb
        .selectFrom('planets')
        .select([
          eb.val(launch.mission).as('mission'),
          eb.val(launch.rocket).as('rocket'),
          eb.val(launch.launchDate).as('launch_date'),
          'planets.id',
          sql<string[]>`${sql.val(DEFAULT_CUSTOMERS)}::text[]`.as('customers'),
          sql.lit<LaunchStatus>('upcoming').as('status'),
          sql.lit('mission_control').as('source'),
          eb.val(launch.scheduledBy).as('scheduled_by')
        ])
        .where('planets.kepler_name', '=', launch.target)
    )
    .returning((eb) => launchColumns(eb, startOfTodayUtc()))
    .executeTakeFirst()
  // The planet matched by this exact name is the target.
  return row && toLaunch({ ...row, target: launch.target })
}

export type AbortResult =
  | { status: 'aborted'; launch: Launch }
  | { status: 'not_found' | 'already_aborted' | 'already_flown' | 'not_abortable' }

/**
 * Aborts an upcoming launch scheduled here, keeping the row and the abort time; nothing is ever
 * deleted. SpaceX's launches are history synced from SpaceX: they cannot be aborted here.
 */
export async function abortLaunch(db: Kysely<Database>, flightNumber: number, abortedBy: number | null): Promise<AbortResult> {
  const today = startOfTodayUtc()
  const aborted = await db
    .updateTable('launches')
    .set({ status: 'aborted', aborted_at: sql<Date>`now()`, aborted_by: abortedBy, updated_at: sql<Date>`now()` })
    .where('flight_number', '=', flightNumber)
    .where('source', '=', 'mission_control')
    .where('status', '=', 'upcoming')
    .where('launch_date', '>=', today)
    .returning('flight_number')
    .executeTakeFirst()
  if (aborted) return { status: 'aborted', launch: (await findLaunch(db, flightNumber)) as Launch }
  const existing = await db.selectFrom('launches').select(['status', 'source']).where('flight_number', '=', flightNumber).executeTakeFirst()
  if (!existing) return { status: 'not_found' }
  if (existing.source === 'spacex') return { status: 'not_abortable' }
  return { status: existing.status === 'aborted' ? 'already_aborted' : 'already_flown' }
}

/** The launches with these flight numbers as the API shows them, in flight-number order. */
export async function findLaunches(db: Kysely<Database>, flightNumbers: number[]): Promise<Launch[]> {
  if (flightNumbers.length === 0) return []
  const rows = await selectLaunch(db, startOfTodayUtc())
    .where('launches.flight_number', 'in', flightNumbers)
    .orderBy('launches.flight_number')
    .execute()
  return rows.map(toLaunch)
}

export async function launchStats(db: Kysely<Database>): Promise<LaunchStats> {
  const today = startOfTodayUtc()
  const rows = await launchesWithTargets(db)
    .select((eb) => [
      sql<number>`extract(year from ${eb.ref('launches.launch_date')} at time zone 'UTC')::int`.as('year'),
      outcomeOf(eb, today).as('outcome'),
      sql<number>`count(*)::int`.as('count')
    ])
    .groupBy(['year', 'outcome'])
    .orderBy('year')
    .execute()
  const years = new Map<number, LaunchStats['years'][number]>()
  for (const { year, outcome, count } of rows) {
    const entry = years.get(year) ?? { year, upcoming: 0, success: 0, failure: 0, aborted: 0, unknown: 0 }
    entry[outcome] = count
    years.set(year, entry)
  }
  return { years: [...years.values()] }
}
