// What the browser tests need around them: the real `quire serve` binary
// on a free loopback port with a temporary data directory (stoppable and
// restartable on the same port), and Debian's Chromium driven by
// playwright-core. Every wait is bounded.

import assert from 'node:assert/strict'
import { spawn, execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, mkdirSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const screenshotDir = path.join(repoRoot, 'static/e2e/screenshots')

export const chromiumPath = process.env.QUIRE_CHROMIUM ?? '/usr/bin/chromium'
const startTimeout = 30_000
const stopTimeout = 20_000

/** Builds the server into a temporary directory (or uses QUIRE_E2E_BIN). */
export const buildServer = () => {
  if (process.env.QUIRE_E2E_BIN) return { bin: process.env.QUIRE_E2E_BIN, cleanup: () => {} }
  const dir = mkdtempSync(path.join(tmpdir(), 'quire-e2e-bin-'))
  const bin = path.join(dir, 'quire')
  execFileSync('go', ['build', '-o', bin, './cmd/quire'], { cwd: repoRoot, stdio: 'inherit', timeout: 300_000 })
  return { bin, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** A loopback port that was free a moment ago. */
export const freePort = () => new Promise((resolve, reject) => {
  const srv = createServer()
  srv.once('error', reject)
  srv.listen(0, '127.0.0.1', () => {
    const { port } = srv.address()
    srv.close(() => resolve(port))
  })
})

export const sleep = (ms) => new Promise(resolve => setTimeout(resolve, ms))

/** Waits until cond() holds, polling every 20 ms, for at most timeout ms. */
export const until = async (what, cond, timeout = 15_000) => {
  const deadline = Date.now() + timeout
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

/** One `quire serve` on a fixed address and data directory. */
export class Server {
  /**
   * @param {string} bin
   * @param {number} port
   * @param {string[]} [args] more flags of `quire serve`, such as ['--auth-secret', s]
   */
  constructor (bin, port, args = []) {
    this.bin = bin
    this.args = args
    this.addr = `127.0.0.1:${port}`
    this.url = `http://${this.addr}`
    this.dataDir = mkdtempSync(path.join(tmpdir(), 'quire-e2e-data-'))
    this.logs = ''
    this.proc = null
  }

  async start () {
    if (this.proc) throw new Error('server already running')
    const proc = spawn(this.bin, ['serve', '--addr', this.addr, '--data-dir', this.dataDir, '--log-level', 'debug', ...this.args], { stdio: ['ignore', 'pipe', 'pipe'] })
    this.proc = proc
    proc.exited = new Promise(resolve => proc.once('exit', (code, signal) => resolve({ code, signal })))
    const collect = (d) => { this.logs += d }
    proc.stdout.on('data', collect)
    proc.stderr.on('data', collect)
    const deadline = Date.now() + startTimeout
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`server exited while starting:\n${this.logs}`)
      try {
        const r = await fetch(this.url + '/healthz', { signal: AbortSignal.timeout(1000) })
        if (r.ok) return
      } catch {}
      if (Date.now() > deadline) throw new Error(`server not healthy within ${startTimeout} ms:\n${this.logs}`)
      await sleep(50)
    }
  }

  /** SIGTERM, and wait for a clean exit. */
  async stop () {
    const proc = this.proc
    if (!proc) return
    this.proc = null
    proc.kill('SIGTERM')
    const timer = sleep(stopTimeout).then(() => 'timeout')
    const res = await Promise.race([proc.exited, timer])
    if (res === 'timeout') {
      proc.kill('SIGKILL')
      throw new Error(`server did not exit within ${stopTimeout} ms of SIGTERM`)
    }
    if (res.code !== 0) throw new Error(`server exited with ${JSON.stringify(res)} after SIGTERM:\n${this.logs}`)
  }

  async destroy () {
    if (this.proc) {
      this.proc.kill('SIGKILL')
      await this.proc.exited
      this.proc = null
    }
    rmSync(this.dataDir, { recursive: true, force: true })
  }
}

/**
 * A token minted by the binary's `quire token` with secret, e.g.
 * mintToken(bin, secret, ['--doc', 'notes', '--perm', 'read', '--ttl', '1h']).
 */
export const mintToken = (bin, secret, args) =>
  execFileSync(bin, ['token', '--auth-secret', secret, ...args], { encoding: 'utf8', timeout: 10_000 }).trim()

/** Chromium, headless. Fails (never skips) when it is not installed. */
export const launchChromium = async () => {
  if (!existsSync(chromiumPath)) {
    throw new Error(`Chromium not found at ${chromiumPath}: install it (apt-get install -y chromium) or set QUIRE_CHROMIUM`)
  }
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    timeout: 30_000,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage']
  })
}

