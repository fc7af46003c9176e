// Planets: the habitable catalogue with its key figures and how many launches target each planet.
import { api, type Planet } from '../api.js'
import { announce } from '../announce.js'
import { h } from '../dom.js'
import { dataTable, errorNotice, formatNumber, loadingNotice, notice, pageHeader, type Column, type Page } from '../ui.js'

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
    const load = async () => {
      content.replaceChildren(loadingNotice('Loading the planet catalogue…'))
      try {
        const planets = await api.planets()
        if (signal.aborted) return
        if (planets.length === 0) {
          content.replaceChildren(
            notice(
              h('strong', {}, 'The planet catalogue is empty. '),
              'An operator can import the habitable planets from the NASA Exoplanet Archive with ',
              h('code', {}, 'npm run planets:import'),
              ', then reload this page.'
            )
          )
          announce('The planet catalogue is empty.')
          return
        }
        content.replaceChildren(dataTable('Habitable planets', columns, planets, (planet) => planet.keplerName))
        announce(`${planets.length} habitable planets.`)
      } catch (error) {
        if (signal.aborted) return
        content.replaceChildren(errorNotice('Could not load the planets', error, () => void load()))
      }
    }
    main.append(
      pageHeader('Habitable planets', 'Confirmed Kepler planets with Earth-like insolation and a radius under 1.6 Earth radii; launch counts exclude aborted missions.'),
      content
    )
    void load()
  }
}
