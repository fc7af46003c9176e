import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import type { DatabaseHandle } from '../app/database/database.js'
import { retryDelayMs } from '../app/spacex/spacex-sync-plugin.js'
import { syncSpacexLaunches } from '../app/spacex/spacex-sync.js'
import { buildTestApp, openTestDatabase } from './helpers.js'
import { startFakeSpacex, type FakeSpacex } from './support/fake-spacex.js'

function syncingApp(t: Parameters<typeof buildTestApp>[0], fake: FakeSpacex, options: { timeoutMs?: number; database?: DatabaseHandle } = {}) {
  const env = { SPACEX_SYNC_ON_START: 'true', SPACEX_API_URL: fake.url, SPACEX_TIMEOUT_MS: String(options.timeoutMs ?? 5000) }
  return buildTestApp(t, { env, ...(options.database ? { database: options.database } : {}) })
}

async function storedSpacexCount(database: DatabaseHandle): Promise<number> {
  const rows = await database.db.selectFrom('launches').select('flight_number').where('source', '=', 'spacex').execute()
  return rows.length
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return true
    await sleep(50)
  }
  return false
}

t.test('an app that is only injected into never starts the sync', async (t) => {
  const fake = await startFakeSpacex(t)
  const { app } = await syncingApp(t, fake)
  t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200)
  await sleep(300)
  t.equal(fake.requests.length, 0)
})

t.test('on listen the sync runs in the background: /health answers while SpaceX is still responding', async (t) => {
  const fake = await startFakeSpacex(t)
  const release = fake.hold()
  const { app, database } = await syncingApp(t, fake)
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  await fake.waitForRequests(1)

  const health = await fetch(`${address}/health`)
  t.equal(health.status, 200)
  t.equal(((await health.json()) as { status: string }).status, 'ok')
  t.equal(await storedSpacexCount(database), 0, 'nothing stored while SpaceX holds its answer')

  release()
  t.ok(await eventually(async () => (await storedSpacexCount(database)) === 8), 'the launches appear')
})

t.test('a failed start sync is retried with backoff until it succeeds', async (t) => {
  const fake = await startFakeSpacex(t)
  fake.failures.push({ status: 503 })
  const { app, database } = await syncingApp(t, fake)
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.ok(await eventually(async () => (await storedSpacexCount(database)) === 8), 'the launches appear')
  t.equal(fake.requests.length, 2, 'one failed request, one retry')
})

t.test('no start sync when SpaceX launches are already stored', async (t) => {
  const { database } = await openTestDatabase(t)
  const fake = await startFakeSpacex(t)
  await syncSpacexLaunches(database.db, { apiUrl: fake.url, timeoutMs: 5000 })
  const { app } = await syncingApp(t, fake, { database })
  await app.listen({ port: 0, host: '127.0.0.1' })
  await sleep(500)
  t.equal(fake.requests.length, 1, 'only the sync made above')
})

t.test('closing the app aborts a sync waiting on SpaceX at once', async (t) => {
  const fake = await startFakeSpacex(t)
  fake.failures.push('hang')
  const { app } = await syncingApp(t, fake, { timeoutMs: 60_000 })
  await app.listen({ port: 0, host: '127.0.0.1' })
  await fake.waitForRequests(1)
  const started = Date.now()
  await app.close()
  t.ok(Date.now() - started < 2000, `closed in ${Date.now() - started} ms`)
  t.equal(fake.requests.length, 1)
})

t.test('closing the app cancels a pending retry', async (t) => {
  const fake = await startFakeSpacex(t)
  fake.failures.push({ status: 503 })
  const { app } = await syncingApp(t, fake)
  await app.listen({ port: 0, host: '127.0.0.1' })
  await fake.waitForRequests(1)
  await sleep(100)
  await app.close()
  // The first retry would come within a second.
  await sleep(1500)
  t.equal(fake.requests.length, 1)
})

t.test('retry delays grow exponentially up to a cap, with jitter in the upper half', async (t) => {
  t.equal(retryDelayMs(1, () => 0), 500)
  t.equal(retryDelayMs(1, () => 1), 1000)
  t.equal(retryDelayMs(3, () => 0.5), 3000)
  t.equal(retryDelayMs(30, () => 1), 300_000)
  t.equal(retryDelayMs(30, () => 0), 150_000)
})
