// The editor page, /d/<name>: Quill bound to a Y.Text with y-quill,
// synced with the server by y-websocket, kept in IndexedDB by y-indexeddb
// (so that it opens and takes edits offline) and shared with other tabs
// over y-websocket's BroadcastChannel.
//
// On a server that wants tokens, the page connects with the token of its
// address (access.js). A token whose claims say "read", or a server that
// refuses the page's changes, make the page read-only: the editor shows
// the document, its remote edits, cursors and people, and takes no
// typing.

import 'quill/dist/quill.snow.css'
import 'quill-cursors/css'
import './editor.css'

import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { IndexeddbPersistence } from 'y-indexeddb'
import Quill from 'quill'
import quillCursorsModule from 'quill-cursors/core'
import { QuillBinding } from 'y-quill'
import * as authProtocol from 'y-protocols/auth'

import { nameFromLocation, roomSegment, roomParams } from './names.js'
import { loadUser, saveUser, touchRecent, safeName, safeColor, maxUserName } from './prefs.js'
import { ChangeTracker } from './tracker.js'
import { ConnectionMonitor } from './connection.js'
import { renderPresence } from './presence.js'
import { registerServiceWorker } from './sw-register.js'
import { takeToken, readClaims } from './access.js'

// quill-cursors is CommonJS compiled from an ES module: in Node's interop
// (this package is "type": "module") its default import is the exports
// object, whose default is the class.
const QuillCursors = quillCursorsModule.default ?? quillCursorsModule

const maxBackoffTime = 10_000 // longest wait between reconnection attempts
const idbWaitLimit = 3_000 // connect anyway if IndexedDB does not answer
const hintAfterFailures = 3 // failed attempts in a row before the page says what may be wrong
const closeTokenExpired = 4401 // the server's close code for a token that expired
const messageAuth = 2 // y-protocols' auth message

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id))

// sessionStorage, which is per tab and survives reloads; without it (a
// sandboxed page) the count starts from zero on each load.
const session = {
  get: (key) => { try { return sessionStorage.getItem(key) } catch { return null } },
  set: (key, value) => { try { sessionStorage.setItem(key, value) } catch {} }
}

const fail = (message) => {
  const p = $('page-error')
  p.textContent = message
  p.hidden = false
  $('editor').hidden = true
}

