// Browser tests of the editor: real Chromium (Debian's, driven by
// playwright-core) against the real `quire serve` binary with the bundle
// embedded. Run from the repository root after `npm ci && npm run build`:
//
//   node --test static/e2e/
//
// Each test saves a screenshot to static/e2e/screenshots/.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import {
  buildServer, freePort, Server, launchChromium, newContext, openEditor, waitOnline,
  waitConverged, contents, plain, screenshot, noProblems
} from './harness.mjs'

const testTimeout = 60_000
const uuidPath = /^\/d\/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

let built, server, browser
const contexts = []

before(async () => {
  browser = await launchChromium() // first: fails fast without Chromium
  built = buildServer()
  server = new Server(built.bin, await freePort())
  await server.start()
  const r = await fetch(server.url + '/assets/editor.js')
  assert.equal(r.status, 200, 'the binary has no editor bundle: run `npm run build` before the tests')
})

after(async () => {
  for (const c of contexts) await c.close().catch(() => {})
  await browser?.close()
  await server?.stop().catch((err) => console.error(err.message))
  await server?.destroy()
  built?.cleanup()
})

const context = async (name, color) => {
  const c = await newContext(browser, { name, color })
  contexts.push(c)
  return c
}

/** The attributes of the ops whose text includes s. */
const attrsOf = (ops, s) => ops.filter(op => typeof op.insert === 'string' && op.insert.includes(s)).map(op => op.attributes ?? {})

/** Puts the caret at the end of the document. */
const caretToEnd = (page) => page.evaluate(() => {
  const q = window.quire.quill
  q.focus()
  q.setSelection(q.getLength() - 1, 0, 'user')
})

const pending = (page) => page.evaluate(() => Number(document.getElementById('pending').dataset.count))

test('two users type at once and converge to the same text and formatting', { timeout: testTimeout }, async () => {
  const a = await context('Ada', '#e03131')
  const b = await context('Brian', '#1971c2')

  // "New document" names it by a UUID, and its address is shareable.
  const pa = await a.newPage()
  await pa.goto(server.url + '/')
  await pa.click('#new-doc')
  await pa.waitForURL(u => uuidPath.test(new URL(u).pathname))
  await waitOnline(pa)
  const pb = await b.newPage()
  await pb.goto(pa.url())
  await waitOnline(pb)

  // Two paragraphs, then each user formats and types in one while the
  // other does the same in the other, and both type at the same spot.
  await caretToEnd(pa)
  await pa.keyboard.type('Title line')
  await pa.keyboard.press('Enter')
  await pa.keyboard.type('Body line')
  await waitConverged([pa, pb])

  const typeAt = async (page, text, line, keys) => {
    await page.evaluate((line) => {
      const q = window.quire.quill
      const lines = q.getLines()
      q.focus()
      q.setSelection(q.getIndex(lines[line]) + lines[line].length() - 1, 0, 'user')
    }, line)
    for (const k of keys) await page.keyboard.press(k)
    await page.keyboard.type(text, { delay: 15 })
  }
  await Promise.all([
    typeAt(pa, ' bold by Ada', 0, ['Control+b']),
    typeAt(pb, ' italic by Brian', 1, ['Control+i'])
  ])
  await waitConverged([pa, pb]) // both must see where the body line ends now
  // Both at the very same position (the end of the body line).
  await Promise.all([typeAt(pa, ' xyz', 1, []), typeAt(pb, ' 123', 1, [])])
  await waitConverged([pa, pb])

  // Block formats from the toolbar: a heading by Ada, a list by Brian,
  // and a link by Brian on a selection.
  await pa.evaluate(() => window.quire.quill.setSelection(0, 0, 'user'))
  await pa.click('.ql-toolbar .ql-header .ql-picker-label')
  await pa.click('.ql-toolbar .ql-header .ql-picker-item[data-value="1"]')
  await pb.evaluate(() => {
    const q = window.quire.quill
    q.setSelection(q.getText().indexOf('Body'), 4, 'user')
  })
  await pb.click('.ql-toolbar button.ql-list[value="bullet"]')
  await pb.click('.ql-toolbar button.ql-link')
  await pb.fill('.ql-tooltip input[type=text]', 'https://example.com/')
  await pb.keyboard.press('Enter')

  const ops = await waitConverged([pa, pb])
  const text = plain(ops)
  assert.match(text, /^Title line bold by Ada\n/)
  assert.ok(text.includes(' italic by Brian'), text)
  // Same-spot typing interleaves, but every character is there once.
  const sorted = (s) => [...s].sort().join('')
  const tail = text.slice(text.indexOf('Body line') + 'Body line'.length).replace(/\n$/, '').replace(' italic by Brian', '')
  assert.equal(sorted(tail), sorted(' xyz 123'), JSON.stringify(text))
  assert.deepEqual(attrsOf(ops, 'bold by Ada'), [{ bold: true }])
  assert.deepEqual(attrsOf(ops, 'italic by Brian'), [{ italic: true }])
  assert.deepEqual(attrsOf(ops, 'Body'), [{ link: 'https://example.com/' }])
  assert.ok(ops.some(op => op.attributes?.header === 1), 'heading missing: ' + JSON.stringify(ops))
  assert.ok(ops.some(op => op.attributes?.list === 'bullet'), 'list missing: ' + JSON.stringify(ops))
  await waitOnline(pa)
  await waitOnline(pb)
  await screenshot(pb, 'converge')
  noProblems(a, b)
})

