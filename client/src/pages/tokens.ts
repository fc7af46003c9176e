// My API tokens: create one (the secret is shown once, here), list them, revoke them.
import type { Static } from 'typebox'
import type { ApiTokenSchema, NewApiTokenSchema } from '../../../app/auth/auth-schemas.js'
import { call } from '../api.js'
import { announce } from '../announce.js'
import { h } from '../dom.js'
import { accountForm, formField } from '../forms.js'
import { whenSignedIn } from '../session.js'
import { dataTable, errorMessage, errorNotice, formatDate, loadingNotice, notice, pageHeader, type Page } from '../ui.js'

type ApiToken = Static<typeof ApiTokenSchema>
type NewApiToken = Static<typeof NewApiTokenSchema>

export const tokensPage: Page = {
  title: 'API tokens',
  render(main, signal) {
    main.append(pageHeader('My API tokens', 'For scripts, CI and older clients: send a token as "Authorization: Bearer mc_…". Tokens expire; revoke any you no longer need.'))
    whenSignedIn(main, 'operator', () => {
      const list = h('section', { class: 'panel', 'aria-label': 'Your tokens' }, loadingNotice('Loading your tokens…'))
      const created = h('div', { 'aria-live': 'polite' })

      const load = async () => {
        try {
          const { data } = await call<ApiToken[]>('GET', '/v1/tokens')
          if (signal.aborted) return
          if (data.length === 0) return void list.replaceChildren(notice('You have no API tokens.'))
          list.replaceChildren(
            dataTable('Your API tokens', [
              { label: 'Name', cell: (token) => token.name },
              { label: 'Created', cell: (token) => formatDate(token.createdAt) },
              { label: 'Last used', cell: (token) => (token.lastUsedAt ? formatDate(token.lastUsedAt) : 'never') },
              { label: 'Expires', cell: (token) => (Date.parse(token.expiresAt) < Date.now() ? `expired ${formatDate(token.expiresAt)}` : formatDate(token.expiresAt)) },
              { label: 'Action', cell: (token) => h('button', { type: 'button', class: 'danger', 'aria-label': `Revoke token ${token.name}`, onclick: () => void revoke(token) }, 'Revoke') }
            ], data, (token) => String(token.id))
          )
        } catch (error) {
          if (!signal.aborted) list.replaceChildren(errorNotice('Could not load your tokens', error, () => void load()))
        }
      }

      const revoke = async (token: ApiToken) => {
        try {
          await call('DELETE', `/v1/tokens/${token.id}`)
          announce(`Token ${token.name} revoked.`)
          await load()
        } catch (error) {
          list.prepend(h('p', { class: 'notice error', role: 'alert' }, `Not revoked: ${errorMessage(error)}`))
        }
      }

      const name = formField('name', 'Name', h('input', { type: 'text', required: true, maxlength: 100, placeholder: 'CI deploys' }), 'What the token is for')
      const expiry = formField('expiresInDays', 'Expires after', h('select', {}, ...[30, 90, 365].map((days) => h('option', { value: days, selected: days === 90 }, `${days} days`))))
      const form = accountForm({
        title: 'New token',
        fields: [name, expiry],
        submitLabel: 'Create token',
        pendingLabel: 'Creating…',
        before: [h('h2', {}, 'New token')],
        submit: async () => {
          const { data } = await call<NewApiToken>('POST', '/v1/tokens', { name: name.control.value.trim(), expiresInDays: Number(expiry.control.value) })
          const secret = h('input', { type: 'text', readonly: true, value: data.token, class: 'secret', 'aria-label': `Token ${data.name}` })
          created.replaceChildren(
            h(
              'div',
              { class: 'notice success' },
              h('p', {}, `Token "${data.name}" created. Copy it now: it is shown only once.`),
              secret
            )
          )
          secret.focus()
          secret.select()
          name.control.value = ''
          await load()
          return `Token ${data.name} created. Copy it now: it is shown only once.`
        }
      })
      main.append(h('div', { class: 'grid' }, h('div', {}, form, created), h('div', {}, list)))
      void load()
    })
  }
}
