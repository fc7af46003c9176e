// Verified TLS to a PostgreSQL cluster set up like RDS (hostssl + scram-sha-256 only, server
// certificate from a CA the test creates): the right CA and name connect, anything else fails
// with a line that says what to check.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { sql } from 'kysely'
import { openDatabase, type DatabaseHandle } from '../app/database/database.js'
import { silentLog, testConfig } from './helpers.js'
import { startFakeSecretsManager } from './support/fake-secrets-manager.js'
import { requireNeeds } from './support/needs.js'
import { createCertificateAuthority, startPostgresCluster } from './support/postgres-cluster.js'

await requireNeeds(t, ['postgres-server'])

const secretsManager = await startFakeSecretsManager(t)
const cluster = await startPostgresCluster(t)
await cluster.createDatabase('mission_control', 'mission_control', 'tls-test-password')
secretsManager.putSecret('prod/db', { username: 'mission_control', password: 'tls-test-password' })
Object.assign(process.env, {
  AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.url,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'test-secret-access-key'
})

const otherCaDir = await mkdtemp(path.join(tmpdir(), 'mission-control-other-ca-'))
t.teardown(() => rm(otherCaDir, { recursive: true, force: true }))
const otherCa = await createCertificateAuthority(otherCaDir, 'other-ca')

async function open(t: { teardown(fn: () => unknown): void }, env: Record<string, string>): Promise<DatabaseHandle> {
  const database = await openDatabase(
    testConfig({
      DATABASE_SECRET_ID: 'prod/db',
      DATABASE_HOST: cluster.host,
      DATABASE_PORT: String(cluster.port),
      DATABASE_NAME: 'mission_control',
      DATABASE_SSL_CA_FILE: cluster.ca.caFile,
      ...env
    }),
    silentLog
  )
  t.teardown(() => database.destroy())
  return database
}

async function sessionTls(database: DatabaseHandle) {
  const { rows } = await sql<{ ssl: boolean; version: string }>`
    select ssl, version from pg_stat_ssl where pid = pg_backend_pid()`.execute(database.db)
  return rows[0]
}

t.test('verify-full with the CA bundle connects by IP and by name on the certificate', async (t) => {
  for (const host of ['127.0.0.1', 'localhost']) {
    const database = await open(t, { DATABASE_HOST: host })
    const session = await sessionTls(database)
    t.equal(session?.ssl, true, `${host}: encrypted`)
    t.match(session?.version, /^TLSv1\.[23]$/, `${host}: TLS 1.2 or 1.3`)
  }
})

t.test('verify-full is the default with a secret', async (t) => {
  const database = await open(t, {})
  t.match(database.description, /TLS verify-full\)$/)
})

t.test('a CA bundle that did not sign the server certificate fails with a clear error', async (t) => {
  const database = await open(t, { DATABASE_SSL_CA_FILE: otherCa.caFile })
  await t.rejects(database.ping(5000), {
    message: new RegExp(
      `^TLS verification of PostgreSQL at 127\\.0\\.0\\.1:${cluster.port}/mission_control failed: .*\\(UNABLE_TO_VERIFY_LEAF_SIGNATURE\\); ` +
        `is DATABASE_SSL_CA_FILE "${otherCa.caFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}" the CA bundle that signed the server certificate\\?$`
    )
  })
})

t.test('a host name that is not on the certificate fails hostname verification', async (t) => {
  const database = await open(t, { DATABASE_HOST: cluster.unlistedAddress })
  await t.rejects(database.ping(5000), {
    message: /^TLS verification of PostgreSQL at 127\.0\.0\.2:\d+\/mission_control failed: .*IP: 127\.0\.0\.2 is not in the cert's list.*\(ERR_TLS_CERT_ALTNAME_INVALID\); connect with the host name on the certificate/
  })
})

t.test('TLS without verification only by explicit opt-in: no-verify accepts an unknown CA', async (t) => {
  const database = await open(t, { DATABASE_SSL: 'no-verify', DATABASE_SSL_CA_FILE: otherCa.caFile })
  t.equal((await sessionTls(database))?.ssl, true)
  t.match(database.description, /TLS no-verify\)$/)
})

t.test('like RDS with rds.force_ssl, the cluster refuses unencrypted connections', async (t) => {
  const database = await open(t, { DATABASE_SSL: 'disable' })
  await t.rejects(database.ping(5000), { message: /no pg_hba\.conf entry for host "127\.0\.0\.1", user "mission_control", database "mission_control", no encryption/ })
})

t.test('DATABASE_URL with DATABASE_SSL gets the ssl object; sslmode in the same URL is refused', async (t) => {
  const url = `postgres://mission_control:tls-test-password@localhost:${cluster.port}/mission_control`
  const database = await openDatabase(
    testConfig({ DATABASE_URL: url, DATABASE_SSL: 'verify-full', DATABASE_SSL_CA_FILE: cluster.ca.caFile }),
    silentLog
  )
  t.teardown(() => database.destroy())
  t.equal((await sessionTls(database))?.ssl, true)

  await t.rejects(
    openDatabase(testConfig({ DATABASE_URL: `${url}?sslmode=require`, DATABASE_SSL: 'verify-full' }), silentLog),
    { message: "DATABASE_URL sets sslmode and DATABASE_SSL is set too: the URL would replace DATABASE_SSL's settings; use one of them" }
  )
})

t.test('an unreadable CA file stops the start with its name', async (t) => {
  await t.rejects(open(t, { DATABASE_SSL_CA_FILE: '/nonexistent/rds-global-bundle.pem' }), {
    message: /^cannot read DATABASE_SSL_CA_FILE "\/nonexistent\/rds-global-bundle\.pem": ENOENT/
  })
})
