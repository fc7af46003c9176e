// Admins: the audit trail, newest first, 50 per page, filtered by action and operator; the
// filters and the page live in the address.
import type { Static } from 'typebox'
import type { OperatorSchema } from '../../../app/operators/operator-schemas.js'
import { AUDIT_ACTIONS } from '../../../app/audit/audit-actions.js'
import type { AuditEvent } from '../../../app/audit/audit-schemas.js'
import { call } from '../api.js'
import { h } from '../dom.js'
import { whenSignedIn } from '../session.js'
import { dataTable, errorNotice, formatNumber, loadingNotice, notice, pageHeader, pager, type Page } from '../ui.js'

type Operator = Static<typeof OperatorSchema>
const PAGE_SIZE = 50

function who(event: AuditEvent): string {
  if (event.actorType === 'system') return event.systemName ?? 'system'
  if (!event.operatorName) return 'anonymous'
  return event.tokenName ? `${event.operatorName} (token "${event.tokenName}")` : event.operatorName
}

function subject(event: AuditEvent): string {
  const detail = Object.entries(event.details)
    .filter(([, value]) => typeof value !== 'object')
    .map(([key, value]) => `${key}: ${String(value)}`)
    .join(', ')
  const target = event.subjectType ? `${event.subjectType} ${event.subjectId ?? ''}`.trim() : ''
  return [target, detail].filter(Boolean).join(' · ') || '—'
}

export const auditPage: Page = {
  title: 'Audit',
  render(main, signal) {
    main.append(pageHeader('Audit trail', 'Who did what, when and from where. Each entry was written in the same transaction as the change it records.'))
    whenSignedIn(main, 'admin', () => {
      const params = new URLSearchParams(location.search)
      const actionSelect = h('select', { id: 'audit-action' }, h('option', { value: '' }, 'All actions'), ...AUDIT_ACTIONS.map((action) => h('option', { value: action }, action)))
      const operatorSelect = h('select', { id: 'audit-operator' }, h('option', { value: '' }, 'All operators'))
      actionSelect.value = params.get('action') ?? ''
      let page = Math.max(1, Number(params.get('page')) || 1)
      const content = h('section', { class: 'panel', 'aria-label': 'Audit events' }, loadingNotice('Loading the audit trail…'))
      const status = h('p', { class: 'muted', 'aria-live': 'polite' })

      const load = async () => {
        const query = new URLSearchParams({ page: String(page), limit: String(PAGE_SIZE) })
        if (actionSelect.value) query.set('action', actionSelect.value)
        if (operatorSelect.value) query.set('operatorId', operatorSelect.value)
        history.replaceState(null, '', `/audit?${query}`)
        try {
          const { data, headers } = await call<AuditEvent[]>('GET', `/v1/audit?${query}`)
          if (signal.aborted) return
          const total = Number(headers.get('x-total-count') ?? data.length)
          status.textContent = `${formatNumber(total)} ${total === 1 ? 'entry' : 'entries'}`
          if (data.length === 0) return void content.replaceChildren(notice('No audit entries match.'))
          const pageCount = Math.max(1, Math.ceil(total / PAGE_SIZE))
          content.replaceChildren(
            dataTable('Audit events', [
              { label: 'When (UTC)', cell: (event) => h('time', { datetime: event.occurredAt }, event.occurredAt.slice(0, 19).replace('T', ' ')) },
              { label: 'Action', cell: (event) => event.action },
              { label: 'Who', cell: (event) => who(event) },
              { label: 'Subject', cell: (event) => subject(event) },
              { label: 'From', cell: (event) => event.ip ?? '—' }
            ], data, (event) => String(event.id)),
            pageCount > 1 ? pager(page, pageCount, (target) => ((page = target), void load())) : ''
          )
        } catch (error) {
          if (!signal.aborted) content.replaceChildren(errorNotice('Could not load the audit trail', error, () => void load()))
        }
      }

      const refilter = () => {
        page = 1
        void load()
      }
      actionSelect.addEventListener('change', refilter)
      operatorSelect.addEventListener('change', refilter)
      main.append(
        h(
          'div',
          { class: 'toolbar' },
          h('div', { class: 'field' }, h('label', { for: 'audit-action' }, 'Action'), actionSelect),
          h('div', { class: 'field' }, h('label', { for: 'audit-operator' }, 'Operator'), operatorSelect),
          status
        ),
        content
      )
      void call<Operator[]>('GET', '/v1/operators').then(({ data }) => {
        operatorSelect.append(...data.map((operator) => h('option', { value: operator.id }, operator.name)))
        operatorSelect.value = params.get('operatorId') ?? ''
        void load()
      }, () => void load())
    })
  }
}
