// `npm run build && npm run bench:auth`: what operators cost, on the compiled service (dist/) and
// PostgreSQL (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres; a scratch
// database is created and dropped). Loopback only. Reports:
//   1. one argon2id password hash (the parameters of app/operators/passwords.ts), median of 20;
//   2. POST /v1/session latency, p50 and p99, in rounds of 20 concurrent sign-ins;
//   3. POST /v1/launches with a bearer token vs AUTH_REQUIRED=false (the anchor: the same write
//      without authentication), side by side, alternating A B A B, median and p99.
import autocannon from 'autocannon'
import { pino } from 'pino'
import { createApiToken } from '../app/auth/credentials.js'
import { loadConfig } from '../app/config/config.js'
import { withDatabase } from '../app/database/database.js'
import { insertOperator } from '../app/operators/operators-queries.js'
import { CURRENT_HASH_PARAMETERS, hashPassword } from '../app/operators/passwords.js'
import { prepareDatabase } from '../app/prepare-database.js'
import { admin, databaseUrlFor } from './admin-database.js'
import { startServer, type Server } from './server-process.js'

const SCRATCH = 'mission_control_bench_auth'
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10)
const CONNECTIONS = 10
const SIGN_IN_ROUNDS = 10
const SIGN_IN_CONCURRENCY = 20
const PASSWORD = 'bench operator passphrase'

const scratchUrl = databaseUrlFor(SCRATCH)
const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}
const round = (ms: number) => Math.round(ms * 10) / 10

/**
 * The compiled service on the scratch database, at the warn level. Not NODE_ENV=production: the
 * anchor run needs AUTH_REQUIRED=false, which production refuses.
 */
function startAuthService(env: Record<string, string>): Promise<Server> {
  return startServer(
    'dist/app/server.js',
    {
      LOG_LEVEL: 'warn',
      SPACEX_SYNC_ON_START: 'false',
      DATABASE_URL: scratchUrl,
      // One loopback client writing as one operator: the limits would measure themselves.
      RATE_LIMIT_IP_READS_PER_MINUTE: '0',
      RATE_LIMIT_IP_WRITES_PER_MINUTE: '0',
      RATE_LIMIT_OPERATOR_WRITES_PER_MINUTE: '0',
      SIGN_IN_MAX_FAILURES: '1000',
      ...env
    },
    '/health'
  )
}

async function writeLatency(baseUrl: string, headers: Record<string, string>) {
  const launchDate = `${new Date().getUTCFullYear() + 1}-01-01`
  const result = await autocannon({
    url: `${baseUrl}/v1/launches`,
    method: 'POST',
    connections: CONNECTIONS,
    duration: DURATION_S,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ mission: 'Bench', rocket: 'Explorer IS1', target: 'Kepler-442 b', launchDate })
  })
  return { p50: result.latency.p50, p99: result.latency.p99, rps: Math.round(result.requests.average), errors: result.errors + result.non2xx }
}

await admin(`drop database if exists ${SCRATCH} with (force)`)
await admin(`create database ${SCRATCH}`)
try {
  // 1. Hash time.
  const hashTimes: number[] = []
  for (let i = 0; i < 20; i++) {
    const started = performance.now()
    await hashPassword(`${PASSWORD} ${i}`)
    hashTimes.push(performance.now() - started)
  }

  // An operator with a password and a token, in the scratch database.
  const { email, token } = await withDatabase(loadConfig({ DATABASE_URL: scratchUrl }), pino({ level: 'silent' }), async (database) => {
    await prepareDatabase(database.db, pino({ level: 'silent' }))
    const operator = await insertOperator(database.db, { email: 'bench@example.com', name: 'Bench', role: 'operator', passwordHash: await hashPassword(PASSWORD) })
    const { token } = await createApiToken(database.db, operator.id, { name: 'bench', expiresInDays: 1 })
    return { email: operator.email, token }
  })

  const withAuth = await startAuthService({})
  const withoutAuth = await startAuthService({ AUTH_REQUIRED: 'false' })
  try {
    // 2. Sign-in latency under 20 concurrent attempts.
    const signInTimes: number[] = []
    for (let r = 0; r < SIGN_IN_ROUNDS; r++) {
      await Promise.all(
        Array.from({ length: SIGN_IN_CONCURRENCY }, async () => {
          const started = performance.now()
          const response = await fetch(`${withAuth.baseUrl}/v1/session`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ email, password: PASSWORD })
          })
          await response.arrayBuffer()
          if (response.status !== 200) throw new Error(`sign-in answered ${response.status}`)
          signInTimes.push(performance.now() - started)
        })
      )
    }

    // 3. Writes with a bearer token vs without authentication, alternating.
    const bearer: Awaited<ReturnType<typeof writeLatency>>[] = []
    const anchor: Awaited<ReturnType<typeof writeLatency>>[] = []
    for (let pass = 0; pass < 2; pass++) {
      anchor.push(await writeLatency(withoutAuth.baseUrl, {}))
      bearer.push(await writeLatency(withAuth.baseUrl, { authorization: `Bearer ${token}` }))
    }

    console.log(`\nargon2id hash (${CURRENT_HASH_PARAMETERS}): median ${round(quantile(hashTimes, 0.5))} ms, max ${round(Math.max(...hashTimes))} ms (20 hashes)`)
    console.log(
      `POST /v1/session, ${SIGN_IN_ROUNDS} rounds of ${SIGN_IN_CONCURRENCY} concurrent: p50 ${round(quantile(signInTimes, 0.5))} ms, p99 ${round(quantile(signInTimes, 0.99))} ms`
    )
    console.log(`\nPOST /v1/launches — autocannon, ${CONNECTIONS} connections, ${DURATION_S} s per pass, passes alternate\n`)
    console.log('| pass | AUTH_REQUIRED=false p50 / p99 (ms) | bearer token p50 / p99 (ms) | requests/s (anchor / bearer) | errors |')
    console.log('| --- | ---: | ---: | ---: | ---: |')
    for (let pass = 0; pass < anchor.length; pass++) {
      const a = anchor[pass]!
      const b = bearer[pass]!
      console.log(`| ${pass + 1} | ${a.p50} / ${a.p99} | ${b.p50} / ${b.p99} | ${a.rps} / ${b.rps} | ${a.errors + b.errors} |`)
    }
    const mean = (runs: typeof anchor, key: 'p50' | 'p99') => runs.reduce((sum, run) => sum + run[key], 0) / runs.length
    console.log(
      `\nauthentication adds ${round(mean(bearer, 'p50') - mean(anchor, 'p50'))} ms at the median and ${round(mean(bearer, 'p99') - mean(anchor, 'p99'))} ms at p99 ` +
        `(means of the passes; bearer / anchor p50 ratio ${(mean(bearer, 'p50') / mean(anchor, 'p50')).toFixed(2)})`
    )
  } finally {
    await Promise.all([withAuth.stop(), withoutAuth.stop()])
  }
} finally {
  await admin(`drop database if exists ${SCRATCH} with (force)`)
}
