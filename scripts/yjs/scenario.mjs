// Seeded differential-test scenario generator driving the real `yjs`.
//
//   node scripts/yjs/scenario.mjs --seed N [--steps S] [--clients C] [--gc true|false]
//
// Writes JSON lines to stdout (format: scripts/yjs/README.md). Deterministic
// per (seed, steps, clients, gc). Exits 1 if the docs do not converge after
// the final full sync.

import * as Y from 'yjs'
import { canon, decodeAnyJSON, toBase64 } from './canon.mjs'
import { createRng } from './rand.mjs'

// ---------------------------------------------------------------- args

const parseArgs = (argv) => {
  const opts = { seed: null, steps: 200, clients: 3, gc: null }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`missing value for ${a}`)
      return argv[++i]
    }
    switch (a) {
      case '--seed': opts.seed = Number(val()); break
      case '--steps': opts.steps = Number(val()); break
      case '--clients': opts.clients = Number(val()); break
      case '--gc': {
        const v = val()
        if (v !== 'true' && v !== 'false') throw new Error('--gc must be true or false')
        opts.gc = v === 'true'
        break
      }
      default: throw new Error(`unknown argument ${a}`)
    }
  }
  if (!Number.isInteger(opts.seed) || opts.seed < 0) throw new Error('--seed N (non-negative integer) is required')
  if (!Number.isInteger(opts.steps) || opts.steps < 0) throw new Error('--steps must be a non-negative integer')
  if (!Number.isInteger(opts.clients) || opts.clients < 1 || opts.clients > 16) throw new Error('--clients must be 1..16')
  return opts
}

// ---------------------------------------------------------------- constants

export const ROOTS = ['text', 'array', 'map', 'xml']
const MAX_DEPTH = 3 // max number of nested steps in a path

const CHAR_POOLS = [
  [6, 'abcdefghijklmnopqrstuvwxyz ABCXYZ0123456789 .,;!?-'.split('')],
  [2, ['é', 'ß', 'ü', 'ñ', 'ø', 'Ω', 'ж', '€']],
  [2, ['漢', '字', '中', '文', '日', '本', 'か', 'な', '한']],
  [2, ['😀', '👍', '🎉', '🇩🇪', '👍🏽', '🦀', '𝔸']]
]
const MAP_KEYS = ['a', 'b', 'c', 'd', 'key', 'k2', 'ü', '😀', '']
const OBJ_KEYS = ['a', 'b', 'x', 'y', 'name', 'n', 'ключ', '1', '10']
const XML_NAMES = ['p', 'div', 'span', 'h1', 'li', 'blockquote']
const XML_ATTR_KEYS = ['class', 'id', 'data-x', 'title', 'lang']
const NEW_TYPES = ['text', 'array', 'map', 'xmlelement', 'xmltext', 'xmlfragment']

// ---------------------------------------------------------------- random values

