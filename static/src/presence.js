// The list of people in the document, from the awareness states. Names
// come from other browsers: they are only ever set as text.

import { safeColor, safeName } from './prefs.js'

const maxShown = 6

/**
 * One or two letters for an avatar: the first letter or digit of the
 * first two words.
 * @param {string} name
 */
const initials = (name) => {
  const words = name.split(/\s+/).map(w => w.match(/[\p{L}\p{N}]/u)?.[0]).filter(Boolean)
  return (words.length > 0 ? words.slice(0, 2).join('') : '?').toUpperCase()
}

/**
 * @param {{name: unknown, color: unknown}} user
 * @param {boolean} self
 */
const chip = (user, self) => {
  const name = safeName(user.name)
  const li = document.createElement('li')
  li.className = 'person' + (self ? ' self' : '')
  li.title = self ? `${name} (you)` : name
  const avatar = document.createElement('span')
  avatar.className = 'avatar'
  avatar.style.backgroundColor = safeColor(user.color)
  avatar.textContent = initials(name)
  const label = document.createElement('span')
  label.className = 'person-name'
  label.textContent = self ? `${name} (you)` : name
  li.append(avatar, label)
  return li
}

/**
 * Renders the awareness states into the list ul: this client first, then
 * the others by name.
 * @param {HTMLElement} ul
 * @param {import('y-protocols/awareness').Awareness} awareness
 */
export const renderPresence = (ul, awareness) => {
  const people = []
  awareness.getStates().forEach((state, clientID) => {
    if (state && typeof state.user === 'object' && state.user !== null) {
      people.push({ user: state.user, self: clientID === awareness.clientID })
    }
  })
  people.sort((a, b) => (a.self === b.self ? safeName(a.user.name).localeCompare(safeName(b.user.name)) : a.self ? -1 : 1))
  const items = people.slice(0, maxShown).map(p => chip(p.user, p.self))
  if (people.length > maxShown) {
    const more = document.createElement('li')
    more.className = 'person more'
    more.textContent = `+${people.length - maxShown}`
    more.title = people.slice(maxShown).map(p => safeName(p.user.name)).join(', ')
    items.push(more)
  }
  ul.replaceChildren(...items)
}
