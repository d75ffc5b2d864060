// Document names and the addresses that carry them.
//
// A name is any 1–255 bytes of UTF-8 without control characters (the
// server's rule, sync/name.go). It travels percent-encoded as ONE path
// segment: the editor of "team/notes ü" is /d/team%2Fnotes%20%C3%BC and
// its socket /ws/team%2Fnotes%20%C3%BC. The names "." and "..", which
// browsers would resolve as path segments, go in the query instead:
// /d/?name=..

const maxNameBytes = 255
// eslint-disable-next-line no-control-regex
const controlChars = /[\u0000-\u001f\u007f-\u009f]/

/**
 * Why name cannot be a document name, or '' if it can.
 * @param {string} name
 * @return {string}
 */
export const nameProblem = (name) => {
  if (name.length === 0) return 'Enter a name.'
  try {
    encodeURIComponent(name) // throws on unpaired surrogates: not UTF-8
  } catch {
    return 'The name is not valid Unicode.'
  }
  if (controlChars.test(name)) return 'The name contains a control character.'
  const bytes = new TextEncoder().encode(name).length
  if (bytes > maxNameBytes) return `The name is ${bytes} bytes long; at most ${maxNameBytes} are allowed.`
  return ''
}

/**
 * The path of the editor page of the document name.
 * @param {string} name
 * @return {string}
 */
export const editorPath = (name) => {
  if (isDotName(name)) return '/d/?name=' + encodeURIComponent(name)
  return '/d/' + encodeURIComponent(name)
}

/**
 * The document an editor page's address names, or null if it names none
 * (or not a valid one).
 * @param {{pathname: string, search: string}} loc
 * @return {string | null}
 */
export const nameFromLocation = (loc) => {
  const rest = loc.pathname.startsWith('/d/') ? loc.pathname.slice(3) : ''
  let name
  if (rest === '') {
    name = new URLSearchParams(loc.search).get('name') ?? ''
  } else {
    try {
      name = decodeURIComponent(rest)
    } catch {
      return null // malformed percent-encoding
    }
  }
  return nameProblem(name) === '' ? name : null
}

/**
 * The room segment y-websocket appends to the socket URL: the server
 * percent-decodes it back to the name. The names "." and ".." would be
 * resolved away by the browser, so their socket is /ws/?name=… instead
 * (see roomParams).
 * @param {string} name
 * @return {string}
 */
export const roomSegment = (name) => isDotName(name) ? '' : encodeURIComponent(name)

/**
 * The query parameters the socket URL needs besides the token: the name
 * itself for "." and "..", which have no room segment.
 * @param {string} name
 * @return {Record<string, string>}
 */
export const roomParams = (name) => isDotName(name) ? { name } : {}

/** @param {string} name */
const isDotName = (name) => name === '.' || name === '..'

