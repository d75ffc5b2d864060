// The editor on a server that wants tokens: real Chromium against
// `quire serve --auth-secret`, with tokens minted by the same binary's
// `quire token`. Run from the repository root after `npm ci && npm run build`:
//
//   node --test static/e2e/access.test.mjs
//
// Each browser test saves a screenshot to static/e2e/screenshots/.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import {
  buildServer, freePort, Server, mintToken, launchChromium, newContext, openEditor, waitOnline,
  waitConverged, contents, plain, screenshot, noProblems, sleep, until
} from './harness.mjs'
import { ChangeTracker } from '../src/tracker.js'
import { roomSegment } from '../src/names.js'
import { takeToken, readClaims, withoutToken } from '../src/access.js'

const testTimeout = 60_000
const secret = randomBytes(32).toString('hex')

let built, server, browser
const contexts = []
const cleanups = []

before(async () => {
  browser = await launchChromium()
  built = buildServer()
  server = new Server(built.bin, await freePort(), ['--auth-secret', secret])
  await server.start()
  const r = await fetch(server.url + '/assets/editor.js')
  assert.equal(r.status, 200, 'the binary has no editor bundle: run `npm run build` before the tests')
})

after(async () => {
  for (const c of cleanups) c()
  for (const c of contexts) await c.close().catch(() => {})
  await browser?.close()
  await server?.stop().catch((err) => console.error(err.message))
  await server?.destroy()
  built?.cleanup()
})

const token = (doc, perm, ttl = '1h') => mintToken(built.bin, secret, ['--doc', doc, '--perm', perm, '--ttl', ttl])

const context = async (name, color) => {
  const c = await newContext(browser, { name, color })
  contexts.push(c)
  return c
}

/** Opens the editor of name with token in its address. */
const openWithToken = async (ctx, name, tok, { online = true } = {}) => {
  const page = await ctx.newPage()
  await page.goto(`${server.url}/d/${encodeURIComponent(name)}?token=${encodeURIComponent(tok)}`)
  await page.waitForFunction(() => window.quire !== undefined)
  if (online) await waitOnline(page)
  return page
}

const statusText = (page) => page.textContent('#status-text')
const noticeText = (page) => page.evaluate(() => {
  const n = document.getElementById('notice')
  return n.hidden ? '' : n.textContent
})

test('a writer edits with a write token; a reader with a read token follows live and cannot edit', { timeout: testTimeout }, async () => {
  const name = 'team/plan ü ' + Date.now()
  const path = '/d/' + encodeURIComponent(name)
  const writeToken = token(name, 'write')
  const readToken = token(name, 'read')
  const w = await context('Wendy Writer', '#1971c2')
  const r = await context('Rudi Reader', '#2f9e44')
  await w.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url })

  const pw = await openWithToken(w, name, writeToken)
  // The token left the address at once, and is kept for the tab.
  assert.equal(new URL(pw.url()).pathname + new URL(pw.url()).search, path)
  assert.equal(await pw.evaluate((n) => sessionStorage.getItem('quire:token:' + n), name), writeToken)
  await pw.evaluate(() => { const q = window.quire.quill; q.focus(); q.setSelection(q.getLength() - 1, 0, 'user') })
  await pw.keyboard.type('Written with a write token.')
  await waitOnline(pw)
  // A reload has no token in its address: the tab's copy connects.
  await pw.reload()
  await pw.waitForFunction(() => window.quire?.quill.getText().includes('Written with a write token.'))
  await waitOnline(pw)
  assert.equal(await pw.isVisible('#read-only'), false)
  // "Copy link" and the recent documents never carry the token.
  await pw.click('#copy-link')
  assert.equal(await pw.evaluate(() => navigator.clipboard.readText()), server.url + path)
  const stored = await pw.evaluate(() => JSON.stringify(localStorage))
  assert.ok(stored.includes('team/plan'), 'the document should be in the recent list')
  assert.ok(!stored.includes(writeToken) && !stored.includes('token'), 'a token reached localStorage: ' + stored)

  const pr = await openWithToken(r, name, readToken)
  assert.equal(new URL(pr.url()).search, '')
  assert.equal(await pr.textContent('#read-only'), 'Read only')
  assert.equal(await pr.isVisible('#read-only'), true)
  assert.equal(await pr.isVisible('.ql-toolbar'), false)
  assert.equal(await pr.getAttribute('.ql-editor', 'contenteditable'), 'false')

  // Live: the writer's edits, cursor and presence reach the reader.
  await pw.evaluate(() => { const q = window.quire.quill; q.focus(); q.setSelection(q.getLength() - 1, 0, 'user') })
  await pw.keyboard.type(' And live.')
  await pw.evaluate(() => window.quire.quill.setSelection(8, 0, 'user'))
  const ops = await waitConverged([pw, pr])
  assert.equal(plain(ops), 'Written with a write token. And live.')
  await pr.locator('.person-name', { hasText: 'Wendy Writer' }).waitFor()
  await pr.waitForFunction(() => [...document.querySelectorAll('.ql-cursor-name')].some(e => e.textContent === 'Wendy Writer'))
  await pw.locator('.person-name', { hasText: 'Rudi Reader' }).waitFor() // the reader's presence is allowed

  // Typing, deleting and formatting on the reader change nothing, there or anywhere.
  await pr.click('.ql-editor')
  await pr.keyboard.type('XYZ')
  await pr.keyboard.press('Enter')
  await pr.keyboard.press('Backspace')
  await pr.keyboard.press('Control+a')
  await pr.keyboard.press('Control+b')
  await pr.keyboard.press('Delete')
  await sleep(500)
  assert.deepEqual(await contents(pr), ops)
  assert.deepEqual(await waitConverged([pw, pr]), ops)
  assert.equal(await pr.getAttribute('#pending', 'data-count'), '0')
  assert.equal(await noticeText(pr), '', 'an expected read-only answer should not raise a notice')
  await waitOnline(pr)
  await pr.evaluate(() => {
    getSelection().removeAllRanges() // Control+a selected the page, the editor being read only
    window.quire.quill.getModule('cursors').cursors().forEach(c => c.toggleFlag(true))
  })
  await screenshot(pr, 'read-only')
  noProblems(w, r)
})