const makeGen = (rng) => {
  const randString = (maxLen = 6) => {
    const n = rng.int(1, maxLen)
    let s = ''
    for (let i = 0; i < n; i++) s += rng.pick(rng.weighted(CHAR_POOLS.map(([w, pool]) => [w, pool])))
    return s
  }

  const randNumber = () => rng.weighted([
    [4, () => rng.int(-100, 100)],
    [2, () => rng.int(-(2 ** 31 - 1), 2 ** 31 - 1)],
    [1, () => rng.pick([2 ** 31, -(2 ** 31), 2 ** 31 + 1, 2 ** 40, 2 ** 53 - 1, -(2 ** 53 - 1), 1e21])],
    [2, () => rng.int(-1000, 1000) / 4], // float32-representable
    [2, () => (rng.next() - 0.5) * 10 ** rng.int(-5, 12)], // arbitrary float64
    [1, () => Math.fround(rng.next() * 100)],
    [1, () => rng.pick([-0, NaN, Infinity, -Infinity, 0.1, 5e-324])]
  ])()

  /**
   * Random Any value in canon (escaped JSON) form.
   * @param {number} depth nesting depth inside Any objects/arrays
   * @param {'array'|'map'|'nested'} where 'array': top level of Y.Array.insert
   *   (Yjs throws on undefined/bigint there), 'map': top level of Y.Map.set,
   *   'nested': inside an Any object/array.
   */
  const randAny = (depth, where) => {
    const entries = [
      [2, () => null],
      [2, () => rng.chance(0.5)],
      [5, () => canonNumber(randNumber())],
      [5, () => randString()],
      [depth < 2 ? 2 : 0, () => {
        const o = {}
        const n = rng.int(0, 3)
        for (let i = 0; i < n; i++) o[rng.pick(OBJ_KEYS)] = randAny(depth + 1, 'nested')
        return o
      }],
      [depth < 2 ? 2 : 0, () => {
        const a = []
        const n = rng.int(0, 3)
        for (let i = 0; i < n; i++) a.push(randAny(depth + 1, 'nested'))
        return a
      }],
      [where !== 'array' ? 1 : 0, () => ({ $undefined: true })],
      [where !== 'array' ? 1 : 0, () => ({ $bigint: String(BigInt(rng.int(-1e9, 1e9)) * BigInt(rng.pick([1, 1000003, 4294967296]))) })],
      [where === 'nested' ? 1 : 0, () => ({ $bytes: toBase64(randBytes()) })]
    ]
    return rng.weighted(entries)()
  }

  const canonNumber = (x) => {
    if (Object.is(x, -0)) return { $float: '-0' }
    if (Number.isNaN(x)) return { $float: 'NaN' }
    if (x === Infinity) return { $float: 'Infinity' }
    if (x === -Infinity) return { $float: '-Infinity' }
    return x
  }

  const randBytes = () => {
    const b = new Uint8Array(rng.int(0, 6))
    for (let i = 0; i < b.length; i++) b[i] = rng.int(0, 255)
    return b
  }

  /** JSON-clean value used for text embeds (ContentEmbed is JSON-encoded). */
  const randEmbedJSON = () => rng.weighted([
    [4, () => ({ image: 'https://img.test/' + rng.int(1, 999) + '.png' })],
    [2, () => ({ mention: { id: rng.int(1, 99), name: randString(4) } })],
    [1, () => ({ formula: 'x^' + rng.int(2, 9), inline: rng.chance(0.5) })],
    [1, () => rng.int(-50, 50)],
    [1, () => [rng.int(0, 9), randString(3), null]]
  ])()

  /** Random attributes for text.insert / text.embed (values never null unless allowNull). */
  const randAttrs = (kind, allowNull) => {
    const choices = kind === 'xmltext'
      ? [['bold', () => true], ['italic', () => true], ['link', () => ({ href: 'https://l.test/' + rng.int(1, 99) })]]
      : [
          ['bold', () => true],
          ['italic', () => true],
          ['underline', () => true],
          ['color', () => rng.pick(['#f00', 'red', 'blue', '#00ff00'])],
          ['link', () => ({ href: 'https://l.test/' + rng.int(1, 99) })],
          ['size', () => rng.pick([12, 14.5, 20])]
        ]
    const attrs = {}
    if (rng.chance(0.05)) return attrs // {}: removes surrounding formatting
    const n = rng.int(1, 2)
    for (let i = 0; i < n; i++) {
      const [k, v] = rng.pick(choices)
      attrs[k] = allowNull && rng.chance(0.35) ? null : v()
    }
    return attrs
  }

  const randNewType = (allowed = NEW_TYPES) => {
    const t = rng.pick(allowed)
    return t === 'xmlelement' ? { $new: 'xmlelement', name: rng.pick(XML_NAMES) } : { $new: t }
  }

  return { randString, randAny, randBytes, randEmbedJSON, randAttrs, randNewType }
}

// ---------------------------------------------------------------- ops

