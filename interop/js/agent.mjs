// Interop agent: a Node process holding any number of real Yjs clients
// (yjs + y-websocket's WebsocketProvider over the `ws` package), driven by
// the Go tests in interop/ through a line protocol.
//
//   node interop/js/agent.mjs            (environment below)
//
// Environment:
//   QUIRE_WS_URL   base URL of the server's WebSocket endpoint, e.g.
//                  ws://127.0.0.1:1234/ws (the provider appends /<doc>)
//   QUIRE_SEED     seed of the PRNG that picks insert/delete positions
//
// Protocol: one JSON object per line on stdin, {"id": N, "cmd": "...", ...};
// one JSON object per line on stdout answering it, {"id": N, "ok": true,
// "result": ...} or {"id": N, "ok": false, "error": "..."}. Nothing else is
// written to stdout; diagnostics go to stderr. Commands run one at a time,
// in order; background edit loops (cmd "edit") run between them. The agent
// exits when stdin closes.
//
// Content model, per client (all in the document's root types):
//   Y.Text  "text":  markers "<client>#<n>|", each inserted whole at a random
//                    marker boundary, so concurrent inserts never split one;
//   Y.Map   "map":   key <client> = its last n, key "last" = the last marker
//                    (a contested key: all clients write it);
//   Y.Array "array": every marker pushed once;
//   Y.Text  "big":   large pastes (cmd "paste"), reported by length and hash.
// A client deletes only its own markers, so "every live marker present
// exactly once" is checkable from the union of the clients' own logs.

import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import * as awarenessProtocol from 'y-protocols/awareness'
import WebSocket from 'ws'
import * as readline from 'node:readline'
import { createHash } from 'node:crypto'
import { canon } from '../../scripts/yjs/canon.mjs'

const baseURL = process.env.QUIRE_WS_URL
if (!baseURL) {
  process.stderr.write('agent: QUIRE_WS_URL is not set\n')
  process.exit(2)
}

