// Operators through the API: the one-time setup link of the first run, admins inviting and
// disabling operators, and invite links.
import { sql } from 'kysely'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { createLink } from '../app/operators/invites.js'
import { offerFirstRunSetup } from '../app/operators/first-run.js'
import { CURRENT_HASH_PARAMETERS, DUMMY_PASSWORD_HASH, hashParameters } from '../app/operators/passwords.js'
import { buildTestApp, createTestOperator, silentLog } from './helpers.js'

t.setTimeout(600_000)

const PASSWORD = 'a long enough passphrase'

function tokenOf(url: string): string {
  return new URL(url).searchParams.get('token')!
}

async function freshApp(t: Parameters<typeof buildTestApp>[0]) {
  const built = await buildTestApp(t)
  // buildTestApp hands every test an operator; a first run has none.
  await built.database.db.deleteFrom('operators').execute()
  return built
}

const setup = (app: FastifyInstance, token: string, email = 'first@example.com') =>
  app.inject({ method: 'POST', url: '/v1/setup', payload: { token, email, name: 'First Admin', password: PASSWORD } })

t.test('first run: the setup link creates the first admin and signs it in, once', async (t) => {
  const { app, database } = await freshApp(t)
  const link = await offerFirstRunSetup(database.db, silentLog, 'http://localhost:8080')
  t.match(link, /^http:\/\/localhost:8080\/setup\?token=[\w-]{43}$/)
  const stored = await database.db.selectFrom('operator_invites').select(['token_hash', 'purpose']).executeTakeFirstOrThrow()
  t.not(stored.token_hash, tokenOf(link!), 'only a hash of the token is stored')

  const wrong = await setup(app, 'not-the-token')
  t.equal(wrong.statusCode, 403)
  t.match(wrong.json(), { code: 'SETUP_LINK_INVALID' })
  const short = await app.inject({ method: 'POST', url: '/v1/setup', payload: { token: tokenOf(link!), email: 'a@example.com', name: 'A', password: 'short' } })
  t.equal(short.statusCode, 400, 'passwords under 12 characters are refused')
  t.match(short.json(), { code: 'INVALID_REQUEST', field: 'password' })

  const created = await setup(app, tokenOf(link!))
  t.equal(created.statusCode, 201)
  t.match(created.json(), { operator: { email: 'first@example.com', name: 'First Admin', role: 'admin' }, csrfToken: String })
  const cookie = created.cookies.find((c) => c.name === 'mc_session')!
  const operators = await app.inject({ method: 'GET', url: '/v1/operators', headers: { cookie: `${cookie.name}=${cookie.value}` } })
  t.equal(operators.statusCode, 200, 'signed in as an admin')
  const hash = await database.db.selectFrom('operators').select('password_hash').executeTakeFirstOrThrow()
  t.equal(hashParameters(hash.password_hash!), CURRENT_HASH_PARAMETERS, `argon2id ${CURRENT_HASH_PARAMETERS}`)

  const again = await setup(app, tokenOf(link!), 'second@example.com')
  t.equal(again.statusCode, 403, 'refused once used')
  t.same(again.json(), { error: 'This link has already been used', code: 'SETUP_LINK_INVALID' })
  t.equal(await offerFirstRunSetup(database.db, silentLog, 'http://localhost:8080'), undefined, 'no new link once an operator exists')
})

t.test('a setup link is refused once any operator exists, and after 24 hours', async (t) => {
  const { app, database } = await freshApp(t)
  const early = tokenOf((await offerFirstRunSetup(database.db, silentLog, 'http://x'))!)
  const late = tokenOf((await offerFirstRunSetup(database.db, silentLog, 'http://x'))!)
  await database.db.updateTable('operator_invites').set({ expires_at: sql<Date>`now() - interval '1 second'` }).execute()
  const expired = await setup(app, early)
  t.equal(expired.statusCode, 403)
  t.match(expired.json(), { code: 'SETUP_LINK_INVALID', error: /expired/ })
  const created = await database.db.selectFrom('operator_invites').select(sql<number>`extract(epoch from expires_at - created_at)::int`.as('seconds')).executeTakeFirstOrThrow()
  t.ok(created.seconds <= 0, 'expired')

  await database.db.updateTable('operator_invites').set({ expires_at: sql<Date>`now() + interval '1 hour'` }).execute()
  await createTestOperator(database.db, { role: 'admin' })
  const exists = await setup(app, late)
  t.equal(exists.statusCode, 403)
  t.same(exists.json(), { error: 'An operator already exists: sign in instead', code: 'SETUP_LINK_INVALID' })
})

t.test('two setup links redeemed at once create one admin', async (t) => {
  const { app, database } = await freshApp(t)
  const links = await Promise.all([1, 2].map(() => offerFirstRunSetup(database.db, silentLog, 'http://x')))
  const answers = await Promise.all(links.map((link, i) => setup(app, tokenOf(link!), `admin${i}@example.com`)))
  t.same(answers.map((answer) => answer.statusCode).sort(), [201, 403])
  const admins = await database.db.selectFrom('operators').select('id').execute()
  t.equal(admins.length, 1)
})

