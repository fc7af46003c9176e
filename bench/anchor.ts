// The benchmark's anchor (bench/run.ts): the thinnest Fastify 5 + pg server answering the same
// list page as the service — one pool, one parameterised `select … order by flight_number limit $1
// offset $2`, no logging, no schemas — plus a hello-world route. What the service is measured against.
// Environment: DATABASE_URL, PORT.
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

await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
process.once('SIGTERM', () => {
  void app.close().then(() => pool.end())
})