test('a page that cannot read its token learns from the server that it may only read', { timeout: testTimeout }, async () => {
  const name = 'undecodable ' + Date.now()
  const c = await context('Rudi Reader', '#2f9e44')
  // As if the page could not decode the token: it starts editable.
  await c.addInitScript(() => { window.atob = () => { throw new Error('no atob here') } })
  const page = await openWithToken(c, name, token(name, 'read'), { online: false })
  await page.waitForFunction(() => !document.getElementById('read-only').hidden)
  assert.match(await noticeText(page), /^The server refused changes from this page \(“read-only: updates are not accepted”\): you can read this document, not edit it\.$/)
  assert.equal(await page.getAttribute('.ql-editor', 'contenteditable'), 'false')
  assert.match(await page.getAttribute('#read-only', 'title'), /refused/)
  await waitOnline(page)
  await screenshot(page, 'read-only-refused')
  noProblems(c)
})

test('an expired token stops the editor with a clear message; a page without a token hints at access', { timeout: testTimeout }, async () => {
  const name = 'expiring ' + Date.now()
  const a = await context('Ada', '#e8590c')
  const b = await context('Brian', '#9c36b5')
  const pa = await openWithToken(a, name, token(name, 'write', '5s'))
  const mintedAt = Date.now()

  // Meanwhile: no token (the handshake gets 401, the page only sees
  // failures), and the address of the name ".." (carried in the query,
  // also on the socket: /ws/?name=..) with a token.
  const pb = await openEditor(b, server.url, name, { online: false })
  await pb.waitForFunction(() => !document.getElementById('notice').hidden, null, { timeout: 15_000 })
  assert.match(await noticeText(pb), /may require an access token/)
  assert.match(await statusText(pb), /^Offline · retrying/)
  await screenshot(pb, 'no-token')
  const dots = await b.newPage()
  const dotsToken = token('..', 'write')
  await dots.goto(`${server.url}/d/?name=..&token=${dotsToken}`)
  await dots.waitForFunction(() => window.quire !== undefined)
  assert.equal(new URL(dots.url()).pathname + new URL(dots.url()).search, '/d/?name=..')
  assert.equal(await dots.textContent('#doc-name'), '..')
  assert.equal(await dots.evaluate(() => new URL(window.quire.provider.url).searchParams.get('token')), dotsToken)
  await dots.waitForFunction(() => document.getElementById('status').dataset.state === 'online', null, { timeout: 15_000 })
  await dots.close()

  await pa.waitForFunction(() => document.getElementById('status').dataset.state === 'stopped', null, { timeout: 15_000 })
  assert.ok(Date.now() - mintedAt < 8_000, 'closed long after the expiry')
  assert.equal(await statusText(pa), 'Disconnected by the server: token expired')
  assert.match(await noticeText(pa), /^Your access token has expired, so the server closed the connection\. Open this document with a new token to reconnect/)
  assert.equal(await pa.isVisible('#retry'), true)
  // No reconnection until the user acts.
  await sleep(1500)
  assert.equal(await pa.evaluate(() => [window.quire.provider.ws, window.quire.provider.shouldConnect]).then(JSON.stringify), '[null,false]')
  assert.equal(await statusText(pa), 'Disconnected by the server: token expired')
  await screenshot(pa, 'token-expired')
  noProblems(a, b)
})

