// Live updates in a real Chromium against the real service: two operators, each in their own
// browser context. What one does shows up in the other's Upcoming, History, yearly chart and planet
// counts without a reload; screen readers hear the other's changes, never their own twice; and the
// status in the masthead goes from Live to Reconnecting… while the service restarts, and back.
import path from 'node:path'
import t from 'tap'
import type { BrowserContext, Page } from 'playwright-core'
import { syncSpacexLaunches } from '../../app/spacex/spacex-sync.js'
import { startFakeSpacex } from '../support/fake-spacex.js'
import { requireNeeds } from '../support/needs.js'
import { launchChromium, SCREENSHOTS, startService } from './service.js'

t.setTimeout(600_000)

await requireNeeds(t, ['chromium'])

const service = await startService(t)
t.comment(`service on ${service.origin} (${service.kind})`)

const browser = await launchChromium(t)

declare global {
  interface Window {
    /** Everything the page's live region said, in order (recorded by the init script below). */
    announced: string[]
    /** Set once by the test: still there afterwards means the page was never reloaded. */
    notReloaded?: boolean
  }
}

async function newContext(): Promise<BrowserContext> {
  const context = await browser.newContext({ baseURL: service.origin, viewport: { width: 1280, height: 900 }, serviceWorkers: 'block', locale: 'en-US', timezoneId: 'UTC' })
  t.teardown(() => context.close())
  await context.addInitScript(() => {
    window.announced = []
    document.addEventListener('DOMContentLoaded', () => {
      const region = document.getElementById('announcer')!
      new MutationObserver(() => {
        if (region.textContent) window.announced.push(region.textContent)
      }).observe(region, { childList: true, characterData: true, subtree: true })
    })
  })
  return context
}

/** A date n days after today (UTC). */
function daysFromToday(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10)
}

async function csrfToken(context: BrowserContext): Promise<string> {
  return (await (await context.request.get('/v1/session')).json()).csrfToken
}

async function liveStatus(page: Page): Promise<string> {
  return page.evaluate(() => `${document.getElementById('live-status')?.dataset.state} ${document.getElementById('live-status')?.textContent}`)
}

async function waitForStatus(page: Page, state: 'live' | 'reconnecting', timeout = 30_000): Promise<void> {
  await page.waitForFunction((state) => document.getElementById('live-status')?.dataset.state === state, state, { timeout })
}

/** A new tab on url, live and done loading. */
async function open(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage()
  await page.goto(url)
  await waitForStatus(page, 'live')
  await page.waitForFunction(() => !document.querySelector('main [aria-busy="true"]'))
  await page.evaluate(() => (window.notReloaded = true))
  return page
}

async function announcements(page: Page): Promise<string[]> {
  return page.evaluate(() => window.announced)
}

// Gene, the admin from the first-run link; Katherine, an operator he invites. Both sign in
// through the API in their own context (the sign-in pages are dashboard.test.ts's subject).
const gene = await newContext()
const katherine = await newContext()
const setupToken = /\/setup\?token=([\w-]+)/.exec(service.output())?.[1]
if (!setupToken) throw new Error(`the service logged no setup link:\n${service.output()}`)
const setup = await gene.request.post('/v1/setup', { data: { token: setupToken, email: 'gene@example.com', name: 'Gene Kranz', password: 'failure is not an option' } })
if (setup.status() !== 201) throw new Error(`setup: ${setup.status()} ${await setup.text()}`)
const invited = await gene.request.post('/v1/operators', { data: { email: 'katherine@example.com', name: 'Katherine Johnson' }, headers: { 'x-csrf-token': await csrfToken(gene) } })
const inviteToken = new URL((await invited.json()).inviteUrl).searchParams.get('token')
const accepted = await katherine.request.post('/v1/invites/accept', { data: { token: inviteToken, password: 'katherine long password' } })
if (accepted.status() !== 200) throw new Error(`invite: ${accepted.status()} ${await accepted.text()}`)

const planets: { keplerName: string; launchCount: number }[] = await (await gene.request.get('/v1/planets')).json()
const target = planets[0]!.keplerName
const mission = `Live Abort ${Date.now().toString(36)}`

