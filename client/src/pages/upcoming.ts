// Upcoming: launches still to fly, redrawn in place whenever a launch changes anywhere (live.ts)
// and right after an abort; aborting asks for confirmation in a modal dialog first.
import { api, type Launch, type LaunchPage } from '../api.js'
import { announce } from '../announce.js'
import { h } from '../dom.js'
import { onLiveChange } from '../live.js'
import { signedIn, signInLink } from '../session.js'
import { dataTable, errorMessage, errorNotice, formatDate, formatNumber, loadingNotice, notice, pageHeader, pager, replaceKeepingFocus, type Column, type Page } from '../ui.js'

const PAGE_SIZE = 50

function describe(launch: Launch): string {
  return `${launch.mission} (flight ${launch.flightNumber}) to ${launch.target ?? 'an unknown destination'} on ${formatDate(launch.launchDate)}`
}

export const upcomingPage: Page = {
  title: 'Upcoming',
  render(main, signal) {
    const status = h('p', { class: 'muted' })
    const content = h('div', {}, loadingNotice('Loading upcoming launches…'))
    const refreshButton = h('button', { type: 'button', onclick: () => void load() }, 'Refresh')
    let page = 1
    let latest: LaunchPage | undefined
    /** What the table shows (JSON of page and list): a live update that changes nothing redraws nothing. */
    let shown: string | undefined
    let loadCount = 0

    const dialogTitle = h('h2', { id: 'abort-title' })
    const dialogText = h('p', {})
    const dialogError = h('div', { role: 'alert' })
    const keepButton = h('button', { type: 'button', autofocus: true, onclick: () => dialog.close() }, 'Keep launch')
    const confirmButton = h('button', { type: 'button', class: 'danger' }, 'Abort launch')
    const dialog = h(
      'dialog',
      { 'aria-labelledby': 'abort-title' },
      dialogTitle,
      dialogText,
      dialogError,
      h('div', { class: 'form-actions' }, keepButton, confirmButton)
    )
    let aborting: Launch | undefined
    let abortPending = false
    let anonymous = false

    const confirmAbort = (launch: Launch) => {
      aborting = launch
      dialogTitle.textContent = `Abort flight ${launch.flightNumber}?`
      dialogText.textContent = `${describe(launch)} will be marked aborted. This cannot be undone.`
      dialogError.replaceChildren()
      dialog.showModal()
    }

    confirmButton.addEventListener('click', async () => {
      if (!aborting || abortPending) return
      const launch = aborting
      abortPending = true
      confirmButton.disabled = true
      confirmButton.textContent = 'Aborting…'
      try {
        await api.abort(launch.flightNumber)
        dialog.close()
        announce(`Flight ${launch.flightNumber} (${launch.mission}) aborted.`)
        await load()
      } catch (error) {
        dialogError.replaceChildren(h('p', { class: 'notice error' }, `Not aborted: ${errorMessage(error)}`))
      } finally {
        abortPending = false
        confirmButton.disabled = false
        confirmButton.textContent = 'Abort launch'
      }
    })

    const columns: Column<Launch>[] = [
      { label: 'No.', numeric: true, cell: (launch) => String(launch.flightNumber) },
      { label: 'Date', cell: (launch) => h('time', { datetime: launch.launchDate }, formatDate(launch.launchDate)) },
      { label: 'Mission', cell: (launch) => launch.mission },
      { label: 'Rocket', cell: (launch) => launch.rocket },
      { label: 'Destination', cell: (launch) => launch.target ?? '—' },
      { label: 'Scheduled by', cell: (launch) => launch.scheduledBy ?? (launch.source === 'spacex' ? 'SpaceX' : '—') },
      {
        label: 'Action',
        cell: (launch) =>
          launch.source === 'spacex'
            ? h('span', { class: 'muted' }, 'SpaceX: not abortable')
            : anonymous
            ? signInLink('Sign in to abort')
            : h('button', { type: 'button', class: 'danger', 'aria-label': `Abort flight ${launch.flightNumber}, ${launch.mission}`, onclick: () => confirmAbort(launch) }, 'Abort')
      }
    ]

    const show = (result: LaunchPage) => {
      if (result.total === 0) {
        replaceKeepingFocus(content, notice('No launches are scheduled. ', h('a', { href: '/launch' }, 'Schedule one on the Launch page'), '.'))
        return
      }
      const pageCount = Math.max(1, Math.ceil(result.total / PAGE_SIZE))
      replaceKeepingFocus(
        content,
        dataTable('Upcoming launches', columns, result.launches, (launch) => String(launch.flightNumber)),
        pageCount > 1 ? pager(page, pageCount, (target) => ((page = target), void load())) : ''
      )
    }

    /** quiet: a live update, which redraws only what changed (the page announces nothing itself). */
    const fetchAndShow = async (quiet: boolean): Promise<void> => {
      const ticket = ++loadCount
      try {
        const result = await api.launches({ upcoming: true, order: 'asc', page, limit: PAGE_SIZE })
        if (signal.aborted || ticket !== loadCount) return
        if (result.launches.length === 0 && page > 1) {
          page = Math.max(1, Math.ceil(result.total / PAGE_SIZE))
          return fetchAndShow(quiet)
        }
        const drawn = JSON.stringify([page, result])
        if (quiet && drawn === shown) return
        latest = result
        shown = drawn
        show(result)
        status.textContent = `${formatNumber(result.total)} upcoming · updated ${new Date().toLocaleTimeString('en-GB')}`
      } catch (error) {
        if (signal.aborted || ticket !== loadCount) return
        shown = undefined
        const failure = errorNotice('Could not load upcoming launches', error, () => void load())
        // Keep what was shown (marked stale by the notice) rather than an empty table.
        replaceKeepingFocus(content, failure, ...(latest ? [h('p', { class: 'muted' }, 'Showing the last list received:'), dataTable('Upcoming launches (stale)', columns, latest.launches, (launch) => String(launch.flightNumber))] : []))
      }
    }

    // The first load waits for the session (Abort buttons or sign-in links); a live update waits
    // for the load in flight, so it never overtakes (and silences) the one the user asked for.
    let loading: Promise<void> = signedIn().then((operator) => {
      anonymous = !operator
      return load()
    })
    const load = (quiet = false) => (loading = fetchAndShow(quiet))
    onLiveChange(signal, () => void loading.then(() => load(true)))
    signal.addEventListener('abort', () => {
      if (dialog.open) dialog.close()
    })

    main.append(
      pageHeader('Upcoming launches', 'Missions scheduled from mission control and SpaceX launches still to fly. The list updates as launches are scheduled and aborted, here or anywhere else.'),
      h('div', { class: 'toolbar' }, h('div', { class: 'field' }, status), refreshButton),
      h('section', { class: 'panel', 'aria-label': 'Upcoming launches' }, content),
      dialog
    )
  }
}
