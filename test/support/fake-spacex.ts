// A stand-in for SpaceX API v4 on 127.0.0.1 (the real one is unreachable from tests): it stores
// launches, rockets and payloads the way v4 does (references by id) and answers
// `POST /v4/launches/query` like mongoose-paginate-v2 does, honouring page, limit, pagination,
// sort by flight_number and populate with select. Tests can queue failures or hold responses.
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'

export interface RawLaunch {
  id: string
  flight_number: number
  name: string
  date_utc: string
  upcoming: boolean
  success: boolean | null
  rocket: string
  payloads: string[]
  [field: string]: unknown
}
interface RawRocket {
  id: string
  name: string
  [field: string]: unknown
}
interface RawPayload {
  id: string
  customers: string[]
  [field: string]: unknown
}

/** What the next request gets instead of a good page. */
export type FakeFailure =
  | { status: number }
  /** 200 with a body cut off halfway, as a proxy dropping the connection would leave it. */
  | 'truncated-json'
  /** 200 with valid JSON whose launches lack the populated rocket (populate ignored). */
  | 'unpopulated'
  /** Never answers. */
  | 'hang'

interface QueryOptions {
  pagination?: boolean
  page?: number
  limit?: number
  sort?: { flight_number?: 'asc' | 'desc' }
  populate?: Array<{ path: string; select?: Record<string, number> }>
}

const fixtureDir = path.resolve(import.meta.dirname, '../fixtures/spacex')

function readFixture<T>(name: string): T {
  return JSON.parse(readFileSync(path.join(fixtureDir, name), 'utf8')) as T
}

/** The fixture data set: a copy, so tests can change it. */
export function fixtureData(): { launches: RawLaunch[]; rockets: RawRocket[]; payloads: RawPayload[] } {
  return {
    launches: readFixture<RawLaunch[]>('launches.json'),
    rockets: readFixture<RawRocket[]>('rockets.json'),
    payloads: readFixture<RawPayload[]>('payloads.json')
  }
}

/** `count` valid launches numbered 1..count in the fixture's shape, each with one payload. */
export function generatedData(count: number): ReturnType<typeof fixtureData> {
  const { launches: [template], rockets, payloads: [payloadTemplate] } = fixtureData()
  const launches: RawLaunch[] = []
  const payloads: RawPayload[] = []
  for (let flight = 1; flight <= count; flight++) {
    const id = `6400000000000000000${String(flight).padStart(5, '0')}`
    const payloadId = `6500000000000000000${String(flight).padStart(5, '0')}`
    const date = new Date(Date.UTC(2006, 2, 24) + flight * 7 * 86_400_000)
    payloads.push({ ...payloadTemplate!, id: payloadId, name: `Payload ${flight}`, launch: id, customers: ['NASA', `Customer ${flight % 7}`] })
    launches.push({
      ...template!,
      id,
      flight_number: flight,
      name: `Generated mission ${flight}`,
      date_utc: date.toISOString(),
      date_unix: Math.floor(date.getTime() / 1000),
      success: flight % 10 !== 0,
      upcoming: false,
      rocket: rockets[flight % 2]!.id,
      payloads: [payloadId]
    })
  }
  return { launches, rockets, payloads }
}

export interface FakeSpacex {
  url: string
  launches: RawLaunch[]
  /** Every request body received, in order. */
  requests: Array<{ options: QueryOptions }>
  /** Answers for the next requests, one each (null: a good page), before good pages resume. */
  failures: Array<FakeFailure | null>
  /** Holds every answer until the returned function is called. */
  hold(): () => void
  /** Resolves once `count` requests have arrived in total. */
  waitForRequests(count: number): Promise<void>
  close(): Promise<void>
}

interface Teardown {
  teardown(fn: () => unknown): void
}