test('edits made offline survive a reload and merge when back online; tabs stay in step', { timeout: testTimeout }, async () => {
  const name = 'offline/notes ü ' + Date.now()
  const a = await context('Ada', '#099268')
  const b = await context('Brian', '#9c36b5')
  const pa = await openEditor(a, server.url, name)
  const pa2 = await openEditor(a, server.url, name) // a second tab of the same browser
  const pb = await openEditor(b, server.url, name)
  await caretToEnd(pb)
  await pb.keyboard.type('Shared start.')
  await waitConverged([pa, pa2, pb])
  // The service worker must hold the page before it can load offline.
  await pa.evaluate(() => navigator.serviceWorker.ready.then(() => true))

  await a.setOffline(true)
  await pa.waitForFunction(() => document.getElementById('status').dataset.state === 'offline')
  assert.match(await pa.textContent('#status'), /Offline · no network/)
  await caretToEnd(pa)
  await pa.keyboard.type(' Written offline.')
  await caretToEnd(pb)
  await pb.keyboard.type(' Written online.')
  // The other tab has it at once (BroadcastChannel), the server has not.
  await pa2.waitForFunction(() => window.quire.quill.getText().includes('Written offline.'))
  assert.ok(await pending(pa) > 0, 'offline edits should be pending')
  await pb.waitForFunction(() => window.quire.quill.getText().includes('Written online.'))
  assert.ok(!plain(await contents(pb)).includes('Written offline.'), 'an offline edit reached the server')

  // Reload while offline: the page comes from the service worker, the
  // document from IndexedDB, the count of unconfirmed changes with it.
  await pa.waitForTimeout(500) // y-indexeddb writes each update in its own transaction
  await pa.reload()
  await pa.waitForFunction(() => window.quire?.quill.getText().includes('Written offline.'))
  // (Chromium's offline emulation does not reach navigator.onLine of a
  // reloaded page: the indicator learns it from the failing attempts.)
  await pa.waitForFunction(() => document.getElementById('status').dataset.state === 'offline')
  assert.ok(await pending(pa) > 0, 'pending count lost on reload')
  // The page before the reload left the presence list: only the other tab is there.
  await pa.waitForFunction(() => document.querySelectorAll('#presence .person:not(.self)').length === 1)
  await screenshot(pa, 'offline-reloaded')

  await a.setOffline(false)
  await waitOnline(pa)
  const ops = await waitConverged([pa, pa2, pb])
  const text = plain(ops)
  assert.ok(text.includes('Written offline.') && text.includes('Written online.'), text)
  assert.equal(text.split('Written offline.').length, 2, 'offline edit duplicated')
  await waitOnline(pa2)
  await waitOnline(pb)
  await screenshot(pa, 'offline-merged')
  noProblems(a, b)
})

