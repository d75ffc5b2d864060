// What the pages remember in this browser (localStorage): the user's name
// and colour, and the recently opened documents. Nothing of it is sent to
// the server except the name and colour, as awareness (presence) state.

const userKey = 'quire:user'
const recentKey = 'quire:recent'
const maxRecent = 30
export const maxUserName = 40

// Colours readable behind white text, for cursors and avatars.
export const palette = ['#e03131', '#c2255c', '#9c36b5', '#6741d9', '#3b5bdb', '#1971c2', '#0c8599', '#099268', '#2f9e44', '#e8590c']

const read = (key, fallback) => {
  try {
    const v = JSON.parse(localStorage.getItem(key) ?? 'null')
    return v ?? fallback
  } catch {
    return fallback // storage disabled or a corrupt value
  }
}

const write = (key, value) => {
  try {
    localStorage.setItem(key, JSON.stringify(value))
  } catch {
    // storage full or disabled: the preference lasts for this page only
  }
}

/**
 * A colour that is safe to put in a style: one of the #rrggbb form, or
 * grey.
 * @param {unknown} c
 * @return {string}
 */
export const safeColor = (c) => (typeof c === 'string' && /^#[0-9a-fA-F]{6}$/.test(c) ? c : '#868e96')

/**
 * A display name from anything a peer may have put in its awareness
 * state: a string of bounded length, never empty.
 * @param {unknown} n
 * @return {string}
 */
export const safeName = (n) => {
  const s = typeof n === 'string' ? n.trim().slice(0, maxUserName) : ''
  return s === '' ? 'Anonymous' : s
}

/**
 * The local user, created with a random name and colour on first use.
 * @return {{name: string, color: string}}
 */
export const loadUser = () => {
  const u = read(userKey, null)
  if (u && typeof u.name === 'string' && u.name.trim() !== '') {
    return { name: safeName(u.name), color: safeColor(u.color) }
  }
  const user = {
    name: 'Guest ' + (100 + Math.floor(Math.random() * 900)),
    color: palette[Math.floor(Math.random() * palette.length)]
  }
  write(userKey, user)
  return user
}

/** @param {{name: string, color: string}} user */
export const saveUser = (user) => write(userKey, user)

/**
 * The recently opened documents, most recent first.
 * @return {Array<{name: string, openedAt: number}>}
 */
export const loadRecent = () => {
  const list = read(recentKey, [])
  if (!Array.isArray(list)) return []
  return list.filter(e => e && typeof e.name === 'string' && typeof e.openedAt === 'number')
}

/** @param {string} name */
export const touchRecent = (name) => {
  const list = loadRecent().filter(e => e.name !== name)
  list.unshift({ name, openedAt: Date.now() })
  write(recentKey, list.slice(0, maxRecent))
}

/** @param {string} name */
export const forgetRecent = (name) => write(recentKey, loadRecent().filter(e => e.name !== name))

export const recentStorageKey = recentKey
