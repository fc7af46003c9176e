// Launch: schedule a mission to a habitable planet. The server is the judge of every rule; its
// errors land beside the field they name. One request at a time, so a double submit is harmless.
import { lastLaunchDay } from '../../../app/launches/launch-date.js'
import { api, ApiError, type Planet } from '../api.js'
import { announce } from '../announce.js'
import { h } from '../dom.js'
import { signedIn, signInLink } from '../session.js'
import { errorMessage, errorNotice, formatDate, formatNumber, loadingNotice, notice, pageHeader, todayUtc, type Page } from '../ui.js'

const DEFAULT_ROCKET = 'Explorer IS1'

type FieldName = 'launchDate' | 'mission' | 'rocket' | 'target'

interface Field {
  control: HTMLInputElement | HTMLSelectElement
  error: HTMLElement
}

function field(name: FieldName, label: string, control: HTMLInputElement | HTMLSelectElement, hint?: string) {
  const id = `field-${name}`
  const error = h('p', { class: 'field-error', id: `${id}-error` })
  control.id = id
  control.name = name
  control.setAttribute('aria-describedby', hint ? `${id}-hint ${id}-error` : `${id}-error`)
  const wrapper = h('div', { class: 'field' }, h('label', { for: id }, label), control, hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null, error)
  return { wrapper, field: { control, error } }
}

function setFieldError(target: Field, message: string): void {
  target.error.textContent = message
  if (message) target.control.setAttribute('aria-invalid', 'true')
  else target.control.removeAttribute('aria-invalid')
}

function planetFigures(planet: Planet): HTMLElement {
  const figure = (term: string, value: string) => [h('dt', {}, term), h('dd', {}, value)]
  return h(
    'dl',
    { class: 'figures' },
    ...figure('Radius', `${formatNumber(planet.radiusEarth, 2)} R⊕`),
    ...figure('Insolation', `${formatNumber(planet.insolationEarth, 2)} S⊕`),
    ...figure('Orbital period', planet.orbitalPeriodDays === null ? '—' : `${formatNumber(planet.orbitalPeriodDays, 1)} days`),
    ...figure('Star temperature', planet.starTempK === null ? '—' : `${formatNumber(planet.starTempK)} K`),
    ...figure('Equilibrium temp.', planet.equilibriumTempK === null ? '—' : `${formatNumber(planet.equilibriumTempK)} K`),
    ...figure('Launches', formatNumber(planet.launchCount))
  )
}

function criteriaPanel(): HTMLElement {
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': 'criteria-title' },
    h('h2', { id: 'criteria-title' }, 'Habitability criteria'),
    h('p', {}, 'Destinations are Kepler planets that NASA lists as confirmed and that could hold liquid water on a rocky surface:'),
    h(
      'ul',
      { class: 'criteria' },
      h('li', {}, 'Insolation between 0.36 and 1.11 times what Earth receives from the Sun (S⊕): neither frozen nor boiling.'),
      h('li', {}, 'Radius below 1.6 Earth radii (R⊕): small enough to be rocky rather than a gas dwarf.'),
      h('li', {}, 'Disposition CONFIRMED in the Kepler Objects of Interest table.')
    )
  )
}