/**
 * A browser context whose pages fail the test on page errors, console
 * errors, a duplicated yjs or any dialog (alert); `problems` collects them.
 * @param {import('playwright-core').Browser} browser
 * @param {{name: string, color: string}} user the name stored before the first page loads
 */
export const newContext = async (browser, user) => {
  const context = await browser.newContext({ viewport: { width: 1180, height: 760 }, serviceWorkers: 'allow' })
  context.setDefaultTimeout(15_000)
  context.problems = []
  await context.addInitScript((u) => {
    try {
      if (u && localStorage.getItem('quire:user') === null) localStorage.setItem('quire:user', JSON.stringify(u))
    } catch {} // documents without storage (about:blank, error pages)
  }, user)
  context.on('page', (page) => watchPage(context, page))
  return context
}

/** Fails if a page of the contexts (from newContext) logged problems. */
export const noProblems = (...contexts) => {
  for (const c of contexts) assert.deepEqual(c.problems, [], 'the pages logged problems')
}

const watchPage = (context, page) => {
  page.on('pageerror', (err) => context.problems.push(`page error: ${err.message}`))
  page.on('dialog', (d) => {
    context.problems.push(`dialog (${d.type()}): ${d.message()}`)
    d.dismiss().catch(() => {})
  })
  page.on('console', (msg) => {
    const text = msg.text()
    if (/Yjs was already imported/.test(text)) context.problems.push(`duplicated yjs: ${text}`)
    // Failed socket and page loads are expected while the server is down
    // or the context is offline; anything else logged as an error is not.
    if (msg.type() === 'error' && !/WebSocket|ERR_INTERNET_DISCONNECTED|ERR_CONNECTION_REFUSED|Failed to load resource/.test(text)) {
      context.problems.push(`console error: ${text}`)
    }
  })
}

/** Saves a screenshot of page as static/e2e/screenshots/<name>.png. */
export const screenshot = async (page, name) => {
  mkdirSync(screenshotDir, { recursive: true })
  await page.screenshot({ path: path.join(screenshotDir, `${name}.png`) })
}

/** Opens the editor of document name in a new page of context, and waits until it is online. */
export const openEditor = async (context, base, name, { online = true } = {}) => {
  const page = await context.newPage()
  await page.goto(base + '/d/' + encodeURIComponent(name))
  await page.waitForFunction(() => window.quire !== undefined)
  if (online) await waitOnline(page)
  return page
}

/** Waits until the page is online, synced, and the server confirmed every change. */
export const waitOnline = async (page, timeout = 20_000) => {
  await page.waitForFunction(() =>
    document.getElementById('status').dataset.state === 'online' &&
    document.getElementById('pending').dataset.count === '0', null, { timeout })
}

/** The shared document as the page holds it: the Y.Text's delta. */
export const contents = (page) => page.evaluate(() => window.quire.doc.getText('quill').toDelta())

/**
 * What the page's editor shows: the HTML of Quill's editor, without empty
 * paragraphs at the end (y-quill may leave one more there than a fresh
 * load would, when the last line was formatted remotely).
 */
export const view = (page) => page.evaluate(() => document.querySelector('.ql-editor').innerHTML.replace(/(<p><br><\/p>)+$/, ''))

/**
 * Waits until every page holds the same document and shows it the same
 * way, and returns the document's delta.
 */
export const waitConverged = async (pages, timeout = 20_000) => {
  const deadline = Date.now() + timeout
  for (;;) {
    const all = await Promise.all(pages.map(async p => JSON.stringify([await contents(p), await view(p)])))
    if (all.every(c => c === all[0])) return JSON.parse(all[0])[0]
    if (Date.now() > deadline) throw new Error(`pages did not converge within ${timeout} ms:\n${all.join('\n')}`)
    await sleep(100)
  }
}

/** The plain text of a delta. */
export const plain = (ops) => ops.map(op => typeof op.insert === 'string' ? op.insert : '').join('')
