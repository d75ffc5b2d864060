// Access tokens on the editor page.
//
// A server started with --auth-secret (or --auth-public-keys) wants a JWT
// on every connection; the page gets it from its address,
// /d/<name>?token=…, and sends it with y-websocket's params option (the
// query string of the socket). The token is kept for this tab and this
// document in sessionStorage, so that a reload keeps working, and taken
// out of the address bar at once, so that "Copy link", the history and a
// screenshot of the address never carry it. The list of recent documents
// stores names only.
//
// The page reads the token's claims for its own display only (read-only
// badge, expiry hint); it never checks the signature and trusts nothing
// in it: the server decides, and refuses what the token does not allow.

const tokenKey = (name) => 'quire:token:' + name

/**
 * @typedef {object} Claims
 * @property {'read' | 'write' | ''} perm  '' if the token does not say
 * @property {number | null} exp           expiry, ms since epoch
 */

/**
 * The claims of a JWT, decoded without verifying anything, or null if
 * token is not a JWT with a JSON object as its payload.
 * @param {string} token
 * @return {Claims | null}
 */
export const readClaims = (token) => {
  const parts = token.split('.')
  if (parts.length !== 3) return null
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/')
    const bytes = Uint8Array.from(atob(b64 + '='.repeat((4 - b64.length % 4) % 4)), c => c.charCodeAt(0))
    const c = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
    if (typeof c !== 'object' || c === null || Array.isArray(c)) return null
    return {
      perm: c.perm === 'read' || c.perm === 'write' ? c.perm : '',
      exp: typeof c.exp === 'number' && Number.isFinite(c.exp) ? c.exp * 1000 : null
    }
  } catch {
    return null
  }
}

/**
 * The address without its token parameter (the other parameters, such as
 * the name of the documents "." and "..", stay).
 * @param {string} href
 * @return {string}
 */
export const withoutToken = (href) => {
  const u = new URL(href)
  u.searchParams.delete('token')
  return u.href
}

/**
 * The token of document name for this page: the one in the address
 * (which replaces any kept before, and is then removed from the address),
 * else the one kept for this tab; '' if there is none.
 * @param {string} name
 * @param {{href: string, search: string}} loc
 * @param {{replaceState: History['replaceState'], state: any}} history
 * @param {{get: (key: string) => string | null, set: (key: string, value: string) => void}} session
 * @return {string}
 */
export const takeToken = (name, loc, history, session) => {
  const given = new URLSearchParams(loc.search).get('token')
  if (given === null) return session.get(tokenKey(name)) ?? ''
  history.replaceState(history.state, '', withoutToken(loc.href))
  if (given !== '') session.set(tokenKey(name), given)
  return given || (session.get(tokenKey(name)) ?? '')
}