const kindOf = (t) => {
  if (t instanceof Y.XmlText) return 'xmltext'
  if (t instanceof Y.Text) return 'text'
  if (t instanceof Y.XmlElement) return 'xmlelement'
  if (t instanceof Y.XmlFragment) return 'xmlfragment'
  if (t instanceof Y.XmlHook) return 'xmlhook'
  if (t instanceof Y.Map) return 'map'
  if (t instanceof Y.Array) return 'array'
  return null
}

export const getRoot = (doc, name) => {
  switch (name) {
    case 'text': return doc.getText('text')
    case 'array': return doc.getArray('array')
    case 'map': return doc.getMap('map')
    case 'xml': return doc.getXmlFragment('xml')
  }
  throw new Error('unknown root ' + name)
}

export const resolvePath = (doc, path) => {
  let t = getRoot(doc, path[0])
  for (let i = 1; i < path.length; i++) {
    const next = t.get(path[i])
    if (!(next instanceof Y.AbstractType)) throw new Error('path does not lead to a type: ' + JSON.stringify(path))
    t = next
  }
  return t
}

/** All live types reachable from the roots through array/map/xml children. */
const collectTargets = (doc) => {
  const out = []
  const walk = (t, path) => {
    const kind = kindOf(t)
    out.push({ path, kind, type: t, depth: path.length - 1 })
    if (kind === 'array' || kind === 'xmlfragment' || kind === 'xmlelement') {
      t.toArray().forEach((v, i) => { if (v instanceof Y.AbstractType) walk(v, [...path, i]) })
    } else if (kind === 'map') {
      const keys = []
      t.forEach((v, k) => { if (v instanceof Y.AbstractType) keys.push(k) })
      keys.sort()
      for (const k of keys) walk(t.get(k), [...path, k])
    }
  }
  for (const r of ROOTS) walk(getRoot(doc, r), [r])
  return out
}

export const materialize = (v) => {
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && typeof v.$new === 'string') {
    switch (v.$new) {
      case 'text': return new Y.Text()
      case 'array': return new Y.Array()
      case 'map': return new Y.Map()
      case 'xmlelement': return new Y.XmlElement(v.name)
      case 'xmltext': return new Y.XmlText()
      case 'xmlfragment': return new Y.XmlFragment()
    }
    throw new Error('unknown $new ' + v.$new)
  }
  return decodeAnyJSON(v)
}

const decodeAttrs = (attrs) => {
  const out = {}
  for (const k of Object.keys(attrs)) out[k] = decodeAnyJSON(attrs[k])
  return out
}

/** Applies one recorded op to a doc (inside the caller's transaction). */
export const applyOp = (doc, op) => {
  const t = resolvePath(doc, op.path)
  switch (op.op) {
    case 'text.insert':
      if (op.attrs == null) t.insert(op.index, op.text)
      else t.insert(op.index, op.text, decodeAttrs(op.attrs))
      break
    case 'text.embed':
      if (op.attrs == null) t.insertEmbed(op.index, materialize(op.embed))
      else t.insertEmbed(op.index, materialize(op.embed), decodeAttrs(op.attrs))
      break
    case 'text.delete': t.delete(op.index, op.length); break
    case 'text.format': t.format(op.index, op.length, decodeAttrs(op.attrs)); break
    case 'array.insert': t.insert(op.index, op.values.map(materialize)); break
    case 'array.delete': t.delete(op.index, op.length); break
    case 'map.set': t.set(op.key, materialize(op.value)); break
    case 'map.delete': t.delete(op.key); break
    case 'xml.insert': t.insert(op.index, op.nodes.map(materialize)); break
    case 'xml.delete': t.delete(op.index, op.length); break
    case 'xml.setAttr': t.setAttribute(op.key, op.value); break
    case 'xml.removeAttr': t.removeAttribute(op.key); break
    default: throw new Error('unknown op ' + op.op)
  }
}

