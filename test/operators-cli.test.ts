// `npm run operator:create | operator:disable | operator:reset-password` as a person runs them: child
// processes on a real database (a private PostgreSQL database, or a PGlite data directory), the
// password piped on standard input; the service (in-process, same database) then signs in with it.
import { execFile } from 'node:child_process'
import path from 'node:path'
import t from 'tap'
import { buildApp } from '../app/app.js'
import { openDatabase } from '../app/database/database.js'
import { openTestDatabase, silentLog, testConfig } from './helpers.js'

const repoRoot = path.resolve(import.meta.dirname, '..')
t.setTimeout(10 * 60_000)

interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

function operatorCli(args: string[], env: Record<string, string>, stdin: string): Promise<CliResult> {
  const { DATABASE_URL: _inherited, ...parentEnv } = process.env
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import=tsx', 'app/operators/operator-cli.ts', ...args],
      { cwd: repoRoot, env: { ...parentEnv, ...env }, timeout: 5 * 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? (error.code as number) : 0, stdout, stderr })
    )
    child.stdin!.end(stdin)
  })
}

const env: Record<string, string> = process.env.TEST_DATABASE_URL
  ? { DATABASE_URL: (await openTestDatabase(t)).url! }
  : { DATA_DIR: t.testdir() }

/** Signs in through the service on the same database (PGlite: only while no CLI runs). */
async function signIn(email: string, password: string): Promise<{ status: number; cookie?: string }> {
  const database = await openDatabase(testConfig(env), silentLog)
  const app = await buildApp({ config: testConfig(env), database })
  try {
    const response = await app.inject({ method: 'POST', url: '/v1/session', payload: { email, password } })
    const cookie = response.cookies[0]
    return { status: response.statusCode, cookie: cookie && `${cookie.name}=${cookie.value}` }
  } finally {
    await app.close()
  }
}

async function sessionAlive(cookie: string): Promise<boolean> {
  const database = await openDatabase(testConfig(env), silentLog)
  const app = await buildApp({ config: testConfig(env), database })
  try {
    return (await app.inject({ method: 'GET', url: '/v1/session', headers: { cookie } })).statusCode === 200
  } finally {
    await app.close()
  }
}

const PASSWORD = 'piped passphrase 1'

t.test('operator:create reads the password from stdin and the operator can sign in', async (t) => {
  const created = await operatorCli(['create', '--email', 'Ada@Example.com', '--name', 'Ada Lovelace', '--role', 'admin'], env, `${PASSWORD}\n`)
  t.equal(created.code, 0, created.stderr)
  t.match(created.stdout, /^created admin Ada@Example\.com \(Ada Lovelace, id \d+\) in /)
  t.notMatch(created.stdout + created.stderr, PASSWORD, 'the password is never echoed')
  const session = await signIn('ada@example.com', PASSWORD)
  t.equal(session.status, 200)

  const duplicate = await operatorCli(['create', '--email', 'ADA@example.com', '--name', 'Other'], env, `${PASSWORD}\n`)
  t.equal(duplicate.code, 1)
  t.equal(duplicate.stderr, 'operator: An operator with this email already exists\n')
})

t.test('operator:create refuses short passwords and bad arguments with one line', async (t) => {
  const short = await operatorCli(['create', '--email', 'b@example.com', '--name', 'B'], env, 'too short\n')
  t.equal(short.code, 1)
  t.equal(short.stderr, 'operator: the password must have at least 12 characters\n')
  const noName = await operatorCli(['create', '--email', 'b@example.com'], env, `${PASSWORD}\n`)
  t.equal(noName.code, 1)
  t.match(noName.stderr, /^operator: --name is required\nusage:/)
  const role = await operatorCli(['create', '--email', 'b@example.com', '--name', 'B', '--role', 'root'], env, `${PASSWORD}\n`)
  t.match(role.stderr, /--role must be operator or admin/)
  const email = await operatorCli(['create', '--email', 'b c@example.com', '--name', 'B'], env, `${PASSWORD}\n`)
  t.equal(email.code, 1)
  t.match(email.stderr, /^operator: --email must be an address like ada@example\.com/)
  const name = await operatorCli(['create', '--email', 'b@example.com', '--name', 'B\u0007ell'], env, `${PASSWORD}\n`)
  t.equal(name.code, 1)
  t.match(name.stderr, /^operator: --name must have at most 100 characters and no control characters/)
})

t.test('operator:reset-password sets a new password and ends the sessions; operator:disable refuses sign-in', async (t) => {
  const created = await operatorCli(['create', '--email', 'grace@example.com', '--name', 'Grace Hopper'], env, `${PASSWORD}\n`)
  t.equal(created.code, 0, created.stderr)
  const before = await signIn('grace@example.com', PASSWORD)
  t.equal(before.status, 200)

  const reset = await operatorCli(['reset-password', '--email', 'grace@example.com'], env, 'a brand new passphrase\n')
  t.equal(reset.code, 0, reset.stderr)
  t.equal(reset.stdout, 'new password set for grace@example.com: its sessions are ended\n')
  t.notOk(await sessionAlive(before.cookie!), 'the old session ended')
  t.equal((await signIn('grace@example.com', PASSWORD)).status, 401, 'the old password is refused')
  const after = await signIn('grace@example.com', 'a brand new passphrase')
  t.equal(after.status, 200)

  const disabled = await operatorCli(['disable', '--email', 'GRACE@example.com'], env, '')
  t.equal(disabled.code, 0, disabled.stderr)
  t.notOk(await sessionAlive(after.cookie!), 'disabling ends the sessions')
  t.equal((await signIn('grace@example.com', 'a brand new passphrase')).status, 401)

  const unknown = await operatorCli(['disable', '--email', 'nobody@example.com'], env, '')
  t.equal(unknown.code, 1)
  t.equal(unknown.stderr, 'operator: no operator with email nobody@example.com\n')
})