async function schedule(context: BrowserContext, name: string, days: number): Promise<number> {
  const response = await context.request.post('/v1/launches', {
    data: { mission: name, rocket: 'Explorer IS1', target, launchDate: daysFromToday(days) },
    headers: { 'x-csrf-token': await csrfToken(context) }
  })
  if (response.status() !== 201) throw new Error(`schedule: ${response.status()} ${await response.text()}`)
  return (await response.json()).flightNumber
}

const flight = await schedule(gene, mission, 30)

t.test("an abort in one operator's browser shows in the other's Upcoming, History, chart and planet counts without a reload", async (t) => {
  const upcoming = await open(gene, '/upcoming')
  await upcoming.locator(`tr[data-key="${flight}"]`).waitFor()

  // History filtered to the mission, with the cursor in the search field: a live update must
  // keep both the typed text and the focus.
  const history = await open(gene, `/history?q=${encodeURIComponent(mission)}`)
  await history.locator('main').getByText('No launches match these filters.').waitFor()
  const chartDescription = async () => (await history.locator('#chart-desc').textContent()) ?? ''
  await history.locator('#chart-desc').waitFor({ state: 'attached' })
  t.match(await chartDescription(), /0 aborted, 1 upcoming/, 'the chart counts the launch as upcoming')
  await history.getByLabel('Search').focus()

  const planetsPage = await open(gene, '/planets')
  const planetCount = async () => Number(await planetsPage.locator(`tr[data-key="${target}"] td[data-label="Launches"]`).textContent())
  await planetsPage.locator(`tr[data-key="${target}"]`).waitFor()
  const before = await planetCount()
  t.equal(before, planets[0]!.launchCount + 1, 'the planet counts the scheduled launch')

  const aborting = await open(katherine, '/upcoming')
  const row = aborting.locator(`tr[data-key="${flight}"]`)
  await row.getByRole('button', { name: `Abort flight ${flight}` }).click()
  await aborting.getByRole('dialog').getByRole('button', { name: 'Abort launch' }).click()
  const started = Date.now()
  await row.waitFor({ state: 'detached' })

  await upcoming.locator(`tr[data-key="${flight}"]`).waitFor({ state: 'detached' })
  t.comment(`abort in one context → gone from the other's Upcoming: ${Date.now() - started} ms`)
  await upcoming.getByText('No launches are scheduled.').waitFor()
  t.pass("gone from the other operator's Upcoming")

  const historyRow = history.locator(`tr[data-key="${flight}"]`)
  await historyRow.waitFor()
  t.equal(await historyRow.locator('td[data-label="Outcome"]').textContent(), '■aborted by Katherine Johnson', "in the other operator's History as aborted")
  await history.waitForFunction(() => /1 aborted, 0 upcoming/.test(document.getElementById('chart-desc')?.textContent ?? ''))
  t.pass('the yearly chart moved the launch from upcoming to aborted')
  t.equal(await history.getByLabel('Search').inputValue(), mission, 'the search text is intact')
  t.equal(await history.evaluate(() => document.activeElement?.id), 'history-search', 'the search field kept the focus')
  await history.screenshot({ path: path.join(SCREENSHOTS, 'live-history.png'), fullPage: true })

  await planetsPage.waitForFunction(
    ([target, count]) => document.querySelector(`tr[data-key="${target}"] td[data-label="Launches"]`)?.textContent === String(count),
    [target, before - 1] as const
  )
  t.pass('the planet launch count went down by one')

  for (const [name, page] of [['Upcoming', upcoming], ['History', history], ['Planets', planetsPage]] as const) {
    t.ok(await page.evaluate(() => window.notReloaded), `${name} was not reloaded`)
  }

  const heard = `Flight ${flight} (${mission}) aborted by Katherine Johnson.`
  await upcoming.waitForFunction((text) => window.announced.includes(text), heard)
  t.pass(`the other operator hears "${heard}"`)
  // Give a late (wrong) announcement of her own abort time to arrive before looking.
  await aborting.waitForTimeout(2000)
  const own = await announcements(aborting)
  t.ok(own.includes(`Flight ${flight} (${mission}) aborted.`), 'the operator who aborted hears her result')
  t.notOk(own.some((text) => text.includes('aborted by')), `and not her own abort again (${JSON.stringify(own)})`)
  await Promise.all([upcoming.close(), history.close(), planetsPage.close(), aborting.close()])
})

