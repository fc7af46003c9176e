// Live updates: one EventSource on GET /v1/events for the whole dashboard. Pages say what to refetch
// when anything changes (onLiveChange), the masthead shows whether the stream is live, and changes
// made elsewhere (another operator, another tab, the SpaceX sync) are announced politely.
import type { Launch } from './api.js'
import { announce } from './announce.js'

interface LaunchChange {
  change: 'scheduled' | 'aborted' | 'synced'
  launch: Launch
}

interface SyncCounts {
  inserted: number
  updated: number
}

interface PlanetsImport {
  planets: number
}

type Status = 'connecting' | 'live' | 'reconnecting'

const STATUS_TEXT: Record<Status, string> = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…' }

/**
 * Changes that arrive together (a SpaceX sync sends one event per launch) become one refetch, 100
 * to 300 ms after the first: spread at random, so every open dashboard does not ask at once…
 */
const BATCH_MS = 100
const BATCH_SPREAD_MS = 200
/** …and a busy feed refetches at most once a second, whatever its rate. */
const MIN_REFRESH_INTERVAL_MS = 1000
/** Announcements wait a little: for the refetch to draw, and for this tab's own writes to answer. */
const NEWS_DELAY_MS = 800
/** A new stream after the browser gave up (HTTP error): 1 s, 2 s, 4 s … up to 30 s, jittered. */
const RETRY_FLOOR_MS = 1000
const RETRY_CEILING_MS = 30_000

const listeners = new Set<() => void>()
let refreshTimer: ReturnType<typeof setTimeout> | undefined
let lastRefresh = -Infinity
let missedWhileHidden = false

/** Calls refetch after changes, while the page is shown (until signal aborts). */
export function onLiveChange(signal: AbortSignal, refetch: () => void): void {
  listeners.add(refetch)
  signal.addEventListener('abort', () => listeners.delete(refetch))
}

function changed(): void {
  if (refreshTimer !== undefined) return
  const batch = BATCH_MS + Math.random() * BATCH_SPREAD_MS
  refreshTimer = setTimeout(refresh, Math.max(batch, lastRefresh + MIN_REFRESH_INTERVAL_MS - performance.now()))
}

function refresh(): void {
  refreshTimer = undefined
  // A hidden tab refetches nothing; it catches up once when it is shown again.
  if (document.visibilityState === 'hidden') {
    missedWhileHidden = true
    return
  }
  lastRefresh = performance.now()
  for (const listener of listeners) listener()
}

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && missedWhileHidden) {
    missedWhileHidden = false
    changed()
  }
})

// This tab's own writes. Their feed events come back on the stream, sometimes before the write's
// own answer; the page has announced the result already, so those events are not news.
const ownFlights = new Set<number>()
let ownWritesInFlight = 0

/** Runs one of this tab's writes about a launch (api.ts): its event on the stream is not announced. */
export async function ownWrite<T>(write: Promise<T>, flightNumberOf: (result: T) => number): Promise<T> {
  ownWritesInFlight++
  try {
    const result = await write
    ownFlights.add(flightNumberOf(result))
    return result
  } finally {
    ownWritesInFlight--
    scheduleNews()
  }
}

let heardLaunches: LaunchChange[] = []
let otherNews: string[] = []
let newsTimer: ReturnType<typeof setTimeout> | undefined

function scheduleNews(): void {
  if (newsTimer === undefined && (heardLaunches.length > 0 || otherNews.length > 0)) newsTimer = setTimeout(tellNews, NEWS_DELAY_MS)
}

function describe({ change, launch }: LaunchChange): string {
  const by = change === 'aborted' ? launch.abortedBy : launch.scheduledBy
  return `Flight ${launch.flightNumber} (${launch.mission}) ${change}${by ? ` by ${by}` : ''}.`
}

