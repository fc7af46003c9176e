// Small forms for the account pages: labelled fields with their error line, a submit button
// with a pending state, and errors from the server shown beside the field they name.
import { ApiError } from './api.js'
import { announce } from './announce.js'
import { h } from './dom.js'
import { errorMessage } from './ui.js'

export interface FormField {
  name: string
  control: HTMLInputElement | HTMLSelectElement
  error: HTMLElement
  wrapper: HTMLElement
}

export function formField(name: string, label: string, control: HTMLInputElement | HTMLSelectElement, hint?: string): FormField {
  const id = `field-${name}`
  control.id = id
  control.name = name
  const error = h('p', { class: 'field-error', id: `${id}-error` })
  control.setAttribute('aria-describedby', hint ? `${id}-hint ${id}-error` : `${id}-error`)
  const wrapper = h('div', { class: 'field' }, h('label', { for: id }, label), control, hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null, error)
  return { name, control, error, wrapper }
}

/**
 * A form that submits once at a time. `submit` returns what to announce on success; an ApiError
 * naming a field is shown beside it (focus moves there), any other error above the button.
 */
export function accountForm(options: {
  title: string
  fields: FormField[]
  submitLabel: string
  pendingLabel: string
  submit: () => Promise<string | undefined>
  before?: Node[]
}): HTMLFormElement {
  const button = h('button', { type: 'submit', class: 'primary' }, options.submitLabel)
  const formError = h('div', { role: 'alert' })
  const form = h(
    'form',
    { class: 'panel', novalidate: true, 'aria-label': options.title },
    ...(options.before ?? []),
    ...options.fields.map((field) => field.wrapper),
    formError,
    h('div', { class: 'form-actions' }, button)
  )
  let pending = false
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    if (pending) return
    for (const field of options.fields) setError(field, '')
    formError.replaceChildren()
    const empty = options.fields.find((field) => field.control.required && !field.control.value.trim())
    if (empty) {
      setError(empty, 'This field is required.')
      empty.control.focus()
      announce('This field is required.')
      return
    }
    pending = true
    button.disabled = true
    button.textContent = options.pendingLabel
    try {
      const done = await options.submit()
      if (done) announce(done)
    } catch (error) {
      const field = error instanceof ApiError && error.field ? options.fields.find((candidate) => candidate.name === error.field) : undefined
      if (field) {
        setError(field, errorMessage(error))
        field.control.focus()
      } else {
        formError.replaceChildren(h('p', { class: 'notice error' }, errorMessage(error)))
      }
      announce(errorMessage(error))
    } finally {
      pending = false
      button.disabled = false
      button.textContent = options.submitLabel
    }
  })
  return form
}

export function setError(field: FormField, message: string): void {
  field.error.textContent = message
  if (message) field.control.setAttribute('aria-invalid', 'true')
  else field.control.removeAttribute('aria-invalid')
}

export const passwordInput = (autocomplete: 'current-password' | 'new-password') =>
  h('input', { type: 'password', required: true, autocomplete, minlength: autocomplete === 'new-password' ? 12 : null, maxlength: 256 })