t.test("scheduling on the Launch page shows in the other's Upcoming at once and is announced there only", async (t) => {
  const upcoming = await open(gene, '/upcoming')
  await upcoming.waitForFunction(() => !document.querySelector('main [aria-busy="true"]'))

  const launching = await open(katherine, '/launch')
  const name = `Live Schedule ${Date.now().toString(36)}`
  await launching.locator('#field-target:enabled').waitFor()
  await launching.getByLabel('Launch date (UTC)').fill(daysFromToday(45))
  await launching.getByLabel('Mission name').fill(name)
  await launching.getByLabel('Destination').selectOption(target)
  await launching.getByRole('button', { name: 'Schedule launch' }).click()
  const scheduled = Number(await launching.locator('.flight-number').textContent())

  const row = upcoming.locator(`tr[data-key="${scheduled}"]`)
  await row.waitFor()
  t.match(await row.textContent(), /Katherine Johnson/, 'with who scheduled it')
  const heard = `Flight ${scheduled} (${name}) scheduled by Katherine Johnson.`
  await upcoming.waitForFunction((text) => window.announced.includes(text), heard)
  t.pass(`the other operator hears "${heard}"`)
  await launching.waitForTimeout(2000)
  const own = await announcements(launching)
  t.notOk(own.some((text) => text.includes('scheduled by')), `the operator who scheduled it hears only her own result (${JSON.stringify(own)})`)
  t.ok(await upcoming.evaluate(() => window.notReloaded), 'Upcoming was not reloaded')
  await Promise.all([upcoming.close(), launching.close()])
})

t.test('the keyboard position survives live updates: the focused Abort button keeps focus, or its list takes it', async (t) => {
  const first = await schedule(gene, `Focus First ${Date.now().toString(36)}`, 80)
  const second = await schedule(gene, `Focus Second ${Date.now().toString(36)}`, 81)
  const upcoming = await open(gene, '/upcoming')
  const secondButton = upcoming.locator(`tr[data-key="${second}"] button`)
  await secondButton.focus()
  const abort = async (flightNumber: number) => {
    const response = await katherine.request.delete(`/v1/launches/${flightNumber}`, { headers: { 'x-csrf-token': await csrfToken(katherine) } })
    t.equal(response.status(), 200, `flight ${flightNumber} aborted through the API`)
  }

  await abort(first)
  await upcoming.locator(`tr[data-key="${first}"]`).waitFor({ state: 'detached' })
  t.equal(
    await upcoming.evaluate(() => document.activeElement?.getAttribute('aria-label')),
    await secondButton.getAttribute('aria-label'),
    'another row left the list: the Abort button that had focus still has it'
  )

  await abort(second)
  await upcoming.locator(`tr[data-key="${second}"]`).waitFor({ state: 'detached' })
  t.equal(
    await upcoming.evaluate(() => document.activeElement?.closest('section')?.getAttribute('aria-label')),
    'Upcoming launches',
    "the focused button's own row left: focus stays in the list's region, not the page body"
  )
  await upcoming.close()
})

t.test('the pages refetch just after UTC midnight, when launches of the day before become history', async (t) => {
  const context = await newContext()
  // A fake clock (Date and timers, not the network), a minute before midnight, then paused 10 s
  // before it once the page is live: from there only runFor moves it.
  const midnight = Math.ceil(Date.now() / 86_400_000) * 86_400_000
  await context.clock.install({ time: midnight - 60_000 })
  const page = await open(context, '/upcoming')
  await page.clock.pauseAt(midnight - 10_000)
  await page.clock.runFor(1000) // the refetch a new stream starts with, if still pending
  await page.waitForTimeout(500)
  let fetched = 0
  page.on('request', (request) => {
    if (request.url().includes('/v1/launches?')) fetched++
  })
  await page.clock.runFor(5000)
  await page.waitForTimeout(500)
  t.equal(fetched, 0, 'nothing is fetched in the seconds before midnight')
  await page.clock.runFor(6000)
  await page.waitForTimeout(500)
  t.equal(fetched, 1, 'Upcoming refetched once, just after midnight')
  await context.close()
})

