// The text search of GET /v1/launches?q=… (ILIKE '%text%' over mission, rocket and customers) by
// trigram index instead of reading every launch. pg_trgm is a trusted extension: on RDS the
// migration role may create it with CREATE on the database; PGlite loads it as a contrib module.
// Frozen: never edit an applied migration, never import application code; add a new file instead.
import { sql, type Kysely } from 'kysely'

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create extension if not exists pg_trgm`.execute(db)
  // array_to_string is only STABLE (element output may depend on settings, never for text), and an
  // index expression must be IMMUTABLE: this wrapper says so for text[]. Queries call it by name.
  await sql`
    create function launch_customers_text(customers text[]) returns text
    language sql immutable parallel safe
    as $$ select array_to_string(customers, ' ') $$`.execute(db)
  // One GIN index per column: an OR of ILIKEs becomes a BitmapOr of three small scans. (A single
  // three-column GIN index works too, but the planner prices each scan at the whole index's size
  // and prefers reading the table.)
  for (const [name, expression] of [
    ['launches_mission_trgm_idx', sql`mission`],
    ['launches_rocket_trgm_idx', sql`rocket`],
    ['launches_customers_trgm_idx', sql`(launch_customers_text(customers))`]
  ] as const) {
    await sql`create index ${sql.id(name)} on launches using gin (${expression} gin_trgm_ops)`.execute(db)
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index launches_mission_trgm_idx, launches_rocket_trgm_idx, launches_customers_trgm_idx`.execute(db)
  await sql`drop function launch_customers_text(text[])`.execute(db)
}
