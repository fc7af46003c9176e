// An empty PostgreSQL database for tests that run the service as production does (which refuses
// the embedded one): on TEST_DATABASE_URL's server when set, else on a cluster of the test's own;
// always on its own cluster when the test stops or freezes the server. Dropped at the end.
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import pg from 'pg'
import { databaseUrl, withAdminClient } from '../helpers.js'
import { startPostgresCluster, type PostgresCluster } from './postgres-cluster.js'

interface Teardown {
  teardown(fn: () => unknown): void
}

export interface ScratchDatabase {
  /** What the service needs to reach it: DATABASE_URL, plus TLS settings on a cluster of our own. */
  environment: Record<string, string>
  /** A client as the service's user, for audits; the caller ends it. */
  connect(): Promise<pg.Client>
  /** Set when the database lives on a cluster of the test's own (which it may stop or freeze). */
  cluster?: PostgresCluster
}

export async function scratchDatabase(t: Teardown, prefix: string, options: { ownCluster?: boolean } = {}): Promise<ScratchDatabase> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`
  if (process.env.TEST_DATABASE_URL && !options.ownCluster) {
    await withAdminClient((client) => client.query(`create database ${name}`))
    t.teardown(() => withAdminClient((client) => client.query(`drop database if exists ${name} with (force)`)))
    const url = databaseUrl(name)
    return {
      environment: { DATABASE_URL: url },
      connect: async () => {
        const client = new pg.Client({ connectionString: url })
        await client.connect()
        return client
      }
    }
  }
  const cluster = await startPostgresCluster(t)
  const password = randomBytes(12).toString('hex')
  await cluster.createDatabase(name, name, password)
  const ca = await readFile(cluster.ca.caFile, 'utf8')
  return {
    environment: {
      DATABASE_URL: `postgres://${name}:${password}@localhost:${cluster.port}/${name}`,
      DATABASE_SSL: 'verify-full',
      DATABASE_SSL_CA_FILE: cluster.ca.caFile
    },
    connect: async () => {
      const client = new pg.Client({ host: 'localhost', port: cluster.port, user: name, password, database: name, ssl: { ca } })
      await client.connect()
      return client
    },
    cluster
  }
}
