// Password rotation against a PostgreSQL cluster set up like RDS, with the secret served by a
// fake Secrets Manager through the real SDK: the service re-reads the secret when the database
// rejects its password, once for any number of concurrent failures, backs off while the secret
// is stale, says why in /health, and recovers without a restart, also under load.
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { sql } from 'kysely'
import { pino } from 'pino'
import { buildApp } from '../app/app.js'
import { openDatabase, type DatabaseHandle } from '../app/database/database.js'
import { prepareDatabase } from '../app/prepare-database.js'
import { buildTestApp, createTestOperator, silentLog, testConfig } from './helpers.js'
import { startFakeSecretsManager } from './support/fake-secrets-manager.js'
import { requireNeeds } from './support/needs.js'
import { startPostgresCluster } from './support/postgres-cluster.js'

await requireNeeds(t, ['postgres-server'])

const secretsManager = await startFakeSecretsManager(t)
const cluster = await startPostgresCluster(t)
Object.assign(process.env, {
  AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.url,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'test-secret-access-key'
})

interface LogEntry {
  level: number
  msg: string
  [key: string]: unknown
}

/** The pool's log, kept for assertions (re-reads, swaps, retries). */
function captureLog() {
  const entries: LogEntry[] = []
  const log = pino({ level: 'debug' }, { write: (line: string) => void entries.push(JSON.parse(line) as LogEntry) })
  return { log, entries, count: (msg: string) => entries.filter((entry) => entry.msg === msg).length }
}

const REJECTED = 'database rejected the password; re-reading the secret'
const SWAPPED = 'database credentials changed; new connections use them'
const RETRIED = 'retrying a database connection with the re-read credentials'

/** A role, its database and its secret; the service opened on them with a captured log. */
async function openOnSecret(t: { teardown(fn: () => unknown): void }, name: string, env: Record<string, string> = {}) {
  await cluster.createDatabase(name, name, `${name}-password-1`)
  secretsManager.putSecret(`prod/${name}`, { username: name, password: `${name}-password-1` })
  const captured = captureLog()
  const database = await openDatabase(
    testConfig({
      DATABASE_SECRET_ID: `prod/${name}`,
      DATABASE_HOST: cluster.host,
      DATABASE_PORT: String(cluster.port),
      DATABASE_NAME: name,
      DATABASE_SSL_CA_FILE: cluster.ca.caFile,
      ...env
    }),
    captured.log
  )
  t.teardown(() => database.destroy())
  const reads = () => secretsManager.reads.filter((id) => id === `prod/${name}`).length
  return { database, ...captured, reads }
}

/** Rotation as the database sees it: new password, and every session has to log in again. */
async function rotatePassword(user: string, password: string): Promise<void> {
  await cluster.setPassword(user, password)
  await cluster.terminateSessions(user)
  // Let the pool see its idle connections die before the next checkout.
  await sleep(200)
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? 0
}

const selectOne = (database: DatabaseHandle) => sql<{ one: number }>`select 1 as one`.execute(database.db)

t.test('concurrent rejections cause one re-read and one pool swap, and each statement is retried once', async (t) => {
  const { database, reads, count } = await openOnSecret(t, 'rotate_once', { DATABASE_POOL_MAX: '20' })
  await Promise.all(Array.from({ length: 20 }, () => sql`select pg_sleep(0.05)`.execute(database.db)))
  const readsBefore = reads()

  secretsManager.putSecret('prod/rotate_once', { username: 'rotate_once', password: 'rotate_once-password-2' })
  await rotatePassword('rotate_once', 'rotate_once-password-2')
  const results = await Promise.allSettled(Array.from({ length: 20 }, () => selectOne(database)))

  t.same(results.map((result) => result.status), Array(20).fill('fulfilled'), 'every statement succeeded')
  t.equal(reads() - readsBefore, 1, 'the secret was read once')
  t.equal(count(REJECTED), 1, 'one rejection handled')
  t.equal(count(SWAPPED), 1, 'one pool swap')
  t.ok(count(RETRIED) >= 1 && count(RETRIED) <= 20, `retried connections: ${count(RETRIED)}`)
})

