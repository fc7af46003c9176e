// Planets: the habitable catalogue with its key figures and how many launches target each planet,
// redrawn in place when launches or the catalogue change (live.ts).
import { api, type Planet } from '../api.js'
import { announce } from '../announce.js'
import { h } from '../dom.js'
import { onLiveChange } from '../live.js'
import { dataTable, errorNotice, formatNumber, loadingNotice, notice, pageHeader, replaceKeepingFocus, type Column, type Page } from '../ui.js'

const columns: Column<Planet>[] = [
  { label: 'Planet', cell: (planet) => planet.keplerName },
  { label: 'Radius (R⊕)', numeric: true, cell: (planet) => formatNumber(planet.radiusEarth, 2) },
  { label: 'Insolation (S⊕)', numeric: true, cell: (planet) => formatNumber(planet.insolationEarth, 2) },
  { label: 'Orbital period (days)', numeric: true, cell: (planet) => formatNumber(planet.orbitalPeriodDays, 1) },
  { label: 'Star temp. (K)', numeric: true, cell: (planet) => formatNumber(planet.starTempK) },
  { label: 'Launches', numeric: true, cell: (planet) => formatNumber(planet.launchCount) }
]

export const planetsPage: Page = {
  title: 'Planets',
  render(main, signal) {
    const content = h('section', { class: 'panel', 'aria-label': 'Planet catalogue' }, loadingNotice('Loading the planet catalogue…'))
    let shown: string | undefined
    let loadCount = 0
    /** quiet: a live update, which redraws only what changed and announces nothing itself. */
    const load = async (quiet = false) => {
      const ticket = ++loadCount
      if (!quiet) replaceKeepingFocus(content, loadingNotice('Loading the planet catalogue…'))
      try {
        const planets = await api.planets()
        if (signal.aborted || ticket !== loadCount) return
        const drawn = JSON.stringify(planets)
        if (quiet && drawn === shown) return
        shown = drawn
        if (planets.length === 0) {
          replaceKeepingFocus(
            content,
            notice(
              h('strong', {}, 'The planet catalogue is empty. '),
              'An operator can import the habitable planets from the NASA Exoplanet Archive with ',
              h('code', {}, 'npm run planets:import'),
              '; the list appears here as soon as the import finishes.'
            )
          )
          if (!quiet) announce('The planet catalogue is empty.')
          return
        }
        replaceKeepingFocus(content, dataTable('Habitable planets', columns, planets, (planet) => planet.keplerName))
        if (!quiet) announce(`${planets.length} habitable planets.`)
      } catch (error) {
        if (signal.aborted || ticket !== loadCount) return
        shown = undefined
        replaceKeepingFocus(content, errorNotice('Could not load the planets', error, () => void (loading = load())))
      }
    }
    // A live update never overtakes the load in flight (it would silence its announcement).
    let loading: Promise<void> = Promise.resolve()
    onLiveChange(signal, () => void loading.then(() => (loading = load(true))))
    main.append(
      pageHeader('Habitable planets', 'Confirmed Kepler planets with Earth-like insolation and a radius under 1.6 Earth radii; launch counts exclude aborted missions.'),
      content
    )
    loading = load()
  }
}
