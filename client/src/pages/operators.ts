// Admins: every operator, invite a new one (the one-time link is shown once), disable one.
import type { Static } from 'typebox'
import type { InvitedOperatorSchema, OperatorSchema } from '../../../app/operators/operator-schemas.js'
import { call } from '../api.js'
import { announce } from '../announce.js'
import { h } from '../dom.js'
import { accountForm, formField } from '../forms.js'
import { whenSignedIn } from '../session.js'
import { dataTable, errorMessage, errorNotice, formatDate, loadingNotice, pageHeader, type Page } from '../ui.js'

type Operator = Static<typeof OperatorSchema>
type InvitedOperator = Static<typeof InvitedOperatorSchema>

function status(operator: Operator): string {
  if (operator.disabledAt) return `disabled ${formatDate(operator.disabledAt)}`
  return operator.invitePending ? 'invited' : 'active'
}

export const operatorsPage: Page = {
  title: 'Operators',
  render(main, signal) {
    main.append(pageHeader('Operators', 'Who may schedule and abort launches. Invite operators with a one-time link; disabling ends their sessions and tokens at once.'))
    whenSignedIn(main, 'admin', (me) => {
      const list = h('section', { class: 'panel', 'aria-label': 'Operators' }, loadingNotice('Loading operators…'))
      const invited = h('div', { 'aria-live': 'polite' })

      const load = async () => {
        try {
          const { data } = await call<Operator[]>('GET', '/v1/operators')
          if (signal.aborted) return
          list.replaceChildren(
            dataTable('Operators', [
              { label: 'Name', cell: (operator) => operator.name },
              { label: 'Email', cell: (operator) => operator.email },
              { label: 'Role', cell: (operator) => operator.role },
              { label: 'Status', cell: (operator) => status(operator) },
              {
                label: 'Action',
                cell: (operator) =>
                  operator.disabledAt || operator.id === me.id
                    ? '—'
                    : h('button', { type: 'button', class: 'danger', 'aria-label': `Disable ${operator.name}`, onclick: () => void disable(operator) }, 'Disable')
              }
            ], data, (operator) => String(operator.id))
          )
        } catch (error) {
          if (!signal.aborted) list.replaceChildren(errorNotice('Could not load the operators', error, () => void load()))
        }
      }

      const disable = async (operator: Operator) => {
        try {
          await call('POST', `/v1/operators/${operator.id}/disable`)
          announce(`${operator.name} disabled.`)
          await load()
        } catch (error) {
          list.prepend(h('p', { class: 'notice error', role: 'alert' }, `Not disabled: ${errorMessage(error)}`))
        }
      }

      const email = formField('email', 'Email', h('input', { type: 'email', required: true }))
      const name = formField('name', 'Display name', h('input', { type: 'text', required: true, maxlength: 100 }))
      const role = formField('role', 'Role', h('select', {}, h('option', { value: 'operator' }, 'operator'), h('option', { value: 'admin' }, 'admin')))
      const form = accountForm({
        title: 'Invite an operator',
        fields: [email, name, role],
        submitLabel: 'Create and invite',
        pendingLabel: 'Creating…',
        before: [h('h2', {}, 'Invite an operator')],
        submit: async () => {
          const { data } = await call<InvitedOperator>('POST', '/v1/operators', { email: email.control.value.trim(), name: name.control.value.trim(), role: role.control.value })
          const link = h('input', { type: 'text', readonly: true, value: data.inviteUrl, class: 'secret', 'aria-label': `Invite link for ${data.operator.name}` })
          invited.replaceChildren(
            h('div', { class: 'notice success' }, h('p', {}, `Send this one-time link to ${data.operator.name}; it is valid until ${formatDate(data.inviteExpiresAt)} and shown only once.`), link)
          )
          link.focus()
          link.select()
          email.control.value = ''
          name.control.value = ''
          await load()
          return `${data.operator.name} created. The invite link is shown once.`
        }
      })
      main.append(h('div', { class: 'grid' }, h('div', {}, form, invited), h('div', {}, list)))
      void load()
    })
  }
}
