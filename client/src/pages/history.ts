// History: past and aborted launches, paged by the server (so 10,000 rows cost one page of DOM),
// filtered by outcome and text, with the per-year chart. Filters live in the URL, so they survive
// a reload and can be shared. List and chart are redrawn in place when launches change (live.ts).
import { api, type Launch, type LaunchPage, type Outcome } from '../api.js'
import { announce } from '../announce.js'
import { yearChart } from '../chart.js'
import { h } from '../dom.js'
import { onLiveChange } from '../live.js'
import { dataTable, errorNotice, formatDate, formatNumber, loadingNotice, notice, outcomeBadge, pageHeader, pager, replaceKeepingFocus, type Column, type Page } from '../ui.js'

const PAGE_SIZE = 50
const SEARCH_DELAY_MS = 250
const PAST_OUTCOMES: Outcome[] = ['success', 'failure', 'aborted', 'unknown']

interface Filters {
  outcome: Outcome | ''
  q: string
  page: number
}

function readFilters(): Filters {
  const params = new URLSearchParams(location.search)
  const outcome = params.get('outcome') as Outcome | null
  const page = Number.parseInt(params.get('page') ?? '1', 10)
  return {
    outcome: outcome && PAST_OUTCOMES.includes(outcome) ? outcome : '',
    q: params.get('q') ?? '',
    page: Number.isFinite(page) && page >= 1 ? page : 1
  }
}

function writeFilters(filters: Filters): void {
  const params = new URLSearchParams()
  if (filters.outcome) params.set('outcome', filters.outcome)
  if (filters.q) params.set('q', filters.q)
  if (filters.page > 1) params.set('page', String(filters.page))
  const search = params.toString()
  history.replaceState(null, '', search ? `/history?${search}` : '/history')
}

const columns: Column<Launch>[] = [
  { label: 'No.', numeric: true, cell: (launch) => String(launch.flightNumber) },
  { label: 'Date', cell: (launch) => h('time', { datetime: launch.launchDate }, formatDate(launch.launchDate)) },
  { label: 'Mission', cell: (launch) => launch.mission },
  { label: 'Rocket', cell: (launch) => launch.rocket },
  { label: 'Customers', cell: (launch) => (launch.customers.length > 0 ? launch.customers.join(', ') : '—') },
  { label: 'Outcome', cell: (launch) => (launch.abortedBy ? h('span', {}, outcomeBadge(launch.outcome), ` by ${launch.abortedBy}`) : outcomeBadge(launch.outcome)) }
]

function notSyncedNotice(): HTMLElement {
  return notice(
    h('strong', {}, 'No launch history yet. '),
    'The SpaceX launch history has not been synced: the service syncs it when it starts (unless ',
    h('code', {}, 'SPACEX_SYNC_ON_START=false'),
    '), or an operator can run ',
    h('code', {}, 'npm run spacex:sync'),
    '. Launches scheduled here appear once they are aborted or their date has passed.'
  )
}