/**
 * The text as an array of UTF-16 code units per index (embeds count as one
 * unit, represented by null), used to find surrogate pairs.
 */
const textUnits = (t) => {
  const units = []
  for (const op of t.toDelta()) {
    if (typeof op.insert === 'string') for (let i = 0; i < op.insert.length; i++) units.push(op.insert.charCodeAt(i))
    else units.push(null)
  }
  return units
}

/** Moves a boundary index that lies between a high and a low surrogate one unit left. */
const snapOffPair = (units, i) => {
  if (i > 0 && i < units.length) {
    const hi = units[i - 1]
    const lo = units[i]
    if (hi !== null && lo !== null && hi >= 0xD800 && hi <= 0xDBFF && lo >= 0xDC00 && lo <= 0xDFFF) return i - 1
  }
  return i
}

const TARGET_GROUP = { text: 'text', xmltext: 'text', array: 'array', map: 'map', xmlfragment: 'xml', xmlelement: 'xml' }
const GROUP_WEIGHTS = { text: 4, array: 2, map: 2, xml: 2 }

const genOp = (rng, gen, doc) => {
  // choose a group of target kinds first (so that big XML trees do not
  // dominate), then a uniformly random target of that group
  const groups = { text: [], array: [], map: [], xml: [] }
  for (const t of collectTargets(doc)) groups[TARGET_GROUP[t.kind]].push(t)
  const group = rng.weighted(Object.keys(groups).filter((g) => groups[g].length > 0).map((g) => [GROUP_WEIGHTS[g], g]))
  const target = rng.pick(groups[group])
  const { path, kind, type, depth } = target
  const canNest = depth < MAX_DEPTH
  const rangeLen = (len, index) => Math.min(len - index, rng.weighted([[6, () => rng.int(1, 3)], [3, () => rng.int(1, 10)], [1, () => rng.int(1, 40)]])())
  switch (kind) {
    case 'text':
    case 'xmltext': {
      const len = type.length
      const what = len === 0
        ? rng.weighted([[9, 'insert'], [1, 'embed']])
        : rng.weighted([[50, 'insert'], [20, 'delete'], [18, 'format'], [8, 'embed']])
      switch (what) {
        case 'insert':
          return { op: 'text.insert', path, index: rng.int(0, len), text: gen.randString(8), attrs: rng.chance(0.35) ? gen.randAttrs(kind, rng.chance(0.2)) : null }
        case 'embed': {
          let embed
          if (kind === 'xmltext') {
            embed = rng.chance(0.6) ? gen.randNewType(['xmlelement', 'xmltext']) : { image: 'https://img.test/' + rng.int(1, 9) + '.png' }
          } else {
            embed = rng.chance(0.25) ? gen.randNewType(['text', 'array', 'map']) : gen.randEmbedJSON()
          }
          return { op: 'text.embed', path, index: rng.int(0, len), embed, attrs: rng.chance(0.3) ? gen.randAttrs(kind, false) : null }
        }
        case 'delete': {
          const index = rng.int(0, len - 1)
          return { op: 'text.delete', path, index, length: rangeLen(len, index) }
        }
        case 'format': {
          // Format boundaries are kept off the middle of surrogate pairs: a
          // format that turns out to be a no-op at a boundary still splits the
          // string item locally (U+FFFD) without telling the peers, and Yjs
          // docs then diverge for good (see README).
          const str = textUnits(type)
          let index = snapOffPair(str, rng.int(0, len - 1))
          if (index >= len) index = len - 1
          let end = snapOffPair(str, index + rangeLen(len, index))
          if (end <= index) end = Math.min(len, snapOffPair(str, index + 1) === index ? index + 2 : index + 1)
          let attrs = gen.randAttrs(kind, true)
          if (Object.keys(attrs).length === 0) attrs = { bold: null }
          return { op: 'text.format', path, index, length: end - index, attrs }
        }
      }
      break
    }
    case 'array': {
      const len = type.length
      if (len > 0 && rng.chance(0.35)) {
        const index = rng.int(0, len - 1)
        return { op: 'array.delete', path, index, length: rangeLen(len, index) }
      }
      const n = rng.weighted([[6, 1], [3, 2], [2, 3], [1, 5]])
      const values = []
      for (let i = 0; i < n; i++) {
        values.push(rng.weighted([
          [10, () => gen.randAny(0, 'array')],
          [1, () => ({ $bytes: toBase64(gen.randBytes()) })],
          [canNest ? 3 : 0, () => gen.randNewType()]
        ])())
      }
      return { op: 'array.insert', path, index: rng.int(0, len), values }
    }
    case 'map': {
      const keys = []
      type.forEach((_, k) => keys.push(k))
      keys.sort()
      if (rng.chance(0.22)) {
        const key = keys.length > 0 && rng.chance(0.85) ? rng.pick(keys) : rng.pick(MAP_KEYS)
        return { op: 'map.delete', path, key }
      }
      const value = rng.weighted([
        [10, () => gen.randAny(0, 'map')],
        [1, () => ({ $bytes: toBase64(gen.randBytes()) })],
        [canNest ? 4 : 0, () => gen.randNewType()]
      ])()
      return { op: 'map.set', path, key: rng.pick(MAP_KEYS), value }
    }
    case 'xmlfragment':
    case 'xmlelement': {
      const len = type.length
      const isEl = kind === 'xmlelement'
      const what = rng.weighted([
        [canNest ? 50 : 0, 'insert'],
        [len > 0 ? 20 : 0, 'delete'],
        [isEl ? 18 : 0, 'setAttr'],
        [isEl ? 8 : 0, 'removeAttr'],
        [1, 'fallback']
      ])
      switch (what) {
        case 'insert': {
          const n = rng.weighted([[4, 1], [1, 2]])
          const nodes = []
          for (let i = 0; i < n; i++) nodes.push(gen.randNewType(['xmlelement', 'xmltext']))
          return { op: 'xml.insert', path, index: rng.int(0, len), nodes }
        }
        case 'delete': {
          const index = rng.int(0, len - 1)
          return { op: 'xml.delete', path, index, length: Math.min(len - index, rng.int(1, 2)) }
        }
        case 'setAttr':
          return { op: 'xml.setAttr', path, key: rng.pick(XML_ATTR_KEYS), value: gen.randString(5) }
        case 'removeAttr': {
          const existing = Object.keys(type.getAttributes()).sort()
          return { op: 'xml.removeAttr', path, key: existing.length > 0 && rng.chance(0.8) ? rng.pick(existing) : rng.pick(XML_ATTR_KEYS) }
        }
      }
      break
    }
  }
  // Nothing sensible for this target (e.g. an element at max depth without
  // children): insert into the root text instead.
  const t = getRoot(doc, 'text')
  return { op: 'text.insert', path: ['text'], index: rng.int(0, t.length), text: gen.randString(4), attrs: null }
}

