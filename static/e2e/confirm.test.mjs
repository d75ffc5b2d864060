// The page's modules that need no browser, in Node against the real
// binary: what "confirmed" means (tracker.js), and document names in
// addresses (names.js).
//
//   node --test static/e2e/confirm.test.mjs

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import { buildServer, freePort, Server, sleep, until } from './harness.mjs'
import { ChangeTracker } from '../src/tracker.js'
import { editorPath, nameFromLocation, nameProblem, roomSegment, roomParams } from '../src/names.js'

let built, server
const cleanups = []

before(async () => {
  built = buildServer()
  server = new Server(built.bin, await freePort())
  await server.start()
})

after(async () => {
  for (const c of cleanups) c()
  await server?.stop().catch((err) => console.error(err.message))
  await server?.destroy()
  built?.cleanup()
})

// Ends a provider and its awareness, whose timer would keep Node running.
const destroy = (provider) => {
  provider.destroy()
  provider.awareness.destroy()
}

/** A page's client: a Y.Doc with a tracker and a provider as editor.js sets them up. */
const trackedClient = (room) => {
  const doc = new Y.Doc()
  let provider = null
  const tracker = new ChangeTracker(doc, { isLocal: (origin) => origin !== provider, probeDelay: 20 })
  provider = new WebsocketProvider(server.url.replace('http:', 'ws:') + '/ws', roomSegment(room), doc, {
    WebSocketPolyfill: tracker.socketClass(WebSocket),
    disableBc: true,
    maxBackoffTime: 200
  })
  cleanups.push(() => destroy(provider))
  return { doc, tracker, provider, text: doc.getText('t') }
}

/** The document as a new client gets it from the server. */
const serverText = async (room) => {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(server.url.replace('http:', 'ws:') + '/ws', roomSegment(room), doc, { WebSocketPolyfill: WebSocket, disableBc: true })
  try {
    await until('a fresh client to sync', () => provider.synced)
    return doc.getText('t').toString()
  } finally {
    destroy(provider)
  }
}

test('a change counts as confirmed only once the server has it', { timeout: 60_000 }, async () => {
  const room = 'confirm ' + Date.now()
  const a = trackedClient(room)
  await until('sync', () => a.provider.synced)
  assert.equal(a.tracker.pending, 0)

  // Each time the count drops to zero, a fresh client must find every
  // change in the server's copy.
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 20; i++) a.text.insert(a.text.length, `${round}.${i} `)
    assert.ok(a.tracker.pending > 0)
    await until('confirmation', () => a.tracker.pending === 0)
    assert.equal(await serverText(room), a.text.toString())
  }
  assert.equal(a.tracker.made, 100)

  // Remote changes are not the page's to confirm.
  const b = trackedClient(room)
  await until('b sync', () => b.provider.synced)
  b.text.insert(0, 'from b ')
  await until('a to receive b', () => a.text.toString().startsWith('from b '))
  assert.equal(a.tracker.made, 100)
  assert.equal(a.tracker.pending, 0)
})

test('changes made while the server is down stay pending until a new connection confirms them', { timeout: 60_000 }, async () => {
  const room = 'confirm restart ' + Date.now()
  const a = trackedClient(room)
  await until('sync', () => a.provider.synced)
  a.text.insert(0, 'before ')
  await until('confirmation', () => a.tracker.pending === 0)

  await server.stop()
  await until('disconnect', () => !a.provider.wsconnected)
  for (let i = 0; i < 10; i++) a.text.insert(a.text.length, `down${i} `)
  await sleep(500) // attempts fail meanwhile; nothing may be confirmed
  assert.equal(a.tracker.pending, 10)

  await server.start()
  await until('confirmation after the restart', () => a.tracker.pending === 0, 20_000)
  assert.equal(await serverText(room), a.text.toString())
  assert.ok(a.text.toString().includes('down9 '))
})

test('a tab reloaded with pending changes confirms them on its first connection', { timeout: 60_000 }, async () => {
  // The reloaded page: the document (as IndexedDB gives it back) holds
  // changes the server never got, and the tab remembers their number.
  const room = 'confirm reload ' + Date.now()
  const offline = new Y.Doc()
  offline.getText('t').insert(0, 'written offline, then reloaded')
  const doc = new Y.Doc()
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(offline), 'idb')
  let provider = null
  const tracker = new ChangeTracker(doc, { isLocal: (o) => o !== provider && o !== 'idb', pending: 3, probeDelay: 20 })
  provider = new WebsocketProvider(server.url.replace('http:', 'ws:') + '/ws', roomSegment(room), doc, { WebSocketPolyfill: tracker.socketClass(WebSocket), disableBc: true })
  cleanups.push(() => destroy(provider))
  assert.equal(tracker.pending, 3)
  await until('confirmation', () => tracker.pending === 0)
  assert.equal(await serverText(room), 'written offline, then reloaded')
})

test('document names survive the address bar', () => {
  const names = ['notes', 'team/notes ü', 'a/../b', '/lead', 'trail/', 'a//b', '.', '..', '...', '%2e', '100% sure?#x', 'emoji 😀', 'new\u00a0line']
  for (const name of names) {
    const path = editorPath(name)
    const url = new URL(path, 'http://localhost:8080') // as the browser resolves it
    assert.equal(url.pathname + url.search, path, `${JSON.stringify(name)}: ${path} changed in the address bar`)
    assert.equal(nameFromLocation(url), name, path)
    // The socket address as y-websocket builds it (server URL, "/", room
    // segment, then the params) must also reach the server unchanged; the
    // server's decoding of both forms is tested in sync/http_test.go.
    const params = new URLSearchParams({ ...roomParams(name), token: 't' }).toString()
    const socket = 'ws://localhost:8080/ws/' + roomSegment(name) + '?' + params
    const resolved = new URL(socket)
    assert.equal(resolved.href, socket, `${JSON.stringify(name)}: socket address changed`)
    const named = resolved.pathname === '/ws/' ? resolved.searchParams.get('name') : decodeURIComponent(resolved.pathname.slice(4))
    assert.equal(named, name, `${JSON.stringify(name)}: socket names another document`)
  }
  assert.equal(editorPath('team/notes ü'), '/d/team%2Fnotes%20%C3%BC')
  assert.equal(nameFromLocation({ pathname: '/d/%E0%A4', search: '' }), null, 'malformed percent-encoding')
  assert.equal(nameFromLocation({ pathname: '/d/', search: '' }), null, 'no name')
  assert.equal(nameFromLocation({ pathname: '/d/a%07b', search: '' }), null, 'control character')

  assert.equal(nameProblem('ok'), '')
  assert.match(nameProblem(''), /Enter a name/)
  assert.match(nameProblem('a\nb'), /control character/)
  assert.match(nameProblem('\u0085'), /control character/)
  assert.match(nameProblem('\ud800'), /not valid Unicode/)
  assert.equal(nameProblem('é'.repeat(127)), '') // 254 bytes
  assert.match(nameProblem('é'.repeat(128)), /256 bytes/)
})