export const historyPage: Page = {
  title: 'History',
  render(main, signal) {
    const filters = readFilters()
    const chartPanel = h('section', { class: 'panel', 'aria-labelledby': 'chart-heading' })
    const summary = h('p', { class: 'muted' })
    const results = h('div', {}, loadingNotice('Loading launch history…'))

    const outcomeSelect = h(
      'select',
      { id: 'history-outcome', name: 'outcome' },
      h('option', { value: '' }, 'All outcomes'),
      ...PAST_OUTCOMES.map((outcome) => h('option', { value: outcome }, outcome[0]!.toUpperCase() + outcome.slice(1)))
    )
    outcomeSelect.value = filters.outcome
    const searchInput = h('input', { id: 'history-search', name: 'q', type: 'search', value: filters.q, placeholder: 'Mission, rocket, customer…', autocomplete: 'off' })

    let loadCount = 0
    /** What the list shows (JSON of filters and answer): a live update that changes nothing redraws nothing. */
    let shown: string | undefined
    /** quiet: a live update, which redraws only what changed and announces nothing itself. */
    const fetchAndShow = async (quiet: boolean): Promise<void> => {
      const ticket = ++loadCount
      writeFilters(filters)
      if (!quiet) results.setAttribute('aria-busy', 'true')
      let result: LaunchPage
      try {
        result = await api.launches({
          upcoming: false,
          order: 'desc',
          page: filters.page,
          limit: PAGE_SIZE,
          ...(filters.outcome ? { outcome: filters.outcome } : {}),
          ...(filters.q ? { q: filters.q } : {})
        })
      } catch (error) {
        if (signal.aborted || ticket !== loadCount) return
        results.removeAttribute('aria-busy')
        summary.textContent = ''
        shown = undefined
        replaceKeepingFocus(results, errorNotice('Could not load the launch history', error, () => void load()))
        return
      }
      if (signal.aborted || ticket !== loadCount) return
      results.removeAttribute('aria-busy')
      const pageCount = Math.max(1, Math.ceil(result.total / PAGE_SIZE))
      if (filters.page > pageCount) {
        filters.page = pageCount
        return fetchAndShow(quiet)
      }
      const drawn = JSON.stringify([filters, result])
      if (quiet && drawn === shown) return
      shown = drawn
      if (result.total === 0) {
        const filtered = Boolean(filters.outcome || filters.q)
        summary.textContent = ''
        replaceKeepingFocus(
          results,
          filtered
            ? notice('No launches match these filters. ', h('button', { type: 'button', onclick: clearFilters }, 'Clear filters'))
            : notSyncedNotice()
        )
        if (!quiet) announce(filtered ? 'No launches match these filters.' : 'No launch history yet.')
        return
      }
      const first = (filters.page - 1) * PAGE_SIZE + 1
      const last = first + result.launches.length - 1
      const text = `Showing ${formatNumber(first)}–${formatNumber(last)} of ${formatNumber(result.total)} ${result.total === 1 ? 'launch' : 'launches'}`
      summary.textContent = text
      replaceKeepingFocus(
        results,
        dataTable('Launch history', columns, result.launches, (launch) => String(launch.flightNumber)),
        pager(filters.page, pageCount, (target) => {
          filters.page = target
          void load()
        })
      )
      if (!quiet) announce(`${text}, page ${filters.page} of ${pageCount}.`)
    }
    // A live update waits for the load in flight, so it never overtakes (and silences) the one the
    // user asked for; a newer user load makes a live one's answer stale (loadCount).
    let loading: Promise<void> = Promise.resolve()
    const load = (quiet = false) => (loading = fetchAndShow(quiet))

    const clearFilters = () => {
      filters.outcome = ''
      filters.q = ''
      filters.page = 1
      outcomeSelect.value = ''
      searchInput.value = ''
      void load()
    }

    outcomeSelect.addEventListener('change', () => {
      filters.outcome = outcomeSelect.value as Filters['outcome']
      filters.page = 1
      void load()
    })
    let searchTimer: ReturnType<typeof setTimeout> | undefined
    const search = () => {
      clearTimeout(searchTimer)
      filters.q = searchInput.value.trim()
      filters.page = 1
      void load()
    }
    searchInput.addEventListener('input', () => {
      clearTimeout(searchTimer)
      searchTimer = setTimeout(search, SEARCH_DELAY_MS)
    })
    signal.addEventListener('abort', () => clearTimeout(searchTimer))

    const heading = h('h2', { id: 'chart-heading' }, 'Launches per year')
    let chartShown: string | undefined
    let chartCount = 0
    const loadChart = async (quiet = false) => {
      const ticket = ++chartCount
      if (!quiet) replaceKeepingFocus(chartPanel, heading, loadingNotice('Loading the yearly counts…'))
      try {
        const years = await api.stats()
        if (signal.aborted || ticket !== chartCount) return
        const drawn = JSON.stringify(years)
        if (quiet && drawn === chartShown) return
        chartShown = drawn
        replaceKeepingFocus(chartPanel, heading, years.length > 0 ? yearChart(years) : h('p', { class: 'muted' }, 'No launches to chart yet.'))
      } catch (error) {
        if (signal.aborted || ticket !== chartCount) return
        chartShown = undefined
        replaceKeepingFocus(chartPanel, heading, errorNotice('Could not load the yearly counts', error, () => void loadChart()))
      }
    }
    onLiveChange(signal, () => {
      void loadChart(true)
      void loading.then(() => load(true))
    })

    main.append(
      pageHeader('Launch history', 'Past and aborted launches, from SpaceX and from mission control, newest first.'),
      chartPanel,
      h(
        'section',
        { class: 'panel', 'aria-label': 'Launches' },
        h(
          'form',
          { class: 'toolbar', role: 'search', onsubmit: (event: Event) => (event.preventDefault(), search()) },
          h('div', { class: 'field' }, h('label', { for: 'history-outcome' }, 'Outcome'), outcomeSelect),
          h('div', { class: 'field' }, h('label', { for: 'history-search' }, 'Search'), searchInput)
        ),
        summary,
        results
      )
    )
    void loadChart()
    void load()
  }
}
