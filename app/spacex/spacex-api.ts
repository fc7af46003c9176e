// The client side of SpaceX API v4's `POST /v4/launches/query`: paginated requests, each response
// validated before anything is written. The API is unmaintained (data stops in 2022) and has had
// outages, so every failure becomes a SpacexApiError with one clear message.
import { Type, type Static } from 'typebox'
import { Compile } from 'typebox/compile'

/** One launch as the query returns it with `rocket.name` and `payloads.customers` populated. */
const SpacexLaunchDocSchema = Type.Object({
  id: Type.String({ minLength: 1 }),
  flight_number: Type.Integer(),
  name: Type.String(),
  date_utc: Type.String({ format: 'date-time' }),
  upcoming: Type.Boolean(),
  success: Type.Union([Type.Boolean(), Type.Null()]),
  rocket: Type.Object({ name: Type.String() }),
  payloads: Type.Array(Type.Object({ customers: Type.Array(Type.String()) }))
})

const SpacexLaunchPageSchema = Type.Object({
  docs: Type.Array(SpacexLaunchDocSchema),
  totalDocs: Type.Integer({ minimum: 0 }),
  totalPages: Type.Integer({ minimum: 0 }),
  page: Type.Integer({ minimum: 1 }),
  hasNextPage: Type.Boolean(),
  nextPage: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])
})

export type SpacexLaunchDoc = Static<typeof SpacexLaunchDocSchema>
type SpacexLaunchPage = Static<typeof SpacexLaunchPageSchema>

// Compiled on first use, not when the service loads (every start; most never sync).
let compiledLaunchPage: ReturnType<typeof Compile<typeof SpacexLaunchPageSchema>> | undefined
const launchPage = () => (compiledLaunchPage ??= Compile(SpacexLaunchPageSchema))

export class SpacexApiError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'SpacexApiError'
  }
}

export const PAGE_SIZE = 100
/** 50 pages of 100 is 25 times the whole v4 data set: more means the API stopped paginating. */
export const MAX_PAGES = 50

export interface FetchLaunchesOptions {
  apiUrl: string
  /** Per request, headers and body included. */
  timeoutMs: number
  /** Aborts the request in flight (the app is closing). */
  signal?: AbortSignal
  onPage?(progress: { page: number; totalPages: number; docs: number; totalDocs: number }): void
}

/** Every launch, page by page; throws SpacexApiError before returning anything if a page is bad. */
export async function fetchSpacexLaunches(options: FetchLaunchesOptions): Promise<SpacexLaunchDoc[]> {
  const docs: SpacexLaunchDoc[] = []
  let page = 1
  for (let requested = 1; ; requested++) {
    if (requested > MAX_PAGES) throw new SpacexApiError(`SpaceX API returned more than ${MAX_PAGES} pages of launches`)
    const body = await fetchPage(page, options)
    // The API has been seen ignoring `options.page` (r-spacex/SpaceX-API #1360): without this
    // check that means the first page over and over until the page cap.
    if (body.page !== page) throw new SpacexApiError(`SpaceX API returned page ${body.page} when asked for page ${page}`)
    docs.push(...body.docs)
    options.onPage?.({ page, totalPages: body.totalPages, docs: body.docs.length, totalDocs: body.totalDocs })
    if (!body.hasNextPage) return docs
    if (body.nextPage === null || body.nextPage <= page) {
      throw new SpacexApiError(`SpaceX API reported a next page after page ${page} without a later page number`)
    }
    page = body.nextPage
  }
}

async function fetchPage(page: number, { apiUrl, timeoutMs, signal }: FetchLaunchesOptions): Promise<SpacexLaunchPage> {
  const url = new URL('/v4/launches/query', apiUrl)
  const timeout = AbortSignal.timeout(timeoutMs)
  let text: string
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({
        query: {},
        options: {
          pagination: true,
          page,
          limit: PAGE_SIZE,
          // A fixed order, so launches cannot shift between pages while we walk them.
          sort: { flight_number: 'asc' },
          populate: [
            { path: 'rocket', select: { name: 1 } },
            { path: 'payloads', select: { customers: 1 } }
          ]
        }
      }),
      signal: signal ? AbortSignal.any([timeout, signal]) : timeout
    })
    text = await response.text()
    if (!response.ok) {
      throw new SpacexApiError(`SpaceX API answered ${response.status} ${response.statusText} for page ${page} (${url})`)
    }
  } catch (error) {
    if (error instanceof SpacexApiError) throw error
    if (timeout.aborted) {
      throw new SpacexApiError(`SpaceX API did not answer page ${page} within ${timeoutMs} ms (${url})`, { cause: error })
    }
    if (signal?.aborted) throw new SpacexApiError('SpaceX sync cancelled', { cause: error })
    const reason = (error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message
    throw new SpacexApiError(`SpaceX API request for page ${page} failed: ${reason} (${url})`, { cause: error })
  }
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch (error) {
    throw new SpacexApiError(`SpaceX API sent invalid JSON for page ${page}: ${(error as Error).message}`, { cause: error })
  }
  const check = launchPage()
  if (!check.Check(body)) {
    const [first] = check.Errors(body)
    const where = first ? `${first.instancePath || '(root)'} ${first.message}` : 'unexpected shape'
    throw new SpacexApiError(`SpaceX API sent an unexpected response for page ${page}: ${where}`)
  }
  return body
}
