// Launches per year, stacked by outcome, drawn as SVG (no library, no inline styles: classes only).
import type { Outcome, YearStats } from './api.js'
import { h, svg } from './dom.js'
import { formatNumber } from './ui.js'

const SERIES: { outcome: Outcome; label: string }[] = [
  { outcome: 'success', label: 'Success' },
  { outcome: 'failure', label: 'Failure' },
  { outcome: 'unknown', label: 'Unknown' },
  { outcome: 'aborted', label: 'Aborted' },
  { outcome: 'upcoming', label: 'Upcoming' }
]

const WIDTH = 720
const HEIGHT = 240
const MARGIN = { top: 10, right: 8, bottom: 30, left: 72 }
const MAX_BAR_WIDTH = 48

/** The smallest 1, 2 or 5 × 10ⁿ at or above value, so the axis ends on a round number. */
function niceCeiling(value: number): number {
  if (value <= 1) return 1
  const magnitude = 10 ** Math.floor(Math.log10(value))
  const step = [1, 2, 5, 10].find((factor) => factor * magnitude >= value) ?? 10
  return step * magnitude
}

// Axis ticks stay short (1.5K, 10K) so they fit the margin at phone size too.
const compact = new Intl.NumberFormat('en-US', { notation: 'compact' })

const total = (year: YearStats) => SERIES.reduce((sum, { outcome }) => sum + year[outcome], 0)

export function yearChart(years: YearStats[]): HTMLElement {
  const sorted = [...years].sort((a, b) => a.year - b.year)
  const max = niceCeiling(Math.max(...sorted.map(total)))
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom
  const slot = plotWidth / sorted.length
  const barWidth = Math.min(MAX_BAR_WIDTH, Math.max(2, slot * 0.7))
  const y = (value: number) => MARGIN.top + plotHeight - (value / max) * plotHeight
  // At most ~8 year labels, so they stay apart even when enlarged on a phone (styles.css).
  const labelEvery = Math.ceil(sorted.length / 8)

  const ticks = [0, max / 2, max].map((value) =>
    svg(
      'g',
      {},
      svg('line', { class: 'axis', x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(value), y2: y(value) }),
      svg('text', { class: 'tick', x: MARGIN.left - 6, y: y(value) + 3, 'text-anchor': 'end' }, compact.format(value))
    )
  )

  const bars = sorted.map((year, index) => {
    const x = MARGIN.left + index * slot + (slot - barWidth) / 2
    let base = 0
    const segments = SERIES.filter(({ outcome }) => year[outcome] > 0).map(({ outcome }) => {
      const top = base + year[outcome]
      const rect = svg('rect', { class: `bar-${outcome}`, x, width: barWidth, y: y(top), height: Math.max(0, y(base) - y(top)) })
      base = top
      return rect
    })
    const details = SERIES.filter(({ outcome }) => year[outcome] > 0).map(({ outcome, label }) => `${formatNumber(year[outcome])} ${label.toLowerCase()}`)
    return svg(
      'g',
      {},
      svg('title', {}, `${year.year}: ${formatNumber(total(year))} launches (${details.join(', ')})`),
      ...segments,
      index % labelEvery === 0 ? svg('text', { class: 'tick', x: x + barWidth / 2, y: HEIGHT - 6, 'text-anchor': 'middle' }, String(year.year)) : null
    )
  })

  const totals = SERIES.map(({ outcome, label }) => `${formatNumber(sorted.reduce((sum, year) => sum + year[outcome], 0))} ${label.toLowerCase()}`)
  const first = sorted[0]!.year
  const last = sorted[sorted.length - 1]!.year
  return h(
    'figure',
    { class: 'chart' },
    svg(
      'svg',
      { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'aria-labelledby': 'chart-title chart-desc' },
      svg('title', { id: 'chart-title' }, 'Launches per year by outcome'),
      svg('desc', { id: 'chart-desc' }, `${first} to ${last}: ${totals.join(', ')}.`),
      ...ticks,
      ...bars
    ),
    h(
      'ul',
      { class: 'legend', 'aria-hidden': 'true' },
      ...SERIES.map(({ outcome, label }) => h('li', {}, h('span', { class: `swatch bar-${outcome}` }), label))
    )
  )
}