t.test('admins list, invite and disable operators; invite links set a password once', async (t) => {
  const { app, operator, database } = await buildTestApp(t)
  const admin = await createTestOperator(database.db, { role: 'admin', name: 'Grace Hopper' })

  const invited = await app.inject({
    method: 'POST',
    url: '/v1/operators',
    payload: { email: 'Katherine@Example.com', name: 'Katherine Johnson' },
    headers: { ...admin.headers, 'x-forwarded-proto': 'https', host: 'mission-control.example.com' }
  })
  t.equal(invited.statusCode, 201)
  const body = invited.json()
  t.match(body, {
    operator: { email: 'Katherine@Example.com', name: 'Katherine Johnson', role: 'operator', disabledAt: null, invitePending: true },
    inviteUrl: /^https:\/\/mission-control\.example\.com\/invite\?token=[\w-]{43}$/,
    inviteExpiresAt: String
  })
  const duplicate = await app.inject({ method: 'POST', url: '/v1/operators', payload: { email: 'katherine@example.COM', name: 'K' }, headers: admin.headers })
  t.equal(duplicate.statusCode, 409, 'emails are unique whatever their case')
  t.match(duplicate.json(), { code: 'OPERATOR_EXISTS', field: 'email' })

  const noPasswordYet = await app.inject({ method: 'POST', url: '/v1/session', payload: { email: 'katherine@example.com', password: PASSWORD } })
  t.equal(noPasswordYet.statusCode, 401, 'cannot sign in before accepting')
  const accepted = await app.inject({ method: 'POST', url: '/v1/invites/accept', payload: { token: tokenOf(body.inviteUrl), password: PASSWORD } })
  t.equal(accepted.statusCode, 200)
  t.match(accepted.json(), { operator: { id: body.operator.id, role: 'operator' }, csrfToken: String })
  t.equal((await app.inject({ method: 'POST', url: '/v1/invites/accept', payload: { token: tokenOf(body.inviteUrl), password: PASSWORD } })).statusCode, 403, 'once')
  t.equal((await app.inject({ method: 'POST', url: '/v1/session', payload: { email: 'KATHERINE@example.com', password: PASSWORD } })).statusCode, 200)

  const list = (await app.inject({ method: 'GET', url: '/v1/operators', headers: admin.headers })).json()
  t.match(list.find((entry: { id: number }) => entry.id === body.operator.id), { invitePending: false, disabledAt: null })
  t.notMatch(JSON.stringify(list), /argon2|password/i, 'never a password hash')

  const disabled = await app.inject({ method: 'POST', url: `/v1/operators/${operator.id}/disable`, headers: admin.headers })
  t.equal(disabled.statusCode, 200)
  t.match(disabled.json(), { id: operator.id, disabledAt: String })
  t.equal((await app.inject({ method: 'GET', url: '/v1/tokens', headers: operator.headers })).statusCode, 401, "the disabled operator's token is refused")
  const self = await app.inject({ method: 'POST', url: `/v1/operators/${admin.id}/disable`, headers: admin.headers })
  t.equal(self.statusCode, 409)
  t.match(self.json(), { code: 'CANNOT_DISABLE_SELF' })
  t.equal((await app.inject({ method: 'POST', url: '/v1/operators/999999/disable', headers: admin.headers })).statusCode, 404)

  const link = await createLink(database.db, { purpose: 'invite', operatorId: operator.id })
  const forDisabled = await app.inject({ method: 'POST', url: '/v1/invites/accept', payload: { token: link.token, password: PASSWORD } })
  t.equal(forDisabled.statusCode, 403, 'an invite for a disabled operator is refused')
})

t.test('the dummy hash unknown emails are checked against uses the current parameters', async (t) => {
  t.equal(hashParameters(DUMMY_PASSWORD_HASH), CURRENT_HASH_PARAMETERS)
})

t.test('emails and names with control characters get 400 INVALID_CHARACTERS on every route that takes them; nothing is stored', async (t) => {
  const { app, operator, database } = await buildTestApp(t)
  const admin = await createTestOperator(database.db, { role: 'admin' })
  const countOperators = async () => (await database.db.selectFrom('operators').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n
  const before = await countOperators()
  const refused = [
    { url: '/v1/session', payload: { email: '\u0000@\u0000', password: PASSWORD }, field: 'email' },
    { url: '/v1/session', payload: { email: 'a\u0085b@example.com', password: PASSWORD }, field: 'email' },
    { url: '/v1/operators', payload: { email: 'x@example.com', name: 'X\u0000' }, headers: admin.headers, field: 'name' },
    { url: '/v1/operators', payload: { email: 'x\u0001@example.com', name: 'X' }, headers: admin.headers, field: 'email' },
    { url: '/v1/tokens', payload: { name: 'CI\u0000' }, headers: operator.headers, field: 'name' },
    { url: '/v1/setup', payload: { token: 'x', email: 'y@example.com', name: '\ud800', password: PASSWORD }, field: 'name' }
  ]
  for (const { url, payload, headers, field } of refused) {
    const response = await app.inject({ method: 'POST', url, payload, headers })
    t.equal(response.statusCode, 400, `${url} ${JSON.stringify(payload)}`)
    t.same(response.json(), { error: `${field} must not contain control characters or unpaired surrogates`, code: 'INVALID_CHARACTERS', field })
  }
  t.equal(await countOperators(), before)
})