export const launchPage: Page = {
  title: 'Launch',
  render(main, signal) {
    // The API's own bound, so the picker never offers a date the API refuses.
    const lastDay = lastLaunchDay()
    const dateInput = h('input', { type: 'date', min: todayUtc(), max: lastDay, value: todayUtc(), required: true })
    const missionInput = h('input', { type: 'text', maxlength: 100, required: true, autocomplete: 'off', placeholder: 'Kepler Exploration X' })
    const rocketInput = h('input', { type: 'text', maxlength: 100, required: true, value: DEFAULT_ROCKET })
    const targetSelect = h('select', { required: true, disabled: true }, h('option', { value: '' }, 'Loading planets…'))

    const date = field('launchDate', 'Launch date (UTC)', dateInput, `Today to ${lastDay}`)
    const mission = field('mission', 'Mission name', missionInput)
    const rocket = field('rocket', 'Rocket', rocketInput)
    const target = field('target', 'Destination', targetSelect)
    const fields: Record<FieldName, Field> = { launchDate: date.field, mission: mission.field, rocket: rocket.field, target: target.field }

    const submitButton = h('button', { type: 'submit', class: 'primary' }, 'Schedule launch')
    const formError = h('div', { role: 'alert' })
    const result = h('div', {})
    const planetStatus = h('div', {})
    const figures = h('section', { class: 'panel', 'aria-labelledby': 'destination-title', 'aria-live': 'polite' })
    const form = h(
      'form',
      { class: 'panel', novalidate: true, 'aria-labelledby': 'schedule-title' },
      h('h2', { id: 'schedule-title' }, 'New mission'),
      date.wrapper,
      mission.wrapper,
      rocket.wrapper,
      target.wrapper,
      planetStatus,
      formError,
      h('div', { class: 'form-actions' }, submitButton)
    )

    let planets: Planet[] = []
    const showFigures = () => {
      const planet = planets.find((candidate) => candidate.keplerName === targetSelect.value)
      figures.replaceChildren(
        h('h2', { id: 'destination-title' }, planet ? planet.keplerName : 'Destination'),
        planet ? planetFigures(planet) : h('p', { class: 'muted' }, 'Choose a destination to see its key figures.')
      )
    }
    targetSelect.addEventListener('change', showFigures)

    const loadPlanets = async () => {
      planetStatus.replaceChildren(loadingNotice('Loading habitable planets…'))
      try {
        planets = await api.planets()
      } catch (error) {
        if (signal.aborted) return
        targetSelect.replaceChildren(h('option', { value: '' }, 'Planets unavailable'))
        planetStatus.replaceChildren(errorNotice('Could not load the planets', error, () => void loadPlanets()))
        return
      }
      if (signal.aborted) return
      if (planets.length === 0) {
        targetSelect.replaceChildren(h('option', { value: '' }, 'No planets in the catalogue'))
        planetStatus.replaceChildren(
          notice('The planet catalogue is empty, so there is nowhere to go yet. An operator can import it with ', h('code', {}, 'npm run planets:import'), '.')
        )
        return
      }
      const previous = targetSelect.value
      targetSelect.replaceChildren(
        ...planets.map((planet) =>
          h(
            'option',
            { value: planet.keplerName },
            `${planet.keplerName} · ${formatNumber(planet.radiusEarth, 2)} R⊕ · ${formatNumber(planet.insolationEarth, 2)} S⊕`
          )
        )
      )
      if (previous) targetSelect.value = previous
      targetSelect.disabled = false
      planetStatus.replaceChildren()
      showFigures()
    }

    let pending = false
    const setPending = (value: boolean) => {
      pending = value
      submitButton.disabled = value
      form.setAttribute('aria-busy', String(value))
      submitButton.replaceChildren(...(value ? [h('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Scheduling…'] : ['Schedule launch']))
    }

    const clearErrors = () => {
      for (const entry of Object.values(fields)) setFieldError(entry, '')
      formError.replaceChildren()
    }

    /** Only what the server cannot say better: empty fields and the far end of the calendar. */
    const localErrors = (): [FieldName, string][] => {
      const errors: [FieldName, string][] = []
      const labels: Record<FieldName, string> = { launchDate: 'a launch date', mission: 'a mission name', rocket: 'a rocket', target: 'a destination' }
      for (const [name, entry] of Object.entries(fields) as [FieldName, Field][]) {
        if (!entry.control.value.trim()) errors.push([name, `Enter ${labels[name]}.`])
      }
      // "Today" is the server's UTC day, so past dates are left for it to judge.
      if (dateInput.value > lastDay) errors.push(['launchDate', `Choose a date no later than ${lastDay}.`])
      return errors
    }

    // crypto.randomUUID exists only in secure contexts; getRandomValues also on plain-HTTP hosts.
    const randomKey = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, '0')).join('')
    // One key per intended launch: sending the same form again after a lost answer (timeout,
    // network) reuses it, so the server answers with the launch it already created.
    let attempt: { body: string; key: string } | undefined

    form.addEventListener('submit', async (event) => {
      event.preventDefault()
      if (pending) return
      clearErrors()
      const errors = localErrors()
      if (errors.length > 0) {
        for (const [name, message] of errors) setFieldError(fields[name], message)
        fields[errors[0]![0]].control.focus()
        announce(`Cannot schedule: ${errors.map(([, message]) => message).join(' ')}`)
        return
      }
      setPending(true)
      result.replaceChildren()
      announce('Scheduling launch…')
      const launchToSchedule = {
        launchDate: dateInput.value,
        mission: missionInput.value.trim(),
        rocket: rocketInput.value.trim(),
        target: targetSelect.value
      }
      const body = JSON.stringify(launchToSchedule)
      if (attempt?.body !== body) attempt = { body, key: randomKey() }
      try {
        const launch = await api.schedule(launchToSchedule, attempt.key)
        attempt = undefined
        const summary = `Flight ${launch.flightNumber} scheduled: ${launch.mission} to ${launch.target ?? 'an unknown destination'} on ${formatDate(launch.launchDate)}.`
        result.replaceChildren(
          h(
            'div',
            { class: 'notice success' },
            h('p', {}, 'Flight number ', h('strong', { class: 'flight-number' }, String(launch.flightNumber))),
            h('p', {}, summary),
            h('a', { href: '/upcoming' }, 'See upcoming launches')
          )
        )
        announce(summary)
        missionInput.value = ''
        void loadPlanets()
      } catch (error) {
        const concerned = error instanceof ApiError && error.field ? fields[error.field as FieldName] : undefined
        if (concerned) {
          setFieldError(concerned, error instanceof ApiError ? error.message : '')
          concerned.control.focus()
        } else {
          const signIn = error instanceof ApiError && error.status === 401 ? [' ', signInLink('Sign in again')] : []
          formError.replaceChildren(h('p', { class: 'notice error' }, `Not scheduled: ${errorMessage(error)}`, ...signIn))
        }
        announce(`Not scheduled: ${errorMessage(error)}`)
      } finally {
        setPending(false)
      }
    })

    main.append(
      pageHeader('Schedule a launch', 'Plan an interstellar mission to one of the habitable Kepler planets.'),
      h('div', { class: 'grid' }, h('div', {}, form, result), h('div', {}, figures, criteriaPanel()))
    )
    showFigures()
    void loadPlanets()
    // Anyone may look; scheduling needs an operator, so visitors are offered to sign in instead.
    void signedIn().then((operator) => {
      if (!operator && !signal.aborted) submitButton.replaceWith(signInLink('Sign in to schedule a launch'))
    })
  }
}
