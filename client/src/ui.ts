// Widgets shared by the pages: headings, notices with retry, outcome badges, tables and paging.
import type { Outcome } from './api.js'
import { ApiError } from './api.js'
import { h } from './dom.js'

export interface Page {
  title: string
  /** Draws the page into main; the signal aborts when the user leaves (stop timers there). */
  render(main: HTMLElement, signal: AbortSignal): void
}

const numberFormats = new Map<number, Intl.NumberFormat>()

export function formatNumber(value: number | null, fractionDigits = 0): string {
  if (value === null) return '—'
  let format = numberFormats.get(fractionDigits)
  if (!format) {
    format = new Intl.NumberFormat('en-US', { minimumFractionDigits: fractionDigits, maximumFractionDigits: fractionDigits })
    numberFormats.set(fractionDigits, format)
  }
  return format.format(value)
}

/** Dates as YYYY-MM-DD in UTC: launch dates are days, and columns of them line up. */
export function formatDate(iso: string): string {
  return iso.slice(0, 10)
}

export function todayUtc(): string {
  return new Date().toISOString().slice(0, 10)
}

export function pageHeader(title: string, intro: string): HTMLElement {
  return h('header', {}, h('h1', { tabindex: -1 }, title), h('p', { class: 'page-intro' }, intro))
}

export function loadingNotice(text: string): HTMLElement {
  return h('p', { class: 'muted', 'aria-busy': 'true' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), text)
}

export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message
  return 'Something went wrong in the page. Reload to try again.'
}

/** A failure the user can see and act on: the message and a Retry button, never an empty table. */
export function errorNotice(what: string, error: unknown, retry: () => void): HTMLElement {
  return h(
    'div',
    { class: 'notice error', role: 'alert' },
    h('p', {}, `${what}: ${errorMessage(error)}`),
    h('div', { class: 'actions' }, h('button', { type: 'button', onclick: retry }, 'Retry'))
  )
}

export function notice(...children: (Node | string)[]): HTMLElement {
  return h('div', { class: 'notice' }, ...children)
}

const OUTCOME_SYMBOL: Record<Outcome, string> = {
  success: '✓',
  failure: '✗',
  aborted: '■',
  unknown: '?',
  upcoming: '↑'
}

export function outcomeBadge(outcome: Outcome): HTMLElement {
  return h('span', { class: `outcome outcome-${outcome}` }, h('span', { 'aria-hidden': 'true' }, OUTCOME_SYMBOL[outcome]), outcome)
}

export interface Column<Row> {
  label: string
  numeric?: boolean
  cell(row: Row): Node | string
}

/** A table that turns into labelled cards on narrow screens (see `.responsive` in styles.css). */
export function dataTable<Row>(caption: string, columns: Column<Row>[], rows: Row[], rowKey: (row: Row) => string): HTMLTableElement {
  const numeric = (column: Column<Row>) => (column.numeric ? 'num' : null)
  return h(
    'table',
    { class: 'responsive' },
    h('caption', { class: 'visually-hidden' }, caption),
    h('thead', {}, h('tr', {}, ...columns.map((column) => h('th', { scope: 'col', class: numeric(column) }, column.label)))),
    h(
      'tbody',
      {},
      ...rows.map((row) =>
        h(
          'tr',
          { 'data-key': rowKey(row) },
          ...columns.map((column) => h('td', { 'data-label': column.label, class: numeric(column) }, column.cell(row)))
        )
      )
    )
  )
}

/** Page controls: "Page 3 of 200" with first, previous, next and last buttons. */
export function pager(page: number, pageCount: number, onPage: (page: number) => void): HTMLElement {
  const button = (label: string, target: number, text: string) =>
    h('button', { type: 'button', 'aria-label': label, disabled: target === page || target < 1 || target > pageCount, onclick: () => onPage(target) }, text)
  return h(
    'nav',
    { class: 'pager', 'aria-label': 'Pages' },
    h('span', {}, `Page ${formatNumber(page)} of ${formatNumber(pageCount)}`),
    h(
      'div',
      { class: 'pager-buttons' },
      button('First page', 1, '«'),
      button('Previous page', page - 1, '‹ Prev'),
      button('Next page', page + 1, 'Next ›'),
      button('Last page', pageCount, '»')
    )
  )
}

/** How a control is found again in redrawn content: its row's key and its label. */
function identify(element: Element): string {
  return `${element.tagName} ${element.closest('[data-key]')?.getAttribute('data-key') ?? ''} ${element.getAttribute('aria-label') ?? element.textContent}`
}

/**
 * Redraws a region (a live update, a refresh) without losing the keyboard position: the control
 * that had focus gets it back in the new content; if it is gone (its row left the list, the
 * button is disabled now), the region itself takes focus rather than the page's body.
 */
export function replaceKeepingFocus(region: HTMLElement, ...children: (Node | string)[]): void {
  const active = document.activeElement
  if (!active || active === region || !region.contains(active)) {
    region.replaceChildren(...children)
    return
  }
  const wanted = identify(active)
  region.replaceChildren(...children)
  const again = [...region.querySelectorAll<HTMLElement>(active.tagName)].find((candidate) => identify(candidate) === wanted && !candidate.matches(':disabled'))
  if (again) return again.focus()
  region.tabIndex = -1
  region.focus()
}
