import type { ColumnType, Generated, Insertable, Selectable } from 'kysely'

/** The database as Kysely sees it; written once, used by every query. */
export interface Database {
  planets: PlanetsTable
  launches: LaunchesTable
  operators: OperatorsTable
  operator_sessions: OperatorSessionsTable
  api_tokens: ApiTokensTable
  operator_invites: OperatorInvitesTable
  sign_in_failures: SignInFailuresTable
  audit_events: AuditEventsTable
  change_events: ChangeEventsTable
  idempotency_keys: IdempotencyKeysTable
}

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>

export interface PlanetsTable {
  id: ColumnType<number, never, never>
  kepler_name: string
  koi_name: string | null
  kepid: number | null
  radius_earth: number
  insolation_earth: number
  orbital_period_days: number | null
  equilibrium_temp_k: number | null
  star_temp_k: number | null
  star_radius_solar: number | null
  source: string
  imported_at: Timestamp
}

export type LaunchStatus = 'upcoming' | 'success' | 'failure' | 'aborted' | 'unknown'
export type LaunchSource = 'mission_control' | 'spacex'

export interface LaunchesTable {
  flight_number: Generated<number>
  mission: string
  rocket: string
  launch_date: ColumnType<Date, Date | string, Date | string>
  target_planet_id: number | null
  customers: ColumnType<string[], string[] | undefined, string[]>
  status: LaunchStatus
  aborted_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  source: LaunchSource
  spacex_id: string | null
  created_at: Timestamp
  updated_at: Timestamp
  scheduled_by: number | null
  aborted_by: number | null
}

export type OperatorRole = 'operator' | 'admin'
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>

export interface OperatorsTable {
  id: ColumnType<number, never, never>
  email: string
  display_name: string
  role: OperatorRole
  password_hash: string | null
  created_at: Timestamp
  password_changed_at: NullableTimestamp
  disabled_at: NullableTimestamp
}

export interface OperatorSessionsTable {
  id_hash: string
  operator_id: number
  csrf_token: string
  created_at: Timestamp
  last_seen_at: Timestamp
  expires_at: ColumnType<Date, Date | string, Date | string>
  ip: string | null
  user_agent: string | null
}

export interface ApiTokensTable {
  id: ColumnType<number, never, never>
  operator_id: number
  name: string
  token_hash: string
  created_at: Timestamp
  last_used_at: NullableTimestamp
  expires_at: ColumnType<Date, Date | string, Date | string>
  revoked_at: NullableTimestamp
}

export interface OperatorInvitesTable {
  token_hash: string
  purpose: 'setup' | 'invite'
  operator_id: number | null
  created_by: number | null
  created_at: Timestamp
  expires_at: ColumnType<Date, Date | string, Date | string>
  used_at: NullableTimestamp
}

export interface SignInFailuresTable {
  id: ColumnType<string, never, never>
  email: string
  ip: string
  occurred_at: Timestamp
}

/** int8 columns: `pg` returns them as strings, PGlite as numbers; read them as `id::text`. */
type BigintId = ColumnType<string, never, never>

export type ActorType = 'operator' | 'system' | 'anonymous'

export interface AuditEventsTable {
  id: BigintId
  occurred_at: Timestamp
  action: string
  actor_type: ActorType
  operator_id: number | null
  token_id: number | null
  system_name: string | null
  subject_type: string | null
  subject_id: string | null
  ip: string | null
  request_id: string | null
  details: ColumnType<Record<string, unknown>, string | undefined, string>
}

export type ChangeEventType = 'launch' | 'sync' | 'planets'

export interface ChangeEventsTable {
  id: BigintId
  type: ChangeEventType
  payload: ColumnType<unknown, string, never>
  created_at: Timestamp
}

export interface IdempotencyKeysTable {
  scope: string
  key: string
  request_hash: string
  response: ColumnType<unknown, string | null | undefined, string | null>
  created_at: Timestamp
}

export type PlanetRow = Selectable<PlanetsTable>
export type NewPlanet = Insertable<PlanetsTable>
export type LaunchRow = Selectable<LaunchesTable>
export type NewLaunch = Insertable<LaunchesTable>