// ---------------------------------------------------------------- scenario

const makeClientIds = (rng, n) => {
  const ids = []
  const used = new Set()
  for (let i = 0; i < n; i++) {
    const cls = i === 0 ? 'small' : i === 1 ? 'large' : rng.pick(['small', 'medium', 'large'])
    let id
    do {
      id = cls === 'small' ? rng.int(0, 300) : cls === 'medium' ? rng.int(301, 2 ** 28 - 1) : rng.int(2 ** 28, 2 ** 32 - 1)
    } while (used.has(id))
    used.add(id)
    ids.push(id)
  }
  // shuffle so that doc 0 is not always the small id
  for (let i = ids.length - 1; i > 0; i--) {
    const j = rng.int(0, i)
    const tmp = ids[i]; ids[i] = ids[j]; ids[j] = tmp
  }
  return ids
}

const docJSON = (doc) => {
  const out = {}
  for (const r of ROOTS) out[r] = canon(getRoot(doc, r))
  return out
}

/** Content + state vector + delete set of a doc, as a comparable string. */
const convergenceKey = (doc) => {
  const { ds } = Y.decodeUpdate(Y.encodeStateAsUpdate(doc))
  const dsList = [...ds.clients.entries()].sort((a, b) => a[0] - b[0]).map(([c, rs]) => [c, rs.map((r) => [r.clock, r.len])])
  return JSON.stringify({ sv: toBase64(Y.encodeStateVector(doc)), ds: dsList, json: docJSON(doc) })
}