t.test('a stale secret: reads back off, /health logs why, and the service recovers when the secret changes', async (t) => {
  const { database, reads } = await openOnSecret(t, 'rotate_stale')
  // Migrated: buildTestApp adds an operator to act as.
  await prepareDatabase(database.db, silentLog)
  const { app, logs, operator } = await buildTestApp(t, { database })
  t.equal((await app.inject('/health')).statusCode, 200)

  await rotatePassword('rotate_stale', 'rotate_stale-password-2')
  const readsBefore = reads()
  const unhealthy = await app.inject('/health')
  t.equal(unhealthy.statusCode, 503)
  t.match(unhealthy.json(), { status: 'unavailable', db: 'unavailable' })
  t.notOk(unhealthy.json().reason, 'the public answer does not say why')
  const reason = new RegExp(
    `PostgreSQL at 127\\.0\\.0\\.1:${cluster.port}/rotate_stale rejects the credentials from secret "prod/rotate_stale" ` +
      '\\(password authentication failed for user "rotate_stale"\\); the secret still holds the same credentials'
  )
  t.ok(logs.lines.some((line) => line.reason !== undefined && reason.test(String(line.reason))), 'the logs do')
  const requests = await app.inject('/v1/planets')
  t.equal(requests.statusCode, 503, 'requests get 503, not 500')

  // Three seconds of health checks every 100 ms: backed-off re-reads, not one per request.
  const pollUntil = Date.now() + 3000
  while (Date.now() < pollUntil) {
    await app.inject('/health')
    await sleep(100)
  }
  const staleReads = reads() - readsBefore
  t.ok(staleReads >= 3 && staleReads <= 8, `secret re-read ${staleReads} times in ~4 s of rejections`)

  secretsManager.putSecret('prod/rotate_stale', { username: 'rotate_stale', password: 'rotate_stale-password-2' })
  const updatedAt = Date.now()
  let health = await app.inject('/health')
  while (health.statusCode !== 200 && Date.now() - updatedAt < 15_000) {
    await sleep(100)
    health = await app.inject('/health')
  }
  t.equal(health.statusCode, 200, `healthy again ${Date.now() - updatedAt} ms after the secret changed`)
  t.notOk(health.json().reason)

  // The change feed's LISTEN connection (outside the pool) was cut too, and logs in with the new password.
  const delivered = new Promise<{ type: string }>((resolve) => app.changeFeed.subscribe(resolve))
  const launch = { mission: 'After rotation', rocket: 'Explorer IS1', target: 'Kepler-442 b', launchDate: `${new Date().getUTCFullYear() + 1}-05-05` }
  t.equal((await app.inject({ method: 'POST', url: '/v1/launches', payload: launch, headers: operator.headers })).statusCode, 201)
  t.match(await Promise.race([delivered, sleep(15_000).then(() => ({ type: 'nothing within 15 s' }))]), { type: 'launch' }, 'the change feed listens again')
  // Logged once the reconnect's catch-up is done, which may be a moment after it delivered the event.
  const listeningAgain = () => logs.lines.some((line) => line.msg === 'the change feed is listening again')
  for (let waited = 0; !listeningAgain() && waited < 5000; waited += 50) await sleep(50)
  t.ok(listeningAgain())
})

t.test('the secret is also re-read on DATABASE_SECRET_REFRESH_SECONDS, before any rejection', async (t) => {
  const { database, count, entries } = await openOnSecret(t, 'rotate_refresh', { DATABASE_SECRET_REFRESH_SECONDS: '1' })
  await selectOne(database)
  secretsManager.putSecret('prod/rotate_refresh', { username: 'rotate_refresh', password: 'rotate_refresh-password-2' })
  await cluster.setPassword('rotate_refresh', 'rotate_refresh-password-2')
  const deadline = Date.now() + 5000
  while (count(SWAPPED) === 0 && Date.now() < deadline) await sleep(100)
  t.match(entries.find((entry) => entry.msg === SWAPPED), { cause: 'refresh', user: 'rotate_refresh' })

  await cluster.terminateSessions('rotate_refresh')
  await sleep(200)
  await selectOne(database)
  t.equal(count(REJECTED), 0, 'new connections used the refreshed password: no rejection')
})

