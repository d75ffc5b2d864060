// The editor page, /d/<name>: Quill bound to a Y.Text with y-quill,
// synced with the server by y-websocket, kept in IndexedDB by y-indexeddb
// (so that it opens and takes edits offline) and shared with other tabs
// over y-websocket's BroadcastChannel.

import 'quill/dist/quill.snow.css'
import 'quill-cursors/css'
import './editor.css'

import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { IndexeddbPersistence } from 'y-indexeddb'
import Quill from 'quill'
import quillCursorsModule from 'quill-cursors/core'
import { QuillBinding } from 'y-quill'

import { nameFromLocation, roomSegment } from './names.js'
import { loadUser, saveUser, touchRecent, safeName, safeColor, maxUserName } from './prefs.js'
import { ChangeTracker } from './tracker.js'
import { ConnectionMonitor } from './connection.js'
import { renderPresence } from './presence.js'
import { registerServiceWorker } from './sw-register.js'

// quill-cursors is CommonJS compiled from an ES module: in Node's interop
// (this package is "type": "module") its default import is the exports
// object, whose default is the class.
const QuillCursors = quillCursorsModule.default ?? quillCursorsModule

const maxBackoffTime = 10_000 // longest wait between reconnection attempts
const idbWaitLimit = 3_000 // connect anyway if IndexedDB does not answer

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
  touchRecent(name)

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
    WebSocketPolyfill: tracker.socketClass(WebSocket)
  })
  const awareness = provider.awareness

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
  window.quire = { name, doc, quill, provider, persistence, tracker, monitor }
}

/** @param {import('./connection.js').ConnectionState} s */
const renderStatus = (s) => {
  const el = $('status')
  let text
  switch (s.phase) {
    case 'online': text = 'Online'; break
    case 'syncing': text = 'Syncing…'; break
    case 'connecting': text = 'Connecting…'; break
    case 'stopped': text = `Disconnected by the server: ${s.closedReason}`; break
    default:
      if (!s.network) text = 'Offline · no network'
      else if (s.retryAt === null) text = 'Offline'
      else {
        const secs = Math.ceil((s.retryAt - Date.now()) / 1000)
        text = secs > 0 ? `Offline · retrying in ${secs} s` : 'Offline · retrying…'
      }
  }
  el.dataset.state = s.phase
  $('status-text').textContent = text
  $('retry').hidden = !(s.phase === 'offline' && s.network) && s.phase !== 'stopped'
}

/** @param {number} n */
const renderPending = (n) => {
  const el = $('pending')
  el.dataset.count = String(n)
  el.textContent = n === 0
    ? 'All changes confirmed by the server'
    : `${n} ${n === 1 ? 'change' : 'changes'} not yet confirmed by the server`
}

main()