export const runScenario = ({ seed, steps, clients: nClients, gc: gcOpt }) => {
  const rng = createRng((seed * 2654435761 + 12345) >>> 0)
  const gen = makeGen(rng)
  const lines = []
  const emit = (o) => lines.push(JSON.stringify(o))

  const clientIds = makeClientIds(rng, nClients)
  const gc = gcOpt ?? rng.chance(0.8)
  emit({ kind: 'init', clients: clientIds, gc })

  const docs = clientIds.map((id) => {
    const d = new Y.Doc({ gc })
    d.clientID = id
    for (const r of ROOTS) getRoot(d, r)
    return d
  })

  // capture of 'update' events during a local transaction
  let capture = null
  docs.forEach((d, i) => d.on('update', (u) => { if (capture !== null && capture.doc === i) capture.updates.push(u) }))

  /** @type {Array<{id:number, from:number, bytes:Uint8Array}>} */
  const pool = []
  const delivered = docs.map(() => new Set()) // pool ids delivered to doc j (alone or merged)

  // Withholding: doc T never receives pool update W (nor any diff/full state)
  // until the final sync, so everything of W's author after W stays pending in T.
  const withholdTarget = nClients >= 2 && rng.chance(0.75) ? nClients - 1 : -1
  let withheld = -1

  const check = (i) => {
    const d = docs[i]
    emit({
      kind: 'check',
      doc: i,
      json: docJSON(d),
      state: toBase64(Y.encodeStateAsUpdate(d)),
      stateVector: toBase64(Y.encodeStateVector(d))
    })
  }

  const deliver = (j, bytes) => {
    emit({ kind: 'deliver', doc: j, update: toBase64(bytes) })
    Y.applyUpdate(docs[j], bytes)
    if (docs[j].clientID !== clientIds[j]) throw new Error('Yjs changed the client id of doc ' + j)
  }

  const localStep = () => {
    const i = rng.int(0, nClients - 1)
    const d = docs[i]
    const ops = []
    capture = { doc: i, updates: [] }
    const nOps = rng.chance(0.8) ? 1 : rng.int(2, 4)
    d.transact(() => {
      for (let k = 0; k < nOps; k++) {
        const op = genOp(rng, gen, d)
        ops.push(op)
        applyOp(d, op)
      }
    })
    const ups = capture.updates
    capture = null
    if (ups.length > 1) throw new Error('more than one update emitted by one local transaction')
    const update = ups.length === 1 ? ups[0] : null
    emit({ kind: 'local', doc: i, ops, update: update === null ? null : toBase64(update) })
    if (update !== null) {
      const id = pool.length
      pool.push({ id, from: i, bytes: update })
      if (withholdTarget >= 0 && withheld < 0 && i !== withholdTarget) {
        // only withhold an update that carries structs (so later ones depend on it)
        if (Y.parseUpdateMeta(update).from.size > 0) withheld = id
      }
    }
  }

  const allowedFor = (j) => pool.filter((u) => u.from !== j && !(j === withholdTarget && u.id === withheld))

  const deliveryStep = () => {
    const j = rng.int(0, nClients - 1)
    const candidates = allowedFor(j)
    let action = rng.weighted([[35, 'single'], [10, 'dup'], [15, 'merge'], [25, 'diff'], [15, 'full']])
    if (j === withholdTarget && (action === 'diff' || action === 'full')) action = 'single'
    if (action === 'dup' && delivered[j].size === 0) action = 'single'
    if ((action === 'single' || action === 'merge') && candidates.length === 0) action = j === withholdTarget ? null : 'full'
    if (action === null) return
    switch (action) {
      case 'single': {
        // bias towards recent updates, but anything can be picked (out of order)
        const u = rng.chance(0.5) ? candidates[rng.int(Math.max(0, candidates.length - 6), candidates.length - 1)] : rng.pick(candidates)
        delivered[j].add(u.id)
        deliver(j, u.bytes)
        break
      }
      case 'dup': {
        const ids = [...delivered[j]]
        const u = pool[rng.pick(ids)]
        deliver(j, u.bytes)
        break
      }
      case 'merge': {
        const n = Math.min(candidates.length, rng.int(2, 5))
        const chosen = []
        for (let k = 0; k < n; k++) chosen.push(rng.pick(candidates))
        chosen.forEach((u) => delivered[j].add(u.id))
        deliver(j, Y.mergeUpdates(chosen.map((u) => u.bytes)))
        break
      }
      case 'diff':
      case 'full': {
        let src = rng.int(0, nClients - 2)
        if (src >= j) src++
        const bytes = action === 'diff'
          ? Y.encodeStateAsUpdate(docs[src], Y.encodeStateVector(docs[j]))
          : Y.encodeStateAsUpdate(docs[src])
        deliver(j, bytes)
        break
      }
    }
  }

  for (let step = 0; step < steps; step++) {
    if (nClients === 1 || rng.chance(0.55) || pool.length === 0) localStep()
    else deliveryStep()
    if (step % 20 === 19) check(rng.int(0, nClients - 1))
  }

  // Final sync: rounds in which every doc receives every other doc's full
  // state (taken at the start of the round), until all docs agree on content,
  // state vector and delete set (format cleanups on receipt can add deletes,
  // hence possibly more than one round). The encoded states need not be
  // byte-identical across docs (struct splitting/merging and the content of
  // deleted items depend on each doc's history), see README.
  let converged = false
  for (let round = 0; round < 6 && !converged; round++) {
    const states = docs.map((d) => Y.encodeStateAsUpdate(d))
    for (let j = 0; j < nClients; j++) {
      for (let i = 0; i < nClients; i++) if (i !== j) deliver(j, states[i])
    }
    const keys = docs.map(convergenceKey)
    converged = keys.every((k) => k === keys[0])
  }
  for (let i = 0; i < nClients; i++) check(i)

  const jsons = docs.map((d) => JSON.stringify(docJSON(d)))
  const problems = []
  jsons.forEach((s, i) => { if (s !== jsons[0]) problems.push(`doc ${i} content differs from doc 0`) })
  docs.forEach((d, i) => {
    if (d.store.pendingStructs !== null || d.store.pendingDs !== null) problems.push(`doc ${i} still has pending updates`)
  })
  if (!converged) problems.push('state vectors / delete sets still differ after the final sync rounds')
  return { lines, problems, docs }
}

// ---------------------------------------------------------------- main

const isMain = import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('scenario.mjs')
if (isMain) {
  let opts
  try {
    opts = parseArgs(process.argv.slice(2))
  } catch (e) {
    process.stderr.write(`${e.message}\nusage: node scripts/yjs/scenario.mjs --seed N [--steps S] [--clients C] [--gc true|false]\n`)
    process.exit(2)
  }
  const { lines, problems } = runScenario(opts)
  process.stdout.on('error', (e) => { if (e.code !== 'EPIPE') throw e })
  process.stdout.write(lines.join('\n') + '\n')
  if (problems.length > 0) {
    process.stderr.write(`scenario seed ${opts.seed}: NOT CONVERGED:\n  ${problems.join('\n  ')}\n`)
    process.exitCode = 1
  }
}