test('changes the server refuses are never counted as confirmed', { timeout: testTimeout }, async () => {
  const room = 'refused ' + Date.now()
  const client = (perm) => {
    const doc = new Y.Doc()
    let provider = null
    const tracker = new ChangeTracker(doc, { isLocal: (origin) => origin !== provider, probeDelay: 20 })
    provider = new WebsocketProvider(server.url.replace('http:', 'ws:') + '/ws', roomSegment(room), doc, {
      WebSocketPolyfill: tracker.socketClass(WebSocket),
      params: { token: token(room, perm) },
      disableBc: true
    })
    provider.messageHandlers[2] = () => {} // y-websocket would warn on the console
    cleanups.push(() => { provider.destroy(); provider.awareness.destroy() })
    return { doc, tracker, provider }
  }
  const writer = client('write')
  const reader = client('read')
  await until('sync', () => writer.provider.synced && reader.provider.synced)
  writer.doc.getText('t').insert(0, 'w')
  reader.doc.getText('t').insert(0, 'r')
  assert.equal(writer.tracker.pending, 1)
  assert.equal(reader.tracker.pending, 1)
  await until('the writer\'s change confirmed', () => writer.tracker.pending === 0)
  // The reader's socket has had its step 1 probes answered by now too
  // (same server, same round trips); its change was refused, not applied.
  await until('the reader to get its own change\'s answer', () => [...reader.tracker.sockets].some(s => s.refused))
  await sleep(300)
  assert.equal(reader.tracker.pending, 1, 'a refused change was counted as confirmed')
  await until('the writer\'s change to reach the reader', () => reader.doc.getText('t').toString().includes('w'))
  assert.equal(reader.tracker.pending, 1)
  assert.equal(writer.doc.getText('t').toString(), 'w')
})

test('tokens in addresses: taken out of the address, kept per tab and document, claims read for display', () => {
  const kept = new Map()
  const session = { get: (k) => kept.get(k) ?? null, set: (k, v) => kept.set(k, v) }
  const take = (name, href) => {
    const replaced = []
    const history = { state: null, replaceState: (_s, _t, url) => replaced.push(url) }
    const u = new URL(href)
    return [takeToken(name, { href: u.href, search: u.search }, history, session), replaced]
  }
  assert.deepEqual(take('notes', 'http://h/d/notes?token=t1'), ['t1', ['http://h/d/notes']])
  assert.deepEqual(take('notes', 'http://h/d/notes'), ['t1', []], 'a reload keeps the tab\'s token')
  assert.deepEqual(take('notes', 'http://h/d/notes?token=t2#x'), ['t2', ['http://h/d/notes#x']], 'a new token replaces it')
  assert.deepEqual(take('other', 'http://h/d/other'), ['', []], 'tokens are kept per document')
  assert.deepEqual(take('..', 'http://h/d/?name=..&token=t3'), ['t3', ['http://h/d/?name=..']])
  assert.deepEqual(take('..', 'http://h/d/?token=&name=..'), ['t3', ['http://h/d/?name=..']], 'an empty token keeps the kept one')
  assert.equal(withoutToken('http://h/d/a%2Fb?token=x&token=y'), 'http://h/d/a%2Fb')

  const before = Date.now()
  const c = readClaims(token('notes', 'read', '1h'))
  assert.equal(c.perm, 'read')
  assert.ok(c.exp >= before + 3_598_000 && c.exp <= Date.now() + 3_600_000, String(c.exp))
  assert.equal(readClaims(token('notes', 'write')).perm, 'write')
  for (const bad of ['', 'abc', 'a.b', 'a.!!!.c', 'a.' + Buffer.from('[1]').toString('base64url') + '.c', 'a.' + Buffer.from('{"perm":"admin"}').toString('base64url') + '.c']) {
    const got = readClaims(bad)
    assert.ok(got === null || (got.perm === '' && got.exp === null), `${bad}: ${JSON.stringify(got)}`)
  }
})
