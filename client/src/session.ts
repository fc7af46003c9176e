// Who is signed in (GET /v1/session, asked once per page load and after signing in or out), the
// account control in the masthead, and navigation for pages that move the visitor on.
import type { Session } from '../../app/auth/auth-schemas.js'
import { ApiError, call, useCsrfToken } from './api.js'
import { h } from './dom.js'

export type SignedIn = Session['operator']

let current: Promise<SignedIn | null> | undefined

async function fetchSession(): Promise<SignedIn | null> {
  try {
    const { data } = await call<Session>('GET', '/v1/session')
    useCsrfToken(data.csrfToken)
    return data.operator
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null
    throw error
  }
}

/** The signed-in operator, or null for an anonymous visitor. */
export function signedIn(): Promise<SignedIn | null> {
  current ??= fetchSession().catch(() => null)
  return current
}

/** After signing in (sign-in, setup, invite pages). */
export function startSession(session: Session): void {
  useCsrfToken(session.csrfToken)
  current = Promise.resolve(session.operator)
  renderAccount()
}

export async function signOut(): Promise<void> {
  await call('DELETE', '/v1/session')
  useCsrfToken(null)
  current = Promise.resolve(null)
  renderAccount()
}

/** Moves to another page of the dashboard (main.ts listens for popstate). */
export function go(path: string): void {
  history.pushState(null, '', path)
  dispatchEvent(new PopStateEvent('popstate'))
}

/** Where to return after signing in: only a path on this site. */
export function returnPath(): string {
  const next = new URLSearchParams(location.search).get('next') ?? ''
  return next.startsWith('/') && !next.startsWith('//') ? next : '/launch'
}

/** A link to the sign-in page that brings the visitor back here afterwards. */
export function signInLink(text: string): HTMLAnchorElement {
  return h('a', { href: `/sign-in?next=${encodeURIComponent(location.pathname + location.search)}`, class: 'sign-in-link' }, text)
}

/** The masthead's account control: who is signed in, their pages, and sign-out. */
export function renderAccount(): void {
  const slot = document.getElementById('account')
  if (!slot) return
  void signedIn().then((operator) => {
    if (!operator) {
      slot.replaceChildren(signInLink('Sign in'))
      return
    }
    const pages: [string, string][] = [['/tokens', 'API tokens']]
    if (operator.role === 'admin') pages.push(['/operators', 'Operators'], ['/audit', 'Audit'])
    const signOutButton = h('button', { type: 'button', class: 'link-button' }, 'Sign out')
    signOutButton.addEventListener('click', async () => {
      signOutButton.disabled = true
      try {
        await signOut()
        go('/launch')
      } finally {
        signOutButton.disabled = false
      }
    })
    slot.replaceChildren(
      h('span', { class: 'who' }, 'Signed in as ', h('strong', {}, operator.name), operator.role === 'admin' ? ' (admin)' : ''),
      h('ul', { class: 'nav' }, ...pages.map(([href, label]) => h('li', {}, h('a', { href, 'aria-current': href === location.pathname ? 'page' : null }, label)))),
      signOutButton
    )
  })
}

/**
 * Draws a page for signed-in operators (admins only with role 'admin'); anonymous visitors are
 * asked to sign in and come back here afterwards.
 */
export function whenSignedIn(main: HTMLElement, role: 'operator' | 'admin', render: (operator: SignedIn) => void): void {
  const slot = h('div', {})
  main.append(slot)
  void signedIn().then((operator) => {
    if (!operator) return void slot.replaceChildren(h('div', { class: 'notice' }, h('p', {}, 'This page is for signed-in operators. '), signInLink('Sign in to continue')))
    if (role === 'admin' && operator.role !== 'admin') return void slot.replaceChildren(h('div', { class: 'notice' }, 'This page is for admins.'))
    slot.remove()
    render(operator)
  })
}
