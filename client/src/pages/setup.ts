// First run (/setup?token=…, the link the service logs while no operator exists) and invitations
// (/invite?token=…): choose a password, then start signed in.
import type { Session } from '../../../app/auth/auth-schemas.js'
import { call } from '../api.js'
import { h } from '../dom.js'
import { accountForm, formField, passwordInput, setError, type FormField } from '../forms.js'
import { go, startSession } from '../session.js'
import { notice, pageHeader, type Page } from '../ui.js'

function linkToken(): string | null {
  return new URLSearchParams(location.search).get('token')
}

function passwordFields(): { password: FormField; repeat: FormField; matches: () => boolean } {
  const password = formField('password', 'Password', passwordInput('new-password'), 'At least 12 characters')
  const repeat = formField('repeat', 'Repeat the password', passwordInput('new-password'))
  const matches = () => {
    if (password.control.value === repeat.control.value) return true
    setError(repeat, 'The passwords do not match.')
    repeat.control.focus()
    return false
  }
  return { password, repeat, matches }
}

const missingToken = () => notice('This page needs the one-time link with its token. Ask for a new link.')

export const setupPage: Page = {
  title: 'Set up',
  render(main) {
    main.append(pageHeader('Create the first admin', 'No operator exists yet. This one-time link creates the first admin account.'))
    const token = linkToken()
    if (!token) return void main.append(missingToken())
    const email = formField('email', 'Email', h('input', { type: 'email', required: true, autocomplete: 'username' }))
    const name = formField('name', 'Display name', h('input', { type: 'text', required: true, maxlength: 100, autocomplete: 'name' }), 'Shown on the launches you schedule or abort')
    const { password, repeat, matches } = passwordFields()
    main.append(
      h(
        'div',
        { class: 'narrow' },
        accountForm({
          title: 'Create the first admin',
          fields: [email, name, password, repeat],
          submitLabel: 'Create admin account',
          pendingLabel: 'Creating…',
          submit: async () => {
            if (!matches()) return undefined
            const { data } = await call<Session>('POST', '/v1/setup', { token, email: email.control.value.trim(), name: name.control.value.trim(), password: password.control.value })
            startSession(data)
            go('/launch')
            return `Admin account created. Signed in as ${data.operator.name}.`
          }
        })
      )
    )
  }
}

export const invitePage: Page = {
  title: 'Accept invitation',
  render(main) {
    main.append(pageHeader('Choose your password', 'An admin invited you to Mission Control. Choose a password to finish your account.'))
    const token = linkToken()
    if (!token) return void main.append(missingToken())
    const { password, repeat, matches } = passwordFields()
    main.append(
      h(
        'div',
        { class: 'narrow' },
        accountForm({
          title: 'Choose your password',
          fields: [password, repeat],
          submitLabel: 'Set password and sign in',
          pendingLabel: 'Saving…',
          submit: async () => {
            if (!matches()) return undefined
            const { data } = await call<Session>('POST', '/v1/invites/accept', { token, password: password.control.value })
            startSession(data)
            go('/launch')
            return `Welcome, ${data.operator.name}. You are signed in.`
          }
        })
      )
    )
  }
}
