// Database credentials from Secrets Manager, read through the real SDK client from a fake
// endpoint on 127.0.0.1, against a PostgreSQL cluster configured like RDS (TLS, scram only).
import { spawn } from 'node:child_process'
import path from 'node:path'
import t from 'tap'
import { sql } from 'kysely'
import { openDatabase } from '../app/database/database.js'
import { silentLog, testConfig } from './helpers.js'
import { startFakeSecretsManager } from './support/fake-secrets-manager.js'
import { freePort } from './support/free-port.js'
import { requireNeeds } from './support/needs.js'
import { startPostgresCluster } from './support/postgres-cluster.js'

await requireNeeds(t, ['postgres-server'])

const secretsManager = await startFakeSecretsManager(t)
const cluster = await startPostgresCluster(t)
await cluster.createDatabase('mission_control', 'mission_control', 'first-password-b0d3')

// What the instance has in AWS, pointed at the fakes: the SDK finds the endpoint override itself.
const awsEnv = {
  AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.url,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'test-secret-access-key',
  AWS_CONFIG_FILE: '/nonexistent/aws-config',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials'
}
Object.assign(process.env, awsEnv)
const endpointEnv = {
  DATABASE_HOST: cluster.host,
  DATABASE_PORT: String(cluster.port),
  DATABASE_NAME: 'mission_control',
  DATABASE_SSL_CA_FILE: cluster.ca.caFile
}

const serverEntry = path.resolve(import.meta.dirname, '../app/server.ts')
const migrateEntry = path.resolve(import.meta.dirname, '../app/database/migrate-cli.ts')

/** Runs the real server process (`npm start`) until it exits or `until` matches its output. */
async function runServer(env: Record<string, string>, until?: RegExp) {
  const port = String(await freePort())
  const child = spawn(process.execPath, ['--import=tsx', serverEntry], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...awsEnv, SPACEX_SYNC_ON_START: 'false', PORT: port, HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  let signalled = false
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
    // Once: a second SIGTERM means "exit now" (server.ts), which is not the clean shutdown tested.
    if (!signalled && until?.test(stdout)) {
      signalled = true
      child.kill('SIGTERM')
    }
  })
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const killer = setTimeout(() => child.kill('SIGKILL'), 90_000)
  return new Promise<{ code: number | null; lines: Array<Record<string, unknown>>; stdout: string; stderr: string }>(
    (resolve) =>
      child.on('exit', (code) => {
        clearTimeout(killer)
        const lines = stdout
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as Record<string, unknown>)
        resolve({ code, lines, stdout, stderr })
      })
  )
}

t.test('misconfiguration is refused at open with one line naming the secret and the problem', async (t) => {
  secretsManager.putSecret('prod/denied', { username: 'u', password: 'p' })
  secretsManager.denyAccess('prod/denied')
  secretsManager.putSecret('prod/not-json', 'username=mission_control password=hunter2-not-json')
  secretsManager.putSecret('prod/no-password', { username: 'mission_control' })
  secretsManager.putSecret('prod/no-host', { username: 'mission_control', password: 'pw-no-host' })
  secretsManager.putSecret('prod/bad-port', { username: 'u', password: 'p', port: 'five' })
  const cases: Array<[string, Record<string, string>, string]> = [
    ['prod/missing', endpointEnv, `cannot read database secret "prod/missing": ResourceNotFoundException: Secrets Manager can't find the specified secret.`],
    ['prod/denied', endpointEnv, 'cannot read database secret "prod/denied": AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/mission-control/i-0 is not authorized to perform: secretsmanager:GetSecretValue on resource: prod/denied because no identity-based policy allows the secretsmanager:GetSecretValue action'],
    ['prod/not-json', endpointEnv, 'database secret "prod/not-json" is not valid JSON'],
    ['prod/no-password', endpointEnv, 'database secret "prod/no-password" has no "password"'],
    ['prod/no-host', { DATABASE_PORT: '5432' }, 'database secret "prod/no-host" has no "host" and DATABASE_HOST is not set'],
    ['prod/bad-port', endpointEnv, 'database secret "prod/bad-port" has an invalid "port"']
  ]
  for (const [secretId, env, message] of cases) {
    const error = await openDatabase(testConfig({ ...env, DATABASE_SECRET_ID: secretId }), silentLog).then(
      () => new Error(`${secretId}: opened without an error`),
      (error: Error) => error
    )
    t.equal(error?.message, message, secretId)
    t.notMatch(error?.message, /\n|hunter2|pw-no-host/, `${secretId}: one line, no secret value`)
  }
})

