// `npm run operator:create -- --email <email> --name <name> [--role admin]`,
// `npm run operator:disable -- --email <email>`, `npm run operator:reset-password -- --email <email>`:
// manage operators on the configured database (embedded, DATABASE_URL or Secrets Manager). The
// password comes from standard input when it is not a terminal (one line), else from a prompt
// that does not echo. Exits 1 with one line naming the failure.
import { stdin, stderr } from 'node:process'
import { parseArgs } from 'node:util'
import { pino } from 'pino'
import { failureMessage, loadConfig } from '../config/config.js'
import { withDatabase } from '../database/database.js'
import { migrateToLatest } from '../database/migrate.js'
import { HttpError } from '../errors/http-errors.js'
import { loggerOptions } from '../logger.js'
import { compileCheck } from '../validation.js'
import { runWrite } from '../writes/unit-of-work.js'
import { DisplayNameSchema, EmailSchema } from './operator-schemas.js'
import { disableOperator, findOperatorByEmail, insertOperator, setOperatorPassword } from './operators-queries.js'
import { hashPassword, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from './passwords.js'

const USAGE = `usage:
  npm run operator:create -- --email <email> --name <display name> [--role operator|admin]
  npm run operator:disable -- --email <email>
  npm run operator:reset-password -- --email <email>
The password is read from standard input when it is not a terminal, else prompted for (not echoed).`

class UsageError extends Error {}

// The same rules as the API's, so the command cannot store what a sign-in could not match.
const isEmail = compileCheck(EmailSchema)
const isDisplayName = compileCheck(DisplayNameSchema)

type Command = 'create' | 'disable' | 'reset-password'

function readArguments() {
  try {
    const { values, positionals } = parseArgs({
      options: { email: { type: 'string' }, name: { type: 'string' }, role: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true
    })
    const [command] = positionals
    if (values.help) return { help: true as const }
    if (command !== 'create' && command !== 'disable' && command !== 'reset-password') throw new UsageError(`unknown command ${command ?? '(none)'}`)
    if (!values.email) throw new UsageError('--email is required')
    if (!isEmail(values.email)) throw new UsageError('--email must be an address like ada@example.com: no spaces or control characters, at most 254 characters')
    if (command === 'create' && !values.name?.trim()) throw new UsageError('--name is required')
    if (command === 'create' && !isDisplayName(values.name)) throw new UsageError('--name must have at most 100 characters and no control characters')
    const role = values.role ?? 'operator'
    if (role !== 'operator' && role !== 'admin') throw new UsageError('--role must be operator or admin')
    return { help: false as const, command: command as Command, email: values.email, name: values.name ?? '', role: role as 'operator' | 'admin' }
  } catch (error) {
    if (error instanceof UsageError) throw error
    throw new UsageError((error as Error).message)
  }
}

async function readPipedPassword(): Promise<string> {
  let text = ''
  for await (const chunk of stdin) text += chunk
  return text.replace(/\r?\n$/, '')
}

/** Reads one line from the terminal without echoing it. */
function promptHidden(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    stderr.write(question)
    stdin.setRawMode(true)
    stdin.resume()
    stdin.setEncoding('utf8')
    let typed = ''
    const onData = (key: string) => {
      for (const char of key) {
        if (char === '\r' || char === '\n') {
          finish()
          return resolve(typed)
        }
        if (char === '\u0003') {
          finish()
          return reject(new Error('cancelled'))
        }
        if (char === '\u007f') typed = typed.slice(0, -1)
        else typed += char
      }
    }
    const finish = () => {
      stdin.off('data', onData)
      stdin.setRawMode(false)
      stdin.pause()
      stderr.write('\n')
    }
    stdin.on('data', onData)
  })
}

async function readPassword(): Promise<string> {
  let password: string
  if (stdin.isTTY) {
    password = await promptHidden(`Password (at least ${MIN_PASSWORD_LENGTH} characters): `)
    if ((await promptHidden('Repeat the password: ')) !== password) throw new Error('the passwords do not match')
  } else {
    password = await readPipedPassword()
  }
  if (password.length < MIN_PASSWORD_LENGTH) throw new Error(`the password must have at least ${MIN_PASSWORD_LENGTH} characters`)
  if (password.length > MAX_PASSWORD_LENGTH) throw new Error(`the password must have at most ${MAX_PASSWORD_LENGTH} characters`)
  return password
}

async function main(): Promise<void> {
  const args = readArguments()
  if (args.help) {
    console.log(USAGE)
    return
  }
  const config = loadConfig()
  const password = args.command === 'disable' ? undefined : await readPassword()
  const passwordHash = password === undefined ? undefined : await hashPassword(password)
  // Warnings only, on stderr: stdout carries the one line saying what was done.
  const log = pino(loggerOptions('warn', false), pino.destination(2))
  await withDatabase(config, log, async (database) => {
    await migrateToLatest(database.db)
    // Recorded in the audit trail like any other write, done by the command itself.
    const write = <T>(change: Parameters<typeof runWrite<T>>[2]) => runWrite(database.db, { actor: { type: 'system', name: 'operator-cli' } }, change)
    if (args.command === 'create') {
      const { result: row } = await write(async (trx) => {
        const row = await insertOperator(trx, { email: args.email, name: args.name, role: args.role, passwordHash: passwordHash! })
        return { result: row, audit: [{ action: 'operator.created', subjectType: 'operator', subjectId: String(row.id), details: { email: row.email, role: row.role, via: 'command line' } }] }
      })
      console.log(`created ${row.role} ${row.email} (${row.display_name}, id ${row.id}) in ${database.description}`)
      return
    }
    const existing = await findOperatorByEmail(database.db, args.email)
    if (!existing) throw new Error(`no operator with email ${args.email}`)
    const subject = { subjectType: 'operator', subjectId: String(existing.id), details: { email: existing.email } }
    if (args.command === 'disable') {
      await write(async (trx) => ({ result: await disableOperator(trx, existing.id), audit: [{ action: 'operator.disabled', ...subject }] }))
      console.log(`disabled ${existing.email}: its sessions are ended and its API tokens refused`)
    } else {
      await write(async (trx) => ({ result: await setOperatorPassword(trx, existing.id, passwordHash!), audit: [{ action: 'operator.password_reset', ...subject }] }))
      console.log(`new password set for ${existing.email}: its sessions are ended`)
    }
  })
}

try {
  await main()
} catch (error) {
  const message = error instanceof HttpError ? error.message : failureMessage(error)
  process.stderr.write(`operator: ${message}\n`)
  if (error instanceof UsageError) process.stderr.write(`${USAGE}\n`)
  process.exitCode = 1
}
