import { sql, type Expression, type ExpressionBuilder, type Kysely } from 'kysely'
import { StatementCache } from '../database/statement-cache.js'
import type { Database, LaunchSource, LaunchStatus } from '../database/schema.js'
import type { Launch, LaunchOutcome, LaunchStats, ListLaunchesQuery } from './launch-schemas.js'
import { startOfTodayUtc } from './launch-date.js'

/** Filters read the launches table alone, so pages and counts can skip the join until the page is known. */
type Launches = ExpressionBuilder<Database, 'launches'>

/** Today's date as a value, or as a placeholder of a statement compiled once (StatementCache). */
type Today = Date | Expression<Date>

/**
 * A launch still marked upcoming whose day has passed never got an outcome (SpaceX stopped
 * updating its data in 2022), so it is reported as 'unknown' rather than as upcoming forever.
 */
function outcomeOf(eb: ExpressionBuilder<Database, 'launches'>, today: Today) {
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

type Filters = Pick<ListLaunchesQuery, 'source' | 'outcome' | 'upcoming' | 'q'>

/** The values of one list statement, by the name of the placeholder each replaces. */
interface ListValues {
  today: Date
  source?: string
  outcome?: string
  pattern?: string
  after?: number
  limit: number
  offset: number
}

const listStatements = new StatementCache<ListValues>()
const slot = listStatements.slot

/**
 * The text search: the ILIKE arms match the trigram indexes of the launches table (migration
 * 2026_11_30_140000, which also defines launch_customers_text), so PostgreSQL combines them in one
 * bitmap scan; the destination arm looks the planets up first and probes target_planet_id.
 */
function matchesText(eb: Launches, pattern: Expression<string>) {
  return eb.or([
    eb('launches.mission', 'ilike', pattern),
    eb('launches.rocket', 'ilike', pattern),
    eb(sql<string>`launch_customers_text(${eb.ref('launches.customers')})`, 'ilike', pattern),
    eb(
      'launches.target_planet_id',
      '=',
      sql<number>`any(array(${eb.selectFrom('planets as named').select('named.id').where('named.kepler_name', 'ilike', pattern)}))`
    )
  ])
}

/** The filter conditions of a list, with placeholders for the values (only the filters present appear). */
function matchesFilters(eb: Launches, filters: Filters) {
  const today = slot<Date>('today')
  const conditions = []
  if (filters.source) conditions.push(eb('launches.source', '=', slot<LaunchSource>('source')))
  if (filters.outcome) conditions.push(eb(outcomeOf(eb, today), '=', slot<LaunchOutcome>('outcome')))
  if (filters.upcoming !== undefined) {
    const upcoming = eb.and([eb('launches.status', '=', 'upcoming'), eb('launches.launch_date', '>=', today)])
    conditions.push(filters.upcoming ? upcoming : eb.not(upcoming))
  }
  if (filters.q) conditions.push(matchesText(eb, slot<string>('pattern')))
  return eb.and(conditions)
}

function launchesWithTargets(db: Kysely<Database>) {
  return db.selectFrom('launches').leftJoin('planets', 'planets.id', 'launches.target_planet_id')
}

function selectLaunch(db: Kysely<Database>, today: Today) {
  return launchesWithTargets(db).select((eb) => [...launchColumns(eb, today), 'planets.kepler_name as target'])
}

/** The launch columns the API shows, plus the computed outcome; for selects and RETURNING alike. */
function launchColumns(eb: ExpressionBuilder<Database, 'launches'>, today: Today) {
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

/** A page of launches: `next` is the flight number to continue `after` when more follow. */
export interface LaunchPage {
  launches: Launch[]
  total: number
  next?: number
}

/** Where a list keeps the totals it counted, per filter combination (the read cache, app/cache/). */
export interface CountStore {
  readonly generation: number
  count(key: string): number | undefined
  setCount(key: string, total: number, generation: number): void
}

type ListRow = LaunchRecord & { total?: number | null }

/**
 * One page of launches in ONE statement: the page alone when the total for these filters is
 * stored, otherwise the count with the page joined to it (LEFT JOIN LATERAL, so a page past the
 * end still brings its total). One row more than asked for tells whether a next page exists.
 * `after` continues from a flight number by the primary key (keyset): the thousandth page costs
 * what the first does. Offset pages (`page`) keep working for v1 clients.
 */
export async function listLaunches(db: Kysely<Database>, query: ListLaunchesQuery, counts: CountStore): Promise<LaunchPage> {
  const { page, limit, order, after, ...filters } = query
  const generation = counts.generation
  const countKey = JSON.stringify([filters.source, filters.outcome, filters.upcoming, filters.q])
  const storedTotal = counts.count(countKey)
  const shape = [
    filters.source ? 'source' : '',
    filters.outcome ? 'outcome' : '',
    filters.upcoming ?? '',
    filters.q ? 'q' : '',
    order,
    after === undefined ? 'offset' : 'after',
    storedTotal === undefined ? 'count' : ''
  ].join('|')
  const build = () => {
    // The page's flight numbers first, from the launches table (an index scan), then the columns,
    // joins and subqueries for those rows alone: rows skipped by a deep OFFSET cost an index entry each.
    const pageNumbers = db
      .selectFrom('launches')
      .select('launches.flight_number')
      .where((eb) => matchesFilters(eb, filters))
      .$if(after !== undefined, (qb) => qb.where('launches.flight_number', order === 'asc' ? '>' : '<', slot<number>('after')))
      .orderBy('launches.flight_number', order)
      .limit(slot<number>('limit'))
      .offset(slot<number>('offset'))
    const pageQuery = selectLaunch(db, slot<Date>('today'))
      .where('launches.flight_number', 'in', pageNumbers)
      .orderBy('launches.flight_number', order)
    if (storedTotal !== undefined) return pageQuery.compile()
    const countQuery = db
      .selectFrom('launches')
      .where((eb) => matchesFilters(eb, filters))
      .select(sql<number>`count(*)::int`.as('total'))
    // `order` is 'asc' or 'desc' (the query schema's enum).
    return sql`select counted.total, page.* from (${countQuery}) as counted left join lateral (${pageQuery}) as page on true order by page.flight_number ${sql.raw(order)}`.compile(db)
  }
  const values: ListValues = {
    today: startOfTodayUtc(),
    limit: limit + 1,
    offset: (page - 1) * limit,
    ...(filters.source && { source: filters.source }),
    ...(filters.outcome && { outcome: filters.outcome }),
    ...(filters.q && { pattern: `%${escapeLike(filters.q)}%` }),
    ...(after !== undefined && { after })
  }
  const { rows } = await db.executeQuery(listStatements.statement<ListRow>(shape, build, values))
  let total = storedTotal
  if (total === undefined) {
    total = rows[0]?.total ?? 0
    counts.setCount(countKey, total, generation)
  }
  // A page past the end is the count's row alone, without a launch.
  const launches = rows.filter((row) => row.flight_number !== null).map(toLaunch)
  const more = launches.length > limit
  if (more) launches.pop()
  return { launches, total, ...(more && { next: launches.at(-1)!.flightNumber }) }
}

export async function findLaunch(db: Kysely<Database>, flightNumber: number): Promise<Launch | undefined> {
  const [launch] = await findLaunches(db, [flightNumber])
  return launch
}

/** Customers of launches scheduled here, as in the original mission control. */
export const DEFAULT_CUSTOMERS = ['Zero to Mastery', 'NASA']

const scheduleStatements = new StatementCache<{ mission: string; rocket: string; target: string; launchDate: Date; scheduledBy: number | null; today: Date }>()
const scheduleSlot = scheduleStatements.slot

/**
 * Inserts a mission-control launch to the named planet (the database assigns the flight number)
 * and returns it as stored, from the same statement: there is no read-back that could fail after
 * the row is written. Returns undefined when no planet has that name.
 */
export async function scheduleLaunch(
  db: Kysely<Database>,
  launch: { mission: string; rocket: string; target: string; launchDate: Date; scheduledBy: number | null }
): Promise<Launch | undefined> {
  const build = () =>
    db
      .insertInto('launches')
      .columns(['mission', 'rocket', 'launch_date', 'target_planet_id', 'customers', 'status', 'source', 'scheduled_by'])
      .expression((eb) =>
        eb
          .selectFrom('planets')
          .select([
            scheduleSlot<string>('mission').as('mission'),
            scheduleSlot<string>('rocket').as('rocket'),
            scheduleSlot<Date>('launchDate').as('launch_date'),
            'planets.id',
            sql<string[]>`${sql.val(DEFAULT_CUSTOMERS)}::text[]`.as('customers'),
            sql.lit<LaunchStatus>('upcoming').as('status'),
            sql.lit('mission_control').as('source'),
            scheduleSlot<number | null>('scheduledBy').as('scheduled_by')
          ])
          .where('planets.kepler_name', '=', scheduleSlot<string>('target'))
      )
      .returning((eb) => launchColumns(eb, scheduleSlot<Date>('today')))
      .compile()
  const { rows } = await db.executeQuery(scheduleStatements.statement<LaunchRecord>('schedule', build, { ...launch, today: startOfTodayUtc() }))
  // The planet matched by this exact name is the target.
  return rows[0] && toLaunch({ ...rows[0], target: launch.target })
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