function tellNews(): void {
  newsTimer = undefined
  // Until this tab's writes have answered, an event may still turn out to be our own.
  if (ownWritesInFlight > 0) return
  const launches = heardLaunches.filter(({ launch }) => !ownFlights.has(launch.flightNumber))
  const news = otherNews
  heardLaunches = []
  otherNews = []
  if (launches.length === 1) news.unshift(describe(launches[0]!))
  if (launches.length > 1) {
    const aborted = launches.filter(({ change }) => change === 'aborted').length
    news.unshift(`${launches.length} launches changed: ${launches.length - aborted} scheduled, ${aborted} aborted.`)
  }
  if (news.length > 0) announce(news.join(' '))
}

function receive(event: MessageEvent<string>): void {
  let data: unknown
  try {
    data = JSON.parse(event.data)
  } catch {
    data = undefined
  }
  if (event.type === 'launch' && data) {
    const heard = data as LaunchChange
    // Synced launches are summed up by the sync event that follows them.
    if (heard.change !== 'synced') heardLaunches.push(heard)
  } else if (event.type === 'sync' && data) {
    const { inserted, updated } = data as SyncCounts
    if (inserted + updated > 0) otherNews.push(`SpaceX sync: ${inserted} new and ${updated} updated launches.`)
  } else if (event.type === 'planets' && data) {
    otherNews.push(`Planet catalogue imported: ${(data as PlanetsImport).planets} habitable planets.`)
  }
  // reset (the feed no longer holds what this tab missed), or anything unreadable: refetch all.
  changed()
  scheduleNews()
}

let status: Status | undefined
function setStatus(next: Status): void {
  if (next === status) return
  status = next
  const element = document.getElementById('live-status')
  if (!element) return
  element.dataset.state = next
  const text = element.querySelector('.live-text')
  if (text) text.textContent = STATUS_TEXT[next]
}

let failures = 0
/** The feed id of the last event received: a new stream resumes there (`?lastEventId=`). */
let lastEventId = ''

function connect(): void {
  // EventSource cannot set Last-Event-ID on a stream it did not open itself; the query can.
  const resumeFrom = lastEventId
  const source = new EventSource(resumeFrom ? `/v1/events?lastEventId=${encodeURIComponent(resumeFrom)}` : '/v1/events')
  let opened = false
  source.addEventListener('open', () => {
    failures = 0
    setStatus('live')
    // A stream that cannot resume (the first one, or one after a stream that received nothing)
    // starts from now: whatever changed since the page fetched is refetched once. The others
    // replay what was missed (or send reset), and so do the browser's own reconnects.
    if (!opened && !resumeFrom) changed()
    opened = true
  })
  source.addEventListener('error', () => {
    setStatus('reconnecting')
    // CONNECTING: the browser reconnects by itself (after the server's retry: hint).
    if (source.readyState !== EventSource.CLOSED) return
    // CLOSED: it gave up after an HTTP error (503 past the stream cap, a proxy's 502 during a
    // deploy). A fresh stream, after a growing, jittered pause so instances are not stampeded.
    const ceiling = Math.min(RETRY_CEILING_MS, RETRY_FLOOR_MS * 2 ** failures++)
    setTimeout(connect, ceiling / 2 + Math.random() * (ceiling / 2))
  })
  const onEvent = (event: MessageEvent<string>) => {
    if (event.lastEventId) lastEventId = event.lastEventId
    receive(event)
  }
  for (const type of ['launch', 'sync', 'planets', 'reset']) source.addEventListener(type, onEvent)
}

const DAY_MS = 86_400_000

/**
 * Upcoming and past are split by the UTC day (a launch whose day has passed is history), and the
 * day turns without an event on the feed: refetch just after each UTC midnight too.
 */
function refetchEachDay(): void {
  const now = Date.now()
  setTimeout(() => {
    changed()
    refetchEachDay()
  }, Math.ceil((now + 1) / DAY_MS) * DAY_MS + 1000 - now)
}

/** Opens the one stream (main.ts, once). */
export function startLive(): void {
  setStatus('connecting')
  connect()
  refetchEachDay()
}
