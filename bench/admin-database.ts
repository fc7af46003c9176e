// The PostgreSQL server the benchmarks run on (BENCH_DATABASE_URL; each creates a scratch database
// there and drops it at the end), and one statement on it, each on a connection of its own.
import pg from 'pg'

export const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/** The URL of another database on the same server. */
export function databaseUrlFor(name: string): string {
  return Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString()
}

export async function admin<Row extends pg.QueryResultRow = pg.QueryResultRow>(sqlText: string, url = adminUrl): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query<Row>(sqlText)).rows
  } finally {
    await client.end()
  }
}