// mulberry32
let seed = (Number(process.env.QUIRE_SEED) || 1) >>> 0
const rand = () => {
  seed = (seed + 0x6d2b79f5) >>> 0
  let t = seed
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const toBase64 = (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
const log = (...args) => process.stderr.write(`agent: ${args.join(' ')}\n`)

/** @type {Map<string, any>} */
const clients = new Map()

const getClient = (name) => {
  const c = clients.get(name)
  if (!c) throw new Error(`no client ${JSON.stringify(name)}`)
  return c
}

// A WebSocket class that sends an Origin header, as browsers do.
const withOrigin = (origin) => class extends WebSocket {
  constructor (url, protocols) {
    super(url, protocols, { origin })
  }
}

const open = ({ name, doc: docName, awareness: localState = {}, connect = true, origin = null, params = {} }) => {
  if (!name || !docName) throw new Error('open needs name and doc')
  if (clients.has(name)) throw new Error(`client ${name} exists`)
  const doc = new Y.Doc()
  const awareness = new awarenessProtocol.Awareness(doc)
  // null: this client never sends awareness (no 15 s renewals either), so
  // only the server can keep its connection from looking idle.
  awareness.setLocalState(localState)
  const provider = new WebsocketProvider(baseURL, docName, doc, {
    WebSocketPolyfill: origin ? withOrigin(origin) : WebSocket,
    awareness,
    connect,
    // URL query parameters of the handshake, e.g. {token} for a server
    // that requires one.
    params,
    // Several clients share this process: without this they would sync
    // through a BroadcastChannel instead of through the server.
    disableBc: true
  })
  const c = {
    name,
    docName,
    doc,
    provider,
    awareness,
    text: doc.getText('text'),
    map: doc.getMap('map'),
    array: doc.getArray('array'),
    big: doc.getText('big'),
    next: 1,
    inserted: [],
    deleted: new Set(),
    events: [],
    loop: null
  }
  const t0 = Date.now()
  provider.on('status', ({ status }) => c.events.push({ t: Date.now() - t0, type: 'status', status }))
  provider.on('sync', (synced) => c.events.push({ t: Date.now() - t0, type: 'sync', synced }))
  provider.on('connection-close', (ev) => c.events.push({
    t: Date.now() - t0,
    type: 'close',
    // null when the client closed the socket itself (disconnect(), or
    // y-websocket's 30 s no-message watchdog)
    code: ev ? ev.code : null,
    reason: ev ? String(ev.reason || '') : ''
  }))
  provider.on('connection-error', () => c.events.push({ t: Date.now() - t0, type: 'error' }))
  clients.set(name, c)
  return { clientID: doc.clientID }
}

const waitSynced = ({ name, timeoutMs = 10000 }) => {
  const c = getClient(name)
  if (c.provider.synced) return Promise.resolve(true)
  return new Promise((resolve, reject) => {
    const onSync = (s) => {
      if (!s) return
      clearTimeout(timer)
      c.provider.off('sync', onSync)
      resolve(true)
    }
    const timer = setTimeout(() => {
      c.provider.off('sync', onSync)
      reject(new Error(`client ${name}: not synced after ${timeoutMs} ms (connected=${c.provider.wsconnected})`))
    }, timeoutMs)
    c.provider.on('sync', onSync)
  })
}

// Boundaries of markers in s: 0 and every index after a '|'.
const boundaries = (s) => {
  const b = [0]
  for (let i = 0; i < s.length; i++) if (s[i] === '|') b.push(i + 1)
  return b
}

// Index of the whole marker token m in s, or -1.
const tokenIndex = (s, m) => {
  const tok = m + '|'
  let from = 0
  for (;;) {
    const i = s.indexOf(tok, from)
    if (i < 0 || i === 0 || s[i - 1] === '|') return i
    from = i + 1
  }
}

const insertOne = (c) => {
  const n = c.next++
  const m = `${c.name}#${n}`
  const b = boundaries(c.text.toString())
  const pos = b[Math.floor(rand() * b.length)]
  c.doc.transact(() => {
    c.text.insert(pos, m + '|')
    c.map.set(c.name, n)
    c.map.set('last', m)
    c.array.insert(Math.floor(rand() * (c.array.length + 1)), [m])
  })
  c.inserted.push(m)
}

// Appends size characters to "big" in one transaction (one message).
const paste = ({ name, size }) => {
  const c = getClient(name)
  const unit = `<${c.name} pasted this at ${c.big.length}>`
  c.big.insert(c.big.length, unit.repeat(Math.ceil(size / unit.length)).slice(0, size))
  return { length: c.big.length }
}

const insert = ({ name, count = 1 }) => {
  const c = getClient(name)
  for (let i = 0; i < count; i++) insertOne(c)
  return { inserted: c.inserted.length }
}

// Deletes up to count of the client's own live markers (text and array).
const deleteOwn = ({ name, count = 1 }) => {
  const c = getClient(name)
  const live = c.inserted.filter((m) => !c.deleted.has(m))
  let done = 0
  while (done < count && live.length > 0) {
    const m = live.splice(Math.floor(rand() * live.length), 1)[0]
    const ti = tokenIndex(c.text.toString(), m)
    const ai = c.array.toArray().indexOf(m)
    if (ti < 0 || ai < 0) throw new Error(`client ${c.name}: own marker ${m} missing (text ${ti}, array ${ai})`)
    c.doc.transact(() => {
      c.text.delete(ti, m.length + 1)
      c.array.delete(ai, 1)
    })
    c.deleted.add(m)
    done++
  }
  return { deleted: c.deleted.size }
}

// Starts a background loop: every intervalMs, `batch` inserts (one
// transaction each), until `max` inserts were made by it or "stop".
const edit = ({ name, intervalMs = 20, batch = 1, max = 1000, deleteEvery = 0 }) => {
  const c = getClient(name)
  if (c.loop) throw new Error(`client ${name} is already editing`)
  let made = 0
  const tick = () => {
    for (let i = 0; i < batch && made < max; i++) {
      insertOne(c)
      made++
      if (deleteEvery > 0 && made % deleteEvery === 0) deleteOwn({ name, count: 1 })
    }
    c.loop = made < max ? setTimeout(tick, intervalMs) : null
  }
  c.loop = setTimeout(tick, 0)
  return {}
}

const stop = ({ name }) => {
  const c = getClient(name)
  if (c.loop) clearTimeout(c.loop)
  c.loop = null
  return { inserted: c.inserted.length, deleted: c.deleted.size }
}

const snapshot = ({ name, markers = false }) => {
  const c = getClient(name)
  const r = {
    name: c.name,
    clientID: c.doc.clientID,
    sv: toBase64(Y.encodeStateVector(c.doc)),
    text: c.text.toString(),
    map: c.map.toJSON(),
    array: c.array.toJSON(),
    bigLength: c.big.length,
    bigSHA256: createHash('sha256').update(c.big.toString()).digest('hex'),
    connected: c.provider.wsconnected,
    synced: c.provider.synced,
    editing: c.loop !== null
  }
  if (markers) {
    r.inserted = c.inserted
    r.deleted = [...c.deleted]
  }
  return r
}

const awarenessStates = ({ name }) => {
  const c = getClient(name)
  const states = []
  for (const [clientID, state] of c.awareness.getStates()) states.push({ clientID, state })
  return { self: c.doc.clientID, states }
}

const setAwareness = ({ name, state }) => {
  getClient(name).awareness.setLocalState(state)
  return {}
}

const events = ({ name }) => {
  const c = getClient(name)
  return { events: c.events, connected: c.provider.wsconnected, synced: c.provider.synced }
}

const disconnect = ({ name }) => { getClient(name).provider.disconnect(); return {} }
const connect = ({ name }) => { getClient(name).provider.connect(); return {} }

const destroy = ({ name }) => {
  const c = getClient(name)
  if (c.loop) clearTimeout(c.loop)
  c.provider.destroy()
  c.doc.destroy()
  clients.delete(name)
  return {}
}

// Rich content: every kind of content a Yjs client can produce (formatted
// and embedded text, astral-plane characters, every Any value, binary,
// nested and XML types, a subdocument reference), in roots of their own.
const richRoots = (doc) => ({
  rtext: doc.getText('rtext'),
  rmap: doc.getMap('rmap'),
  rarray: doc.getArray('rarray'),
  rxml: doc.getXmlFragment('rxml')
})

const richSteps = [
  (doc, r) => doc.transact(() => {
    r.rtext.insert(0, 'Hello 🌍 wörld — ünïcode ✓ 𝄞 end')
    r.rtext.format(0, 5, { bold: true })
    r.rtext.insert(6, 'big ', { italic: true, color: '#f00' })
    r.rtext.insertEmbed(3, { image: 'img.png', width: 10 })
  }),
  (doc, r) => doc.transact(() => {
    r.rtext.delete(1, 2)
    r.rtext.format(2, 6, { bold: null, link: { href: 'x', n: 1 } })
  }),
  (doc, r) => doc.transact(() => {
    const m = r.rmap
    m.set('int', 42)
    m.set('neg', -7)
    m.set('float', 3.25)
    m.set('double', 0.1)
    m.set('maxSafe', Number.MAX_SAFE_INTEGER)
    m.set('nan', NaN)
    m.set('inf', -Infinity)
    m.set('negzero', -0)
    m.set('bigint', 12345678901234567n)
    m.set('str', 'ß𝔘 "quoted" \\ \n')
    m.set('empty', '')
    m.set('bool', false)
    m.set('null', null)
    m.set('undef', undefined)
    m.set('bytes', new Uint8Array([0, 1, 2, 255]))
    m.set('obj', { z: 1, a: [1, { b: 'c' }], d: null, e: {} })
    m.set('arr', [1, 'two', false, [], [null]])
  }),
  (doc, r) => doc.transact(() => {
    const nm = new Y.Map()
    r.rmap.set('nested', nm)
    nm.set('k', 'v')
    const nt = new Y.Text('inner text')
    nm.set('text', nt)
    nt.format(0, 5, { u: true })
    const na = new Y.Array()
    nm.set('list', na)
    na.push([1, 'x', { o: 1 }, new Uint8Array([9]), new Y.Text('t'), new Y.Map(), new Y.Array()])
    na.delete(1, 1)
    r.rmap.set('int', 43) // overwrite
    r.rmap.delete('neg')
    r.rmap.set('sub', new Y.Doc({ guid: 'sub-guid-1', meta: { kind: 'page' } }))
  }),
  (doc, r) => doc.transact(() => {
    r.rarray.insert(0, [1, 'x', { o: 1 }, new Uint8Array([9]), new Y.Text('t'), new Y.Array()])
    r.rarray.delete(1, 1)
    r.rarray.push([['nested', ['deep']]])
    const p = new Y.XmlElement('p')
    p.setAttribute('class', 'c1')
    p.setAttribute('data-n', '2')
    const xt = new Y.XmlText('paragraph')
    p.insert(0, [xt])
    xt.format(0, 4, { b: {} })
    xt.setAttribute('lang', 'en')
    r.rxml.insert(0, [p, new Y.XmlText('tail'), new Y.XmlElement('hr')])
    const h = new Y.XmlHook('hook')
    h.set('hk', 'hv')
    r.rxml.push([h])
  })
]

// Runs rich-content step `step` (0-based); {done: true} when none is left.
const rich = ({ name, step }) => {
  const c = getClient(name)
  if (step >= richSteps.length) return { done: true }
  richSteps[step](c.doc, richRoots(c.doc))
  return { done: false }
}

// Inserts s into the rich text at UTF-16 index (may split a surrogate
// pair: Yjs then writes U+FFFD halves, and so must everybody else).
const richInsert = ({ name, index, text }) => {
  const c = getClient(name)
  richRoots(c.doc).rtext.insert(index, text)
  return { length: richRoots(c.doc).rtext.length }
}

const richCanon = ({ name }) => {
  const c = getClient(name)
  const r = richRoots(c.doc)
  const out = {}
  for (const k of Object.keys(r).sort()) out[k] = canon(r[k])
  return { sv: toBase64(Y.encodeStateVector(c.doc)), canon: JSON.stringify(out), synced: c.provider.synced, connected: c.provider.wsconnected }
}

const handlers = {
  rich,
  richInsert,
  richCanon,
  open,
  waitSynced,
  insert,
  paste,
  deleteOwn,
  edit,
  stop,
  snapshot,
  awareness: awarenessStates,
  setAwareness,
  events,
  disconnect,
  connect,
  destroy,
  ping: () => ({ pid: process.pid })
}

const reply = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')

const shutdown = (code) => {
  for (const c of clients.values()) {
    try {
      if (c.loop) clearTimeout(c.loop)
      c.provider.destroy()
    } catch (e) {
      log('destroy:', e)
    }
  }
  process.exit(code)
}

process.on('uncaughtException', (e) => {
  log('uncaught exception:', e && e.stack ? e.stack : e)
  shutdown(1)
})
process.on('unhandledRejection', (e) => {
  log('unhandled rejection:', e && e.stack ? e.stack : e)
  shutdown(1)
})

const rl = readline.createInterface({ input: process.stdin, terminal: false })
const queue = []
let busy = false
const pump = async () => {
  if (busy) return
  busy = true
  while (queue.length > 0) {
    const line = queue.shift()
    let msg
    try {
      msg = JSON.parse(line)
    } catch (e) {
      log('bad request line:', line)
      continue
    }
    const h = handlers[msg.cmd]
    try {
      if (!h) throw new Error(`unknown command ${JSON.stringify(msg.cmd)}`)
      const result = await h(msg)
      reply({ id: msg.id, ok: true, result })
    } catch (e) {
      reply({ id: msg.id, ok: false, error: String(e && e.message ? e.message : e) })
    }
  }
  busy = false
}
rl.on('line', (line) => {
  if (line.trim() === '') return
  queue.push(line)
  pump()
})
rl.on('close', () => shutdown(0))
