// The document list, /: new document, open by name, recent documents.

import './home.css'

import { editorPath, nameProblem } from './names.js'
import { loadRecent, forgetRecent, recentStorageKey } from './prefs.js'
import { registerServiceWorker } from './sw-register.js'

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id))

const relativeTime = (t) => {
  const s = Math.round((Date.now() - t) / 1000)
  if (s < 60) return 'just now'
  const units = [['minute', 60], ['hour', 3600], ['day', 86400], ['week', 604800]]
  let [unit, size] = units[0]
  for (const u of units) if (s >= u[1]) [unit, size] = u
  const n = Math.floor(s / size)
  return `${n} ${unit}${n === 1 ? '' : 's'} ago`
}

const renderRecent = () => {
  const list = loadRecent()
  const items = list.map(({ name, openedAt }) => {
    const li = document.createElement('li')
    const a = document.createElement('a')
    a.href = editorPath(name)
    a.className = 'recent-name'
    a.textContent = name
    const when = document.createElement('span')
    when.className = 'muted recent-when'
    when.textContent = relativeTime(openedAt)
    const remove = document.createElement('button')
    remove.type = 'button'
    remove.className = 'icon-button'
    remove.title = 'Remove from this list (the document stays on the server)'
    remove.setAttribute('aria-label', 'Remove from the list')
    remove.textContent = '×'
    remove.addEventListener('click', () => { forgetRecent(name); renderRecent() })
    li.append(a, when, remove)
    return li
  })
  $('recent').replaceChildren(...items)
  $('recent-empty').hidden = list.length > 0
}

const main = () => {
  registerServiceWorker()
  renderRecent()
  window.addEventListener('storage', (e) => { if (e.key === recentStorageKey) renderRecent() })

  const input = /** @type {HTMLInputElement} */ ($('open-name'))
  const error = $('open-error')
  $('open-form').addEventListener('submit', (e) => {
    e.preventDefault()
    const name = input.value
    const problem = nameProblem(name)
    if (problem !== '') {
      error.textContent = problem
      error.hidden = false
      input.focus()
      return
    }
    location.assign(editorPath(name))
  })
  input.addEventListener('input', () => { error.hidden = true })
}

main()