t.test('a SpaceX sync elsewhere updates History and the chart, and is announced once, as a summary', async (t) => {
  const spacex = await startFakeSpacex(t)
  const history = await open(gene, '/history')
  const chartBars = () => history.locator('.chart rect').count()
  const barsBefore = await chartBars()
  // On PostgreSQL the sync writes while the service runs and its LISTEN session hears it; on PGlite
  // the service is stopped for it, and the browser's reconnect (Last-Event-ID) replays what it missed.
  let counts = { inserted: 0, updated: 0 }
  await service.writeDatabase(async (db) => {
    counts = await syncSpacexLaunches(db, { apiUrl: spacex.url, timeoutMs: 10_000 })
  })
  t.ok(counts.inserted > 0, `the sync inserted ${counts.inserted} launches`)
  const total = Number((await gene.request.get('/v1/launches?upcoming=false&limit=1')).headers()['x-total-count'])
  await history.getByText(`Showing 1–${Math.min(total, 50)} of ${total} launches`, { exact: true }).waitFor({ timeout: 60_000 })
  t.pass(`History shows the ${total} past launches without a reload`)
  await history.waitForFunction((count) => document.querySelectorAll('.chart rect').length > count, barsBefore)
  t.ok((await chartBars()) > barsBefore, 'the chart has bars for the synced years')
  const summary = `SpaceX sync: ${counts.inserted} new and ${counts.updated} updated launches.`
  await history.waitForFunction((text) => window.announced.includes(text), summary)
  await history.waitForTimeout(1500)
  const said = await announcements(history)
  t.equal(said.filter((text) => text.startsWith('SpaceX sync')).length, 1, `"${summary}" once`)
  t.notOk(said.some((text) => text.includes('launches changed') || text.includes('synced')), 'and no word per synced launch')
  t.ok(await history.evaluate(() => window.notReloaded), 'History was not reloaded')
  await history.close()
})

t.test('the status shows Reconnecting… while the service restarts, then Live, and changes flow again', async (t) => {
  const upcoming = await open(gene, '/upcoming')
  t.match(await liveStatus(upcoming), /^live Live$/)
  t.equal(await upcoming.getByRole('status').filter({ hasText: 'Live' }).count(), 1, 'the status is a role=status region')

  let reconnecting = ''
  await service.restart(async () => {
    await waitForStatus(upcoming, 'reconnecting')
    reconnecting = await liveStatus(upcoming)
    await upcoming.screenshot({ path: path.join(SCREENSHOTS, 'live-reconnecting.png') })
  })
  t.equal(reconnecting, 'reconnecting Reconnecting…', 'Reconnecting… while the service is down')
  const back = Date.now()
  await waitForStatus(upcoming, 'live', 60_000)
  t.comment(`Live again ${Date.now() - back} ms after the service was healthy`)
  t.pass('Live again once the service is back')

  const after = await schedule(katherine, `After Restart ${Date.now().toString(36)}`, 60)
  await upcoming.locator(`tr[data-key="${after}"]`).waitFor()
  t.pass('a change after the restart arrives without a reload')
  t.ok(await upcoming.evaluate(() => window.notReloaded), 'Upcoming was not reloaded')
})

t.test('after a 503 (the stream cap) the browser gives up on the stream; the dashboard opens a new one', async (t) => {
  const context = await newContext()
  let refused = 0
  await context.route('**/v1/events', (route) => {
    if (refused++ < 2) return route.fulfill({ status: 503, headers: { 'retry-after': '1' }, contentType: 'application/json', body: '{"error":"Too many streams","code":"STREAMS_FULL"}' })
    return route.continue()
  })
  const page = await context.newPage()
  await page.goto('/upcoming')
  await waitForStatus(page, 'reconnecting')
  t.equal(await page.locator('#live-status').textContent(), 'Reconnecting…', 'Reconnecting… after the refusal')
  await waitForStatus(page, 'live', 15_000)
  t.equal(refused, 3, 'two refused streams, then a third that opened')
  const flightNumber = await schedule(katherine, `After 503 ${Date.now().toString(36)}`, 70)
  await page.locator(`tr[data-key="${flightNumber}"]`).waitFor()
  t.pass('and changes arrive on it')
})