const main = () => {
  registerServiceWorker()
  const name = nameFromLocation(location)
  if (name === null) {
    fail('This address names no document. Open one from the list of documents.')
    return
  }
  document.title = `${name} · Quire`
  $('doc-name').textContent = name
  $('doc-name').title = name
  touchRecent(name) // the name only, never the token
  const token = takeToken(name, location, history, session)
  const claims = token === '' ? null : readClaims(token)

  Quill.register('modules/cursors', QuillCursors)
  const quill = new Quill($('editor'), {
    theme: 'snow',
    placeholder: 'Start writing…',
    modules: {
      cursors: { transformOnTextChange: true },
      history: { userOnly: true },
      toolbar: [
        [{ header: [1, 2, 3, false] }],
        ['bold', 'italic', 'underline', 'strike'],
        ['link', 'blockquote', 'code-block'],
        [{ list: 'ordered' }, { list: 'bullet' }],
        ['clean']
      ]
    }
  })

  const doc = new Y.Doc()
  const pendingKey = 'quire:pending:' + name
  let provider, persistence
  // Before the provider, so that it counts a change before the provider
  // sends it (see tracker.js).
  const tracker = new ChangeTracker(doc, {
    isLocal: (origin) => origin !== provider && origin !== persistence,
    pending: Number(session.get(pendingKey)) || 0,
    onChange: (t) => {
      session.set(pendingKey, String(t.pending))
      renderPending(t.pending)
    }
  })
  persistence = new IndexeddbPersistence('quire:' + name, doc)
  const wsBase = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`
  provider = new WebsocketProvider(wsBase, roomSegment(name), doc, {
    connect: false,
    maxBackoffTime,
    params: { ...roomParams(name), ...(token === '' ? {} : { token }) },
    WebSocketPolyfill: tracker.socketClass(WebSocket)
  })
  const awareness = provider.awareness

  // Read-only: from the token's claims at once, or when the server refuses
  // this page's changes (a read-only connection gets a permission-denied
  // message even for the empty sync step 2 that answers the server's step
  // 1, so a page that got its token wrong learns it on connecting).
  const access = { token, claims, readOnly: false, refusal: '' }
  const makeReadOnly = (why) => {
    if (access.readOnly) return
    access.readOnly = true
    quill.disable()
    quill.root.dataset.placeholder = 'This document is empty.'
    document.body.classList.add('read-only')
    $('read-only').hidden = false
    $('read-only').title = why
    renderPending(tracker.pending)
  }
  if (claims?.perm === 'read') makeReadOnly('Your access token lets you read this document, not edit it.')
  provider.messageHandlers[messageAuth] = (_encoder, decoder) => {
    authProtocol.readAuthMessage(decoder, doc, (_doc, reason) => {
      if (access.readOnly) return // expected: the token says read
      access.refusal = reason
      makeReadOnly(`The server refused changes from this page: ${reason}`)
      renderStatus(monitor.state)
    })
  }

  // Identity.
  const user = loadUser()
  const nameInput = /** @type {HTMLInputElement} */ ($('user-name'))
  nameInput.maxLength = maxUserName
  nameInput.value = user.name
  $('me-color').style.backgroundColor = user.color
  awareness.setLocalStateField('user', user)
  nameInput.addEventListener('input', () => {
    if (nameInput.value.trim() === '') return
    user.name = safeName(nameInput.value)
    saveUser(user)
    awareness.setLocalStateField('user', { ...user })
  })
  nameInput.addEventListener('change', () => { nameInput.value = user.name })

  // y-quill creates a remote cursor once and never renames it: drop the
  // cursors whose name or colour changed, before y-quill's own listener
  // (registered after this one) creates them again.
  const cursors = quill.getModule('cursors')
  const labels = new Map()
  awareness.on('change', ({ updated, removed }) => {
    for (const id of removed) labels.delete(id)
    for (const id of updated) {
      const u = awareness.getStates().get(id)?.user ?? {}
      const label = `${safeName(u.name)}\n${safeColor(u.color)}`
      if (labels.has(id) && labels.get(id) !== label) cursors.removeCursor(String(id))
      labels.set(id, label)
    }
  })
  // Remote names reach the cursor labels sanitised like the presence list.
  awareness.on('change', () => renderPresence($('presence'), awareness))
  renderPresence($('presence'), awareness)

  // Leave at once when the page goes away (y-websocket only does so in
  // Node), or other tabs and users keep showing this one for 30 s.
  window.addEventListener('pagehide', () => awareness.setLocalState(null))
  window.addEventListener('pageshow', (e) => {
    if (e.persisted) awareness.setLocalStateField('user', { ...user }) // back from the page cache
  })

  new QuillBinding(doc.getText('quill'), quill, awareness) // eslint-disable-line no-new

  // Connection state.
  const renderStatus = (s) => {
    showStatus(s)
    showNotice(notice(s, access, tracker.pending))
  }
  const monitor = new ConnectionMonitor(provider, { onChange: renderStatus })
  $('retry').addEventListener('click', () => monitor.connectNow())
  setInterval(() => renderStatus(monitor.state), 500)
  renderStatus(monitor.state)
  renderPending(tracker.pending)

  // Connect once IndexedDB has given back what it holds, so that the
  // first sync sends the offline edits too.
  let started = false
  const start = () => {
    if (started) return
    started = true
    provider.connectBc()
    monitor.connectNow()
  }
  persistence.whenSynced.then(start)
  setTimeout(start, idbWaitLimit)

  $('copy-link').addEventListener('click', async () => {
    const button = $('copy-link')
    try {
      await navigator.clipboard.writeText(location.href)
      button.textContent = 'Copied'
    } catch {
      window.prompt('Copy this address:', location.href)
    }
    setTimeout(() => { button.textContent = 'Copy link' }, 1500)
  })

  // For debugging from the console, and for the browser tests.
  window.quire = { name, doc, quill, provider, persistence, tracker, monitor, access }
}

/** @param {import('./connection.js').ConnectionState} s */
const showStatus = (s) => {
  const el = $('status')
  let text
  switch (s.phase) {
    case 'online': text = 'Online'; break
    case 'syncing': text = 'Syncing…'; break
    case 'connecting': text = 'Connecting…'; break
    case 'stopped': text = `Disconnected by the server: ${s.closedReason}`; break // e.g. "token expired" (4401)
    default:
      if (!s.network) text = 'Offline · no network'
      else if (s.retryAt === null) text = 'Offline'
      else {
        const secs = Math.ceil((s.retryAt - Date.now()) / 1000)
        text = secs > 0 ? `Offline · retrying in ${secs} s` : 'Offline · retrying…'
      }
  }
  el.dataset.state = s.phase
  el.title = s.phase === 'stopped' ? `Close code ${s.closedCode}` : ''
  $('status-text').textContent = text
  $('retry').hidden = !(s.phase === 'offline' && s.network) && s.phase !== 'stopped'
}

/**
 * What the page should tell beyond the connection state, or ''.
 * @param {import('./connection.js').ConnectionState} s
 * @param {{token: string, claims: import('./access.js').Claims | null, readOnly: boolean, refusal: string}} access
 * @param {number} pending
 */
const notice = (s, access, pending) => {
  if (s.phase === 'stopped' && s.closedCode === closeTokenExpired) {
    return 'Your access token has expired, so the server closed the connection. Open this document with a new token to reconnect' +
      (pending > 0 ? '; your unconfirmed changes stay in this browser and are sent then.' : '.')
  }
  if (access.refusal !== '') {
    return `The server refused changes from this page (“${access.refusal}”): you can read this document, not edit it.` +
      (pending > 0 ? ' Changes made here before stay in this browser only.' : '')
  }
  if (s.phase !== 'offline' || !s.network || s.failedAttempts < hintAfterFailures) return ''
  if (access.token === '') {
    return 'Still no connection. The server may be down, or it may require an access token: ' +
      'if so, open this document with the link you were given (…?token=…).'
  }
  if (access.claims?.exp != null && access.claims.exp <= Date.now()) {
    return `Still no connection. Your access token expired at ${new Date(access.claims.exp).toLocaleString()}: open this document with a new one.`
  }
  return 'Still no connection. The server may be down, or it may refuse your access token (expired, or not for this document).'
}

/** @param {string} text */
const showNotice = (text) => {
  const el = $('notice')
  if (el.textContent !== text) el.textContent = text
  el.hidden = text === ''
}

/** @param {number} n */
const renderPending = (n) => {
  const el = $('pending')
  el.dataset.count = String(n)
  if (document.body.classList.contains('read-only')) {
    el.textContent = n === 0 ? '' : `${n} ${n === 1 ? 'change' : 'changes'} made here not accepted by the server`
    return
  }
  el.textContent = n === 0
    ? 'All changes confirmed by the server'
    : `${n} ${n === 1 ? 'change' : 'changes'} not yet confirmed by the server`
}

main()