export async function startFakeSpacex(
  t: Teardown,
  data: ReturnType<typeof fixtureData> = fixtureData()
): Promise<FakeSpacex> {
  const rockets = new Map(data.rockets.map((rocket) => [rocket.id, rocket]))
  const payloads = new Map(data.payloads.map((payload) => [payload.id, payload]))
  let held: Promise<void> = Promise.resolve()
  const waiters: Array<{ count: number; resolve: () => void }> = []

  function select<T extends { id: string }>(doc: T, fields?: Record<string, number>): Partial<T> {
    if (!fields) return doc
    // mongoose's select keeps _id, which v4 serialises as `id`.
    return Object.fromEntries(Object.entries(doc).filter(([key]) => key === 'id' || fields[key] === 1)) as Partial<T>
  }

  function populate(launch: RawLaunch, paths: QueryOptions['populate'] = []): Record<string, unknown> {
    const doc: Record<string, unknown> = { ...launch }
    for (const { path: field, select: fields } of paths) {
      if (field === 'rocket') doc.rocket = select(rockets.get(launch.rocket)!, fields)
      if (field === 'payloads') doc.payloads = launch.payloads.map((id) => select(payloads.get(id)!, fields))
    }
    return doc
  }

  function page(options: QueryOptions, populated: boolean) {
    const sorted = [...fake.launches]
    if (options.sort?.flight_number) {
      const direction = options.sort.flight_number === 'desc' ? -1 : 1
      sorted.sort((a, b) => direction * (a.flight_number - b.flight_number))
    }
    const totalDocs = sorted.length
    const paginate = options.pagination !== false
    const limit = paginate ? (options.limit ?? 10) : totalDocs
    const pageNumber = paginate ? (options.page ?? 1) : 1
    const totalPages = paginate ? Math.max(1, Math.ceil(totalDocs / limit)) : 1
    const offset = (pageNumber - 1) * limit
    const docs = sorted.slice(offset, offset + limit).map((launch) => (populated ? populate(launch, options.populate) : launch))
    return {
      docs,
      totalDocs,
      offset,
      limit,
      totalPages,
      page: pageNumber,
      pagingCounter: offset + 1,
      hasPrevPage: pageNumber > 1,
      hasNextPage: pageNumber < totalPages,
      prevPage: pageNumber > 1 ? pageNumber - 1 : null,
      nextPage: pageNumber < totalPages ? pageNumber + 1 : null
    }
  }

  async function answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let raw = ''
    for await (const chunk of request) raw += chunk
    if (request.method !== 'POST' || request.url !== '/v4/launches/query') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found')
      return
    }
    const { options = {} } = JSON.parse(raw || '{}') as { options?: QueryOptions }
    fake.requests.push({ options })
    for (const waiter of waiters.filter((w) => fake.requests.length >= w.count)) waiter.resolve()
    const failure = fake.failures.shift()
    await held
    if (failure === 'hang') return
    if (failure && typeof failure === 'object') {
      response.writeHead(failure.status, { 'content-type': 'text/html' }).end(`<html><body>error code: ${failure.status}</body></html>`)
      return
    }
    const body = JSON.stringify(page(options, failure !== 'unpopulated'))
    response
      .writeHead(200, { 'content-type': 'application/json; charset=utf-8' })
      .end(failure === 'truncated-json' ? body.slice(0, Math.floor(body.length / 2)) : body)
  }

  const server = createServer((request, response) => {
    answer(request, response).catch((error: Error) => {
      response.writeHead(500, { 'content-type': 'text/plain' }).end(error.message)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo

  const fake: FakeSpacex = {
    url: `http://127.0.0.1:${port}`,
    launches: data.launches,
    requests: [],
    failures: [],
    hold() {
      let release!: () => void
      held = new Promise((resolve) => (release = resolve))
      return release
    },
    waitForRequests(count) {
      if (fake.requests.length >= count) return Promise.resolve()
      return new Promise((resolve) => waiters.push({ count, resolve }))
    },
    close() {
      // Hanging requests keep their sockets open; close() alone would wait for them forever.
      server.closeAllConnections()
      return new Promise((resolve) => server.close(() => resolve()))
    }
  }
  t.teardown(() => fake.close())
  return fake
}