t.test('the service reads an RDS-managed secret (username, password) and takes the endpoint from the environment', async (t) => {
  secretsManager.putSecret('rds!db-managed', { username: 'mission_control', password: 'first-password-b0d3' })
  const database = await openDatabase(testConfig({ ...endpointEnv, DATABASE_SECRET_ID: 'rds!db-managed' }), silentLog)
  t.teardown(() => database.destroy())
  const { rows } = await sql<{ user: string; ssl: boolean }>`
    select current_user as user, ssl from pg_stat_ssl where pid = pg_backend_pid()`.execute(database.db)
  t.same(rows, [{ user: 'mission_control', ssl: true }], 'logged in as the secret says, over TLS')
  t.match(database.description, `PostgreSQL at 127.0.0.1:${cluster.port}/mission_control (credentials from secret "rds!db-managed", TLS verify-full)`)
  t.notMatch(database.description, /first-password/)
})

t.test("the secret's host, port (a string) and dbname win over the environment, looked up by ARN", async (t) => {
  const arn = secretsManager.putSecret('prod/full', {
    engine: 'postgres',
    host: cluster.host,
    port: String(cluster.port),
    dbname: 'mission_control',
    username: 'mission_control',
    password: 'first-password-b0d3'
  })
  const database = await openDatabase(
    testConfig({ DATABASE_SECRET_ID: arn, DATABASE_HOST: 'db.invalid', DATABASE_PORT: '1', DATABASE_NAME: 'nothing', DATABASE_SSL_CA_FILE: cluster.ca.caFile }),
    silentLog
  )
  t.teardown(() => database.destroy())
  await database.ping(5000)
  t.equal(secretsManager.reads.at(-1), arn, 'the SDK sent the ARN as SecretId')
})

t.test('DATABASE_URL and DATABASE_SECRET_ID together are refused', async (t) => {
  await t.rejects(
    openDatabase(testConfig({ DATABASE_SECRET_ID: 'prod/full', DATABASE_URL: 'postgres://localhost/x' }), silentLog),
    { message: 'set DATABASE_SECRET_ID or DATABASE_URL, not both' }
  )
})

t.test('the real server process: one fatal line on a bad secret, and a clean start that never logs the password', async (t) => {
  const password = 'start-password-7f1e'
  await cluster.setPassword('mission_control', password)
  secretsManager.putSecret('prod/start', { username: 'mission_control', password })
  secretsManager.putSecret('prod/stale', { username: 'mission_control', password: 'not-the-password' })
  // Concurrently: each process spends seconds loading modules.
  const [missing, stale, started] = await Promise.all([
    runServer({ ...endpointEnv, DATABASE_SECRET_ID: 'prod/missing', LOG_LEVEL: 'info' }),
    runServer({ ...endpointEnv, DATABASE_SECRET_ID: 'prod/stale', LOG_LEVEL: 'info' }),
    runServer({ ...endpointEnv, DATABASE_SECRET_ID: 'prod/start', LOG_LEVEL: 'debug' }, /Server listening/)
  ])

  t.equal(missing.code, 1, 'a missing secret: exit 1')
  t.same(
    missing.lines.map((line) => [line.level, line.msg]),
    [[60, `mission-control failed to start: cannot read database secret "prod/missing": ResourceNotFoundException: Secrets Manager can't find the specified secret.`]],
    'exactly one fatal line'
  )

  t.equal(stale.code, 1, 'a password the database rejects: exit 1')
  const fatal = stale.lines.filter((line) => line.level === 60)
  t.equal(fatal.length, 1)
  t.match(fatal[0]?.msg, /^mission-control failed to start: /)
  t.match(
    fatal[0]?.msg,
    `PostgreSQL at 127.0.0.1:${cluster.port}/mission_control rejects the credentials from secret "prod/stale" (password authentication failed for user "mission_control"); the secret still holds the same credentials`
  )
  t.notMatch(stale.stdout + stale.stderr, /not-the-password/)

  const messages = started.lines.map((line) => line.msg)
  t.ok(messages.includes(`using PostgreSQL at 127.0.0.1:${cluster.port}/mission_control (credentials from secret "prod/start", TLS verify-full)`))
  t.ok(messages.some((message) => typeof message === 'string' && message.startsWith('Server listening')), 'listened')
  t.equal(started.code, 0, 'shut down cleanly on SIGTERM', { stderr: started.stderr, lastLines: started.lines.slice(-4) })
  t.notOk(started.stdout.includes(password) || started.stderr.includes(password), 'the password appears nowhere in the output')
  const { rows } = await cluster.admin('select count(*)::int as planets from planets', [], 'mission_control')
  t.ok(rows[0].planets > 0, 'migrated and seeded through the secret-based connection')
})

