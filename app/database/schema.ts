import type { ColumnType, Generated, Insertable, Selectable } from 'kysely'

/** The database as Kysely sees it; written once, used by every query. */
export interface Database {
  planets: PlanetsTable
  launches: LaunchesTable
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
}

export type PlanetRow = Selectable<PlanetsTable>
export type NewPlanet = Insertable<PlanetsTable>
export type LaunchRow = Selectable<LaunchesTable>
export type NewLaunch = Insertable<LaunchesTable>