t.test('under load: rotate the password, then the secret; every 201 is stored, few requests fail, no restart', async (t) => {
  const name = 'mission_control'
  const { database, entries, count, reads } = await openOnSecret(t, name)
  await prepareDatabase(database.db, silentLog)
  const operator = await createTestOperator(database.db)
  // Eight clients from one address writing as one operator: far past the per-minute limits.
  const app = await buildApp({
    config: testConfig({ RATE_LIMIT_IP_READS_PER_MINUTE: '0', RATE_LIMIT_IP_WRITES_PER_MINUTE: '0', RATE_LIMIT_OPERATOR_WRITES_PER_MINUTE: '0' }),
    database
  })
  t.teardown(() => app.close())
  const base = await app.listen({ host: '127.0.0.1', port: 0 })

  interface Outcome {
    started: number
    ended: number
    status: number // 0: no HTTP answer
    flightNumber?: number
  }
  const outcomes: Outcome[] = []
  const startedAt = Date.now()
  const loadMs = 8000
  let sequence = 0
  const worker = async () => {
    while (Date.now() - startedAt < loadMs) {
      const n = sequence++
      const started = Date.now()
      const outcome: Outcome = { started, ended: 0, status: 0 }
      try {
        const response =
          n % 3 === 0
            ? await fetch(`${base}/v1/launches`, {
                method: 'POST',
                headers: { ...operator.headers, 'content-type': 'application/json' },
                body: JSON.stringify({ mission: `Rotation ${n}`, rocket: 'Explorer IS1', target: 'Kepler-442 b', launchDate: '2030-01-01' })
              })
            : await fetch(`${base}${n % 3 === 1 ? '/v1/planets' : '/v1/launches?limit=10'}`)
        outcome.status = response.status
        const body = (await response.json()) as { flightNumber?: number }
        if (response.status === 201) outcome.flightNumber = body.flightNumber
      } catch {
        outcome.status = 0
      }
      outcome.ended = Date.now()
      outcomes.push(outcome)
    }
  }
  const load = Promise.all(Array.from({ length: 8 }, worker))

  await sleep(2000)
  const readsBefore = reads()
  await cluster.setPassword(name, `${name}-password-2`)
  const rotatedAt = Date.now()
  await cluster.terminateSessions(name)
  // In AWS the rotation function changes the password (setSecret), then moves AWSCURRENT (finishSecret).
  await sleep(800)
  secretsManager.putSecret(`prod/${name}`, { username: name, password: `${name}-password-2` })
  const secretChangedAt = Date.now()
  await load

  const ok = (outcome: Outcome) => outcome.status >= 200 && outcome.status < 300
  const failed = outcomes.filter((outcome) => !ok(outcome))
  const created = outcomes.filter((outcome) => outcome.status === 201)
  const afterRotation = outcomes.filter((outcome) => outcome.started >= rotatedAt)
  // Recovered: the pool runs on the new credentials and no request fails any more.
  const swappedAt = entries.find((entry) => entry.msg === SWAPPED)?.time as number
  const recoveredAt = Math.max(swappedAt, ...failed.map((outcome) => outcome.ended))
  const figures = {
    requests: outcomes.length,
    answered2xx: outcomes.length - failed.length,
    created201: created.length,
    failed: failed.length,
    failedStatuses: [...new Set(failed.map((outcome) => outcome.status))],
    retriedConnections: count(RETRIED),
    secretReads: reads() - readsBefore,
    passwordToSecretMs: secretChangedAt - rotatedAt,
    rotationToRecoveryMs: recoveredAt - rotatedAt,
    secretToRecoveryMs: recoveredAt - secretChangedAt,
    medianBeforeRotationMs: median(outcomes.filter((outcome) => outcome.ended < rotatedAt).map((outcome) => outcome.ended - outcome.started)),
    slowestRequestAfterRotationMs: Math.max(...afterRotation.map((outcome) => outcome.ended - outcome.started))
  }
  t.comment(`rotation under load: ${JSON.stringify(figures)}`)

  const { rows } = await cluster.admin('select flight_number from launches', [], name)
  const stored = new Set(rows.map((row) => row.flight_number as number))
  t.same(created.filter((outcome) => !stored.has(outcome.flightNumber as number)), [], 'every 201 is in the database')
  t.ok(created.length >= 5, `${created.length} launches created`)
  // How many fail depends on how fast 8 workers get their 503s in the 0.8 s between the new
  // password and the new secret (machine speed); that they fail only then does not.
  t.ok(
    failed.every((outcome) => outcome.ended >= rotatedAt && outcome.started <= swappedAt),
    `requests fail only between the rotation and the pool's swap to the new credentials (${failed.length} failed)`
  )
  t.ok(failed.every((outcome) => outcome.status === 503), 'failures are 503s')
  t.equal(count(REJECTED), 1, 'one rejection handled')
  t.ok(count(RETRIED) >= 1, 'rejected connects were retried')
  t.ok(outcomes.filter((outcome) => outcome.started > secretChangedAt + 1000).every(ok), 'recovered: every request after the secret change succeeds')
  t.equal((await fetch(`${base}/health`)).status, 200, 'healthy without a restart')
  t.notOk(JSON.stringify(entries).includes(`${name}-password`), 'no password in the logs')
})