t.test('db:migrate logs in with DATABASE_MIGRATION_SECRET_ID when set: the schema owner, not the app role', async (t) => {
  // Like production: the owner of the database migrates; the app role may connect and nothing more.
  // Two databases, so the two runs can go at once without seeing each other's tables.
  await cluster.admin(`create role mc_app login password 'app-password-9d2e'`)
  for (const name of ['as_app', 'as_owner']) {
    const database = `mission_control_${name}`
    await cluster.createDatabase(database, `${name}_owner`, 'owner-password-5a1c')
    const endpoint = { host: cluster.host, port: cluster.port, dbname: database }
    secretsManager.putSecret(`${name}/migrator`, { ...endpoint, username: `${name}_owner`, password: 'owner-password-5a1c' })
    secretsManager.putSecret(`${name}/app`, { ...endpoint, username: 'mc_app', password: 'app-password-9d2e' })
  }
  const migrate = (env: Record<string, string>) =>
    new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import=tsx', migrateEntry], {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...awsEnv, DATABASE_SSL_CA_FILE: cluster.ca.caFile, ...env },
        stdio: ['ignore', 'pipe', 'pipe']
      })
      let output = ''
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
      child.on('exit', (code) => resolve({ code, output }))
    })

  const [asApp, asOwner] = await Promise.all([
    migrate({ DATABASE_SECRET_ID: 'as_app/app' }),
    migrate({ DATABASE_SECRET_ID: 'as_owner/app', DATABASE_MIGRATION_SECRET_ID: 'as_owner/migrator' })
  ])
  t.equal(asApp.code, 1, 'the app role alone cannot migrate')
  t.match(asApp.output, /permission denied for schema public/)

  t.equal(asOwner.code, 0, asOwner.output)
  t.match(asOwner.output, 'credentials from secret \\"as_owner/migrator\\"')
  t.notMatch(asOwner.output, /owner-password|app-password/, 'no password in the output')
  const { rows } = await cluster.admin(
    `select distinct pg_get_userbyid(relowner) as owner from pg_class where relnamespace = 'public'::regnamespace and relkind = 'r'`,
    [],
    'mission_control_as_owner'
  )
  t.same(rows, [{ owner: 'as_owner_owner' }], 'tables belong to the migration role')
})

t.test('the operator CLI works with credentials from Secrets Manager, as on an instance', async (t) => {
  await cluster.createDatabase('mission_control_cli', 'mc_cli', 'cli-password-3e7f')
  secretsManager.putSecret('cli/db', { host: cluster.host, port: cluster.port, dbname: 'mission_control_cli', username: 'mc_cli', password: 'cli-password-3e7f' })
  const env = { ...awsEnv, DATABASE_SECRET_ID: 'cli/db', DATABASE_SSL_CA_FILE: cluster.ca.caFile }
  const run = (entry: string, args: string[], stdin = '') =>
    new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import=tsx', entry, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['pipe', 'pipe', 'pipe'] })
      let output = ''
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
      child.on('exit', (code) => resolve({ code, output }))
      child.stdin.end(stdin)
    })
  const migrated = await run(migrateEntry, [])
  t.equal(migrated.code, 0, migrated.output)
  const operatorCli = path.resolve(import.meta.dirname, '../app/operators/operator-cli.ts')
  const created = await run(operatorCli, ['create', '--email', 'ada@example.com', '--name', 'Ada Lovelace', '--role', 'admin'], 'analytical engine 1843\n')
  t.equal(created.code, 0, created.output)
  t.notMatch(created.output, /cli-password|analytical engine/, 'no password in the output')

  const database = await openDatabase(testConfig({ DATABASE_SECRET_ID: 'cli/db', DATABASE_SSL_CA_FILE: cluster.ca.caFile }), silentLog)
  t.teardown(() => database.destroy())
  const operator = await database.db.selectFrom('operators').select(['email', 'role']).executeTakeFirst()
  t.same(operator, { email: 'ada@example.com', role: 'admin' })
})
