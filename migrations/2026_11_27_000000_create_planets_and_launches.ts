// Creates the catalogue of habitable planets and the launches scheduled to them or synced from SpaceX.
// Frozen: never edit an applied migration, never import application code; add a new file instead.
import { sql, type Kysely } from 'kysely'

export async function up(db: Kysely<any>): Promise<void> {
  // 1. Planets: one row per Kepler name, so re-imports upsert instead of duplicating.
  await db.schema
    .createTable('planets')
    .addColumn('id', 'integer', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('kepler_name', 'text', (col) => col.notNull().unique().check(sql`char_length(kepler_name) between 1 and 100`))
    .addColumn('koi_name', 'text')
    .addColumn('kepid', 'integer')
    .addColumn('radius_earth', 'double precision', (col) => col.notNull().check(sql`radius_earth > 0`))
    .addColumn('insolation_earth', 'double precision', (col) => col.notNull().check(sql`insolation_earth > 0`))
    .addColumn('orbital_period_days', 'double precision', (col) => col.check(sql`orbital_period_days > 0`))
    .addColumn('equilibrium_temp_k', 'double precision')
    .addColumn('star_temp_k', 'double precision')
    .addColumn('star_radius_solar', 'double precision')
    .addColumn('source', 'text', (col) => col.notNull())
    .addColumn('imported_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute()

  // 2. Launches. Flight numbers come from the database: SpaceX keeps its own numbers (below 1000),
  //    launches scheduled here draw from an identity starting at 1000, so concurrent schedules
  //    never collide with each other or with SpaceX.
  await db.schema
    .createTable('launches')
    .addColumn('flight_number', 'integer', (col) => col.primaryKey().generatedByDefaultAsIdentity())
    .addColumn('mission', 'text', (col) => col.notNull().check(sql`char_length(mission) between 1 and 100`))
    .addColumn('rocket', 'text', (col) => col.notNull().check(sql`char_length(rocket) between 1 and 100`))
    .addColumn('launch_date', 'timestamptz', (col) => col.notNull())
    .addColumn('target_planet_id', 'integer', (col) => col.references('planets.id').onDelete('restrict'))
    .addColumn('customers', sql`text[]`, (col) => col.notNull().defaultTo(sql`'{}'::text[]`))
    // 'unknown': SpaceX never reported an outcome (or stopped updating the launch).
    .addColumn('status', 'text', (col) =>
      col.notNull().check(sql`status in ('upcoming', 'success', 'failure', 'aborted', 'unknown')`)
    )
    .addColumn('aborted_at', 'timestamptz')
    .addColumn('source', 'text', (col) => col.notNull().check(sql`source in ('mission_control', 'spacex')`))
    .addColumn('spacex_id', 'text', (col) => col.unique())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('launches_aborted_at_iff_aborted', sql`(status = 'aborted') = (aborted_at is not null)`)
    .addCheckConstraint('launches_spacex_id_iff_spacex', sql`(source = 'spacex') = (spacex_id is not null)`)
    .addCheckConstraint(
      'launches_flight_number_range',
      sql`(source = 'spacex' and flight_number between 1 and 999) or (source = 'mission_control' and flight_number >= 1000)`
    )
    // Only missions planned here have a destination; SpaceX launches stay in Earth's neighbourhood.
    .addCheckConstraint('launches_target_for_mission_control', sql`source = 'spacex' or target_planet_id is not null`)
    .execute()
  await sql`alter table launches alter column flight_number set start with 1000 restart`.execute(db)

  // 3. Indexes for the list queries (sorted by flight number, filtered by source or upcoming state)
  //    and for the per-planet launch counts.
  await db.schema.createIndex('launches_source_flight_number_idx').on('launches').columns(['source', 'flight_number']).execute()
  await db.schema
    .createIndex('launches_upcoming_flight_number_idx')
    .on('launches')
    .column('flight_number')
    .where(sql.ref('status'), '=', 'upcoming')
    .execute()
  await db.schema.createIndex('launches_target_planet_id_idx').on('launches').column('target_planet_id').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('launches').execute()
  await db.schema.dropTable('planets').execute()
}