test('a user name made of HTML shows as text, never as markup', { timeout: testTimeout }, async () => {
  const evil = '<img src=x onerror=alert(1)>'
  const docName = 'xss/<b>doc</b> ü'
  const a = await context('placeholder', '#c2255c')
  const b = await context('Brian', '#1971c2')
  const pa = await openEditor(a, server.url, docName)
  await pa.fill('#user-name', evil)
  await caretToEnd(pa)
  await pa.keyboard.type('Hello from a strange name')
  const pb = await openEditor(b, server.url, docName)
  await caretToEnd(pb)
  await pb.keyboard.type('!')
  await pa.evaluate(() => window.quire.quill.setSelection(5, 0, 'user')) // a fresh cursor position for b to draw

  // b's presence list and a's cursor label carry the name, as text.
  await pb.locator('.person-name', { hasText: evil }).waitFor()
  await pb.waitForFunction((n) => [...document.querySelectorAll('.ql-cursor-name')].some(e => e.textContent === n), evil)
  for (const p of [pa, pb]) {
    const imgs = await p.evaluate(() => [...document.querySelectorAll('img')].map(i => i.getAttribute('src')))
    assert.deepEqual(imgs, ['/favicon.svg'], 'an img element was created')
  }
  assert.equal(await pa.inputValue('#user-name'), evil)
  assert.equal(await pb.textContent('#doc-name'), docName)
  assert.equal(new URL(pb.url()).pathname, '/d/xss%2F%3Cb%3Edoc%3C%2Fb%3E%20%C3%BC')
  // Show the cursor flag for the screenshot.
  await pb.evaluate(() => window.quire.quill.getModule('cursors').cursors().forEach(c => c.toggleFlag(true)))
  await screenshot(pb, 'names-as-text')

  // The document list shows the name as text and links it correctly.
  const home = await b.newPage()
  await home.goto(server.url + '/')
  const link = home.locator('#recent a', { hasText: docName })
  assert.equal(await link.getAttribute('href'), '/d/xss%2F%3Cb%3Edoc%3C%2Fb%3E%20%C3%BC')
  assert.equal(await home.locator('#recent b').count(), 0)
  await screenshot(home, 'home')
  noProblems(a, b)
})

test('the indicator follows a server restart and editing resumes without a reload', { timeout: testTimeout }, async () => {
  const name = 'restart ' + Date.now()
  const a = await context('Ada', '#e8590c')
  const b = await context('Brian', '#2f9e44')
  const pa = await openEditor(a, server.url, name)
  const pb = await openEditor(b, server.url, name)
  await caretToEnd(pa)
  await pa.keyboard.type('Before the restart.')
  await waitConverged([pa, pb])

  await server.stop()
  for (const p of [pa, pb]) {
    await p.waitForFunction(() => /^Offline · retrying in \d+ s$/.test(document.getElementById('status-text').textContent))
  }
  await caretToEnd(pa)
  await pa.keyboard.type(' Ada while down.')
  await pb.evaluate(() => window.quire.quill.setSelection(0, 0, 'user'))
  await pb.keyboard.type('Brian while down. ')
  assert.ok(await pending(pa) > 0 && await pending(pb) > 0, 'edits made while the server is down must be pending')
  await screenshot(pa, 'server-down')

  await server.start()
  await waitOnline(pa, 25_000)
  await waitOnline(pb, 25_000)
  let text = plain(await waitConverged([pa, pb]))
  assert.equal(text, 'Brian while down. Before the restart. Ada while down.')
  await caretToEnd(pb)
  await pb.keyboard.type(' After.')
  text = plain(await waitConverged([pa, pb]))
  assert.ok(text.endsWith(' After.'), text)
  await waitOnline(pb)
  await screenshot(pa, 'server-restarted')
  noProblems(a, b)
})
