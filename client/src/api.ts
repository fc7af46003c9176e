// The v1 API as the dashboard uses it. Every failure becomes an ApiError the pages can show.
// The wire types come from the service's own route schemas (type-only: nothing is bundled).
import type { Launch, LaunchOutcome, LaunchStats, ScheduleLaunchBody } from '../../app/launches/launch-schemas.js'
import type { Planet } from '../../app/planets/planet-schemas.js'
import { ownWrite } from './live.js'

export type { Launch, Planet }
export type Outcome = LaunchOutcome
export type YearStats = LaunchStats['years'][number]
export type NewLaunch = ScheduleLaunchBody

export interface LaunchQuery {
  page: number
  limit: number
  upcoming?: boolean
  outcome?: Outcome
  q?: string
  order?: 'asc' | 'desc'
}

export interface LaunchPage {
  launches: Launch[]
  total: number
}

const TIMEOUT_MS = 15_000

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The request property the error concerns, so the form can show it beside that field. */
    readonly field?: string
  ) {
    super(message)
  }
}

/** The signed-in session's CSRF token (session.ts sets it): sent with every unsafe request. */
let csrfToken: string | null = null
export function useCsrfToken(token: string | null): void {
  csrfToken = token
}

export async function call<T>(method: string, url: string, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<{ data: T; headers: Headers }> {
  let response: Response
  const headers: Record<string, string> = { accept: 'application/json', ...extraHeaders }
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (csrfToken && method !== 'GET') headers['x-csrf-token'] = csrfToken
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? null : JSON.stringify(body),
      signal: AbortSignal.timeout(TIMEOUT_MS)
    })
  } catch (error) {
    if ((error as Error).name === 'TimeoutError') throw new ApiError(0, 'TIMEOUT', 'The server did not answer in time.')
    throw new ApiError(0, 'NETWORK', 'Cannot reach the server. Check the connection.')
  }
  const payload: unknown = await response.json().catch(() => undefined)
  if (!response.ok) {
    const error = payload as { error?: string; code?: string; field?: string } | undefined
    throw new ApiError(
      response.status,
      error?.code ?? 'HTTP_' + response.status,
      error?.error ?? `The server answered HTTP ${response.status}.`,
      error?.field
    )
  }
  if (payload === undefined) throw new ApiError(response.status, 'INVALID_RESPONSE', 'The server sent an unreadable answer.')
  return { data: payload as T, headers: response.headers }
}

function launchQueryString(query: LaunchQuery): string {
  const params = new URLSearchParams({ page: String(query.page), limit: String(query.limit) })
  if (query.upcoming !== undefined) params.set('upcoming', String(query.upcoming))
  if (query.outcome) params.set('outcome', query.outcome)
  if (query.q) params.set('q', query.q)
  if (query.order) params.set('order', query.order)
  return params.toString()
}

export const api = {
  planets: async () => (await call<Planet[]>('GET', '/v1/planets')).data,
  launches: async (query: LaunchQuery): Promise<LaunchPage> => {
    const { data, headers } = await call<Launch[]>('GET', `/v1/launches?${launchQueryString(query)}`)
    return { launches: data, total: Number(headers.get('x-total-count') ?? data.length) }
  },
  stats: async () => (await call<{ years: YearStats[] }>('GET', '/v1/launches/stats')).data.years,
  /** `idempotencyKey` names one intended launch: resending it (a retry after a lost answer) never creates a second. */
  schedule: (launch: NewLaunch, idempotencyKey: string) =>
    ownWrite(
      call<Launch>('POST', '/v1/launches', launch, { 'idempotency-key': idempotencyKey }).then(({ data }) => data),
      (scheduled) => scheduled.flightNumber
    ),
  abort: async (flightNumber: number) => {
    await ownWrite(call<{ ok: true }>('DELETE', `/v1/launches/${flightNumber}`), () => flightNumber)
  }
}
