// Sign in, then go back where the visitor came from (?next=/upcoming), or to the Launch page.
import type { Session } from '../../../app/auth/auth-schemas.js'
import { call } from '../api.js'
import { h } from '../dom.js'
import { accountForm, formField, passwordInput } from '../forms.js'
import { go, returnPath, startSession } from '../session.js'
import { pageHeader, type Page } from '../ui.js'

export const signInPage: Page = {
  title: 'Sign in',
  render(main) {
    const email = formField('email', 'Email', h('input', { type: 'email', required: true, autocomplete: 'username' }))
    const password = formField('password', 'Password', passwordInput('current-password'))
    const form = accountForm({
      title: 'Sign in',
      fields: [email, password],
      submitLabel: 'Sign in',
      pendingLabel: 'Signing in…',
      submit: async () => {
        const { data } = await call<Session>('POST', '/v1/session', { email: email.control.value.trim(), password: password.control.value })
        startSession(data)
        go(returnPath())
        return `Signed in as ${data.operator.name}.`
      }
    })
    main.append(
      pageHeader('Sign in', 'Operators sign in to schedule and abort launches. Everything else is open to all.'),
      h('div', { class: 'narrow' }, form, h('p', { class: 'muted' }, 'No account? An admin can invite you from the Operators page.'))
    )
  }
}
