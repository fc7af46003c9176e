// The benchmark's anchor (bench/run.ts): the thinnest Fastify 5 + pg server answering the same
// list page as the service — one pool, one parameterised `select … order by flight_number limit $1
// offset $2`, no logging, no schemas — plus a hello-world route, a write doing the statements the
// service's write does (token lookup; one transaction with the launch, then its audit row and feed
// event in one statement; the notification after the commit), and Server-Sent Events fed by one LISTEN connection (each notified event read once and
// written to every stream). What the service is measured against. Environment: DATABASE_URL, PORT.
import { createHash } from 'node:crypto'
import Fastify from 'fastify'
import pg from 'pg'

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 })
const app = Fastify({ logger: false })

const PAGE = `
  select l.flight_number, l.mission, l.rocket, l.launch_date, p.kepler_name as target, l.customers,
         l.status, l.source, l.aborted_at
  from launches l left join planets p on p.id = l.target_planet_id
  order by l.flight_number limit $1 offset $2`

app.get('/v1/launches', async (request) => {
  const query = request.query as { limit?: string; page?: string }
  const limit = Number(query.limit ?? 50)
  const page = Number(query.page ?? 1)
  const { rows } = await pool.query(PAGE, [limit, (page - 1) * limit])
  return rows
})

app.get('/hello', async () => ({ hello: 'world' }))

const TOKEN = `
  select o.id, t.id as token_id from api_tokens t join operators o on o.id = t.operator_id
  where t.token_hash = $1 and t.revoked_at is null and t.expires_at > now() and o.disabled_at is null`
const LAUNCH = `
  insert into launches (mission, rocket, launch_date, target_planet_id, status, source, scheduled_by)
  select $1, $2, $3, id, 'upcoming', 'mission_control', $5 from planets where kepler_name = $4
  returning flight_number, mission, rocket, launch_date, status, source`
/** The write's record in one statement, as the service's recordWrite: its audit row and its feed event. */
const RECORD = `
  with audited as (
    insert into audit_events (action, actor_type, operator_id, token_id, subject_type, subject_id, details)
    values ('launch.scheduled', 'operator', $1, $2, 'launch', $3, '{}')),
  appended as (
    insert into change_events (type, payload)
    select 'launch', $4::jsonb from (select pg_advisory_xact_lock_shared(7231604401) offset 0) as feed_lock
    returning id)
  select max(id)::text as newest from appended`

app.post('/v1/launches', async (request, reply) => {
  const body = request.body as { mission: string; rocket: string; target: string; launchDate: string }
  const token = request.headers.authorization?.slice('Bearer '.length) ?? ''
  const { rows: operators } = await pool.query(TOKEN, [createHash('sha256').update(token).digest('hex')])
  if (!operators[0]) return reply.code(401).send()
  const client = await pool.connect()
  let flightNumber: number
  let newest: string
  try {
    await client.query('begin')
    const { rows } = await client.query(LAUNCH, [body.mission, body.rocket, body.launchDate, body.target, operators[0].id])
    const { rows: record } = await client.query(RECORD, [operators[0].id, operators[0].token_id, String(rows[0].flight_number), JSON.stringify({ change: 'scheduled', launch: rows[0] })])
    await client.query('commit')
    flightNumber = rows[0].flight_number
    newest = record[0].newest
  } catch (error) {
    await client.query('rollback')
    throw error
  } finally {
    client.release()
  }
  // After the commit, as the service notifies (app/writes/feed.ts), one notification per write.
  await pool.query(`select pg_notify('mission_control_changes', $1)`, [newest])
  return reply.code(201).send({ flightNumber })
})

const streams = new Set<import('node:http').ServerResponse>()
const listener = new pg.Client({ connectionString: process.env.DATABASE_URL })
await listener.connect()
await listener.query('listen mission_control_changes')
let lastId = Number((await pool.query('select coalesce(max(id), 0) as id from change_events')).rows[0].id)
/** Sends every event after the last one sent; one read at a time, so none is sent twice. */
async function sendNewEvents(): Promise<void> {
  const { rows } = await pool.query('select id, type, payload from change_events where id > $1 order by id', [lastId])
  for (const row of rows) {
    lastId = Number(row.id)
    const text = `id: ${row.id}\nevent: ${row.type}\ndata: ${JSON.stringify(row.payload)}\n\n`
    for (const stream of streams) stream.write(text)
  }
}
let sending = Promise.resolve()
listener.on('notification', () => {
  sending = sending.then(sendNewEvents)
})

app.get('/v1/events', (request, reply) => {
  reply.hijack()
  reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
  reply.raw.write(`retry: 3000\nid: ${lastId}\n\n`)
  streams.add(reply.raw)
  request.raw.once('close', () => streams.delete(reply.raw))
})

await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
process.once('SIGTERM', async () => {
  for (const stream of streams) stream.end()
  await listener.end()
  await sending
  await app.close()
  await pool.end()
})
