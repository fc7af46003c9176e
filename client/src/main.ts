// The dashboard shell: a client-side router over the server's page routes (each reload of /launch,
// /upcoming, /history or /planets gets index.html back), the navigation state and focus handling.
import { announce } from './announce.js'
import { h } from './dom.js'
import { startLive } from './live.js'
import { auditPage } from './pages/audit.js'
import { historyPage } from './pages/history.js'
import { launchPage } from './pages/launch.js'
import { operatorsPage } from './pages/operators.js'
import { planetsPage } from './pages/planets.js'
import { invitePage, setupPage } from './pages/setup.js'
import { signInPage } from './pages/sign-in.js'
import { tokensPage } from './pages/tokens.js'
import { upcomingPage } from './pages/upcoming.js'
import { renderAccount } from './session.js'
import { notice, pageHeader, type Page } from './ui.js'

const routes: Record<string, Page> = {
  '/': launchPage,
  '/launch': launchPage,
  '/upcoming': upcomingPage,
  '/history': historyPage,
  '/planets': planetsPage,
  '/sign-in': signInPage,
  '/setup': setupPage,
  '/invite': invitePage,
  '/tokens': tokensPage,
  '/operators': operatorsPage,
  '/audit': auditPage
}

const notFoundPage: Page = {
  title: 'Not found',
  render(main) {
    main.append(pageHeader('Page not found', 'There is no page at this address.'), notice(h('a', { href: '/launch' }, 'Go to the Launch page')))
  }
}

const main = document.getElementById('main') as HTMLElement
let leaving: AbortController | undefined

function show(moveFocus: boolean): void {
  const page = routes[location.pathname] ?? notFoundPage
  leaving?.abort()
  leaving = new AbortController()
  main.replaceChildren()
  page.render(main, leaving.signal)
  document.title = `${page.title} · Mission Control`
  const current = location.pathname === '/' ? '/launch' : location.pathname
  for (const link of document.querySelectorAll<HTMLAnchorElement>('.nav a')) {
    if (link.pathname === current) link.setAttribute('aria-current', 'page')
    else link.removeAttribute('aria-current')
  }
  if (moveFocus) {
    main.querySelector<HTMLElement>('h1')?.focus()
    announce(`${page.title} page`)
  }
  renderAccount()
}

document.addEventListener('click', (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
  const link = (event.target as Element).closest('a')
  if (!link || link.origin !== location.origin || link.target || !(link.pathname in routes)) return
  event.preventDefault()
  if (link.pathname + link.search !== location.pathname + location.search) history.pushState(null, '', link.pathname + link.search)
  show(true)
})
window.addEventListener('popstate', () => show(true))
startLive()
show(false)
