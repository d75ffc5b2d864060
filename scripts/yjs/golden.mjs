// Generates the golden vectors in testdata/crdt/golden/<case>/ with the real
// `yjs` package. Deterministic: fixed client IDs, seeded PRNG, fixed guids.
// Run with `npm run golden` (see scripts/yjs/README.md for the format).

import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import { fileURLToPath } from 'node:url'
import { canon, toBase64 } from './canon.mjs'
import { createRng } from './rand.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const repoRoot = path.resolve(here, '..', '..')
const outDir = path.join(repoRoot, 'testdata', 'crdt', 'golden')
const tracePath = process.env.AUTOMERGE_TRACE || '/work/shared/traces/automerge-paper.json.gz'

const BIG = 3000000000 // > 2^28: 5-byte varint client id

// ---------------------------------------------------------------- helpers

const newDoc = (clientID, opts = {}) => {
  const doc = new Y.Doc(opts)
  doc.clientID = clientID
  return doc
}

/** Full two-way sync of all docs (each receives every other doc's state). */
const syncAll = (...docs) => {
  const states = docs.map((d) => Y.encodeStateAsUpdate(d))
  docs.forEach((d, i) => states.forEach((s, j) => { if (i !== j) Y.applyUpdate(d, s) }))
}

/** Counts struct and content kinds in a v1 update (informational). */
const structSummary = (update) => {
  const { structs, ds } = Y.decodeUpdate(update)
  const out = { Item: 0, GC: 0, Skip: 0, content: {}, deleteSetClients: 0, deleteSetRanges: 0 }
  for (const s of structs) {
    const kind = s.constructor.name
    if (kind === 'Item') {
      out.Item++
      const c = s.content.constructor.name
      out.content[c] = (out.content[c] || 0) + 1
    } else {
      out[kind] = (out[kind] || 0) + 1
    }
  }
  ds.clients.forEach((ranges) => { out.deleteSetClients++; out.deleteSetRanges += ranges.length })
  const sorted = {}
  for (const k of Object.keys(out.content).sort()) sorted[k] = out.content[k]
  out.content = sorted
  return out
}

const getRoot = (doc, name, kind) => {
  switch (kind) {
    case 'text': return doc.getText(name)
    case 'array': return doc.getArray(name)
    case 'map': return doc.getMap(name)
    case 'xmlfragment': return doc.getXmlFragment(name)
    default: throw new Error('unknown root kind ' + kind)
  }
}

const rootsCanon = (update, roots, gc) => {
  const doc = new Y.Doc({ gc })
  Y.applyUpdate(doc, update)
  const out = {}
  for (const [name, kind] of Object.entries(roots)) out[name] = canon(getRoot(doc, name, kind))
  return { doc, out }
}

const eqBytes = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0

const cases = []
/**
 * @param {string} name
 * @param {string} description
 * @param {Record<string,string>} roots rootName -> text|array|map|xmlfragment
 * @param {() => Uint8Array} build returns the v1 update to store
 */
const defCase = (name, description, roots, build) => cases.push({ name, description, roots, build })

const writeCase = ({ name, description, roots, build }) => {
  const update = build()
  const { doc: loadedGC, out: rootsJSON } = rootsCanon(update, roots, true)
  const { doc: loadedNoGC, out: rootsNoGC } = rootsCanon(update, roots, false)
  if (JSON.stringify(rootsJSON) !== JSON.stringify(rootsNoGC)) {
    throw new Error(`${name}: roots differ between gc and non-gc load`)
  }
  const clients = [...Y.parseUpdateMeta(update).from.keys()].sort((a, b) => a - b)
  const reGC = Y.encodeStateAsUpdate(loadedGC)
  const reNoGC = Y.encodeStateAsUpdate(loadedNoGC)
  const expected = {
    description,
    roots: rootsJSON,
    stateVector: toBase64(Y.encodeStateVectorFromUpdate(update)),
    clients,
    // --- informational extras (see README) ---
    reencoded: {
      gc: eqBytes(reGC, update) ? 'same' : toBase64(reGC),
      nogc: eqBytes(reNoGC, update) ? 'same' : toBase64(reNoGC)
    },
    docStateVector: toBase64(Y.encodeStateVector(loadedGC)),
    structs: structSummary(update)
  }
  const dir = path.join(outDir, name)
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(path.join(dir, 'update.bin'), update)
  fs.writeFileSync(path.join(dir, 'expected.json'), JSON.stringify(expected, null, 2) + '\n')
  return { name, bytes: update.length, structs: expected.structs }
}

// ---------------------------------------------------------------- cases

defCase('empty-doc', 'Empty document: encodeStateAsUpdate of a fresh doc (no structs, empty delete set) plus untouched roots of every kind.',
  { text: 'text', array: 'array', map: 'map', xml: 'xmlfragment' },
  () => Y.encodeStateAsUpdate(newDoc(1)))

defCase('text-ascii', 'ASCII text typed in several transactions by one client (consecutive items merge into one ContentString).',
  { text: 'text' },
  () => {
    const d = newDoc(1)
    const t = d.getText('text')
    t.insert(0, 'Hello')
    t.insert(5, ' world')
    t.insert(11, '!')
    t.insert(0, '>> ')
    return Y.encodeStateAsUpdate(d)
  })

defCase('text-unicode', 'Multi-byte UTF-8 (2-byte Latin, 3-byte CJK, 4-byte emoji as UTF-16 surrogate pairs, ZWJ sequences, flags, combining marks) from a client with a 5-byte varint id. Lengths/indices are UTF-16 code units.',
  { text: 'text' },
  () => {
    const d = newDoc(BIG)
    const t = d.getText('text')
    t.insert(0, 'héllo wörld ß')
    t.insert(t.length, ' 漢字かなカナ한국어')
    t.insert(t.length, ' 😀👍🏽🇩🇪👨‍👩‍👧')
    t.insert(6, 'é́') // e + combining acute
    t.insert(0, '€')
    return Y.encodeStateAsUpdate(d)
  })

defCase('text-surrogate-split', 'Client 1 types "a😀b"; client 2 (after sync) inserts "X" between the two UTF-16 halves of the emoji (index 2). Yjs splits the string item inside the surrogate pair and replaces both halves with U+FFFD (ContentString.splice). The stored update is client 2\'s full state; its left part ends in U+FFFD and its right part starts with U+FFFD.',
  { text: 'text' },
  () => {
    const d1 = newDoc(1)
    const d2 = newDoc(2)
    d1.getText('text').insert(0, 'a😀b')
    syncAll(d1, d2)
    d2.getText('text').insert(2, 'X')
    syncAll(d1, d2)
    if (d1.getText('text').toString() !== d2.getText('text').toString()) throw new Error('surrogate split diverged')
    return Y.encodeStateAsUpdate(d2)
  })

defCase('text-surrogate-split-remote-only', 'The emoji item is split by a remote insert only: client 7 inserts at index 1 (inside "😀") of client 3000000000\'s text, and the stored update is the full state of the doc that received that insert (client 3000000000). Also a delete of one UTF-16 half of another emoji.',
  { text: 'text' },
  () => {
    const a = newDoc(BIG)
    const b = newDoc(7)
    a.getText('text').insert(0, '😀😎🙂')
    syncAll(a, b)
    b.getText('text').insert(1, '<mid>')
    b.getText('text').delete(8, 1) // text is now \uFFFD<mid>\uFFFD😎🙂: delete the low half of 😎
    syncAll(a, b)
    return Y.encodeStateAsUpdate(a)
  })

defCase('text-format', 'Rich text: insert with attributes (bold, italic, link object, color string), format() over ranges, attribute values set to null removing formatting, and insert with {} attributes which negates the surrounding formatting. Delta ops with identical attributes are NOT merged by Yjs across a format item boundary.',
  { text: 'text' },
  () => {
    const d = newDoc(3)
    const t = d.getText('text')
    t.insert(0, 'Plain ')
    t.insert(6, 'bold', { bold: true })
    t.insert(10, ' and ')
    t.insert(15, 'italic link', { italic: true, link: { href: 'https://example.com/?a=1&b="2"' } })
    t.insert(t.length, ' colored', { color: '#ff0000' })
    t.format(0, 5, { bold: true })
    t.format(2, 6, { italic: true })
    t.format(16, 4, { link: null })
    t.format(t.length - 4, 4, { color: null, bold: true })
    t.insert(8, 'in', {}) // inside "bold": {} removes bold for the inserted text
    t.insert(3, 'inh') // no attributes: inherits the attributes at the position
    return Y.encodeStateAsUpdate(d)
  })

defCase('text-format-delete', 'Text deletes spanning formatted items and format boundaries (gc:true, so deleted strings become ContentDeleted and redundant format items are deleted by Yjs\' formatting cleanup in the same transaction).',
  { text: 'text' },
  () => {
    const d = newDoc(4)
    const t = d.getText('text')
    t.insert(0, 'aaa')
    t.insert(3, 'BBB', { bold: true })
    t.insert(6, 'ccc')
    t.insert(9, 'III', { italic: true })
    t.insert(12, 'ddd')
    t.delete(2, 5) // from plain into bold into plain
    t.delete(4, 4) // across the italic run
    t.insert(1, 'xy', { underline: true })
    t.delete(0, 2)
    return Y.encodeStateAsUpdate(d)
  })

defCase('text-format-concurrent', 'Concurrent formatting by two clients (bold vs. unbold/italic over overlapping ranges) then merged. The stored update is the full state of client 20 after receiving client 10\'s changes; the remote transaction triggered Yjs\' cleanupYTextAfterTransaction, which deleted the overwritten italic format item at the start of the text in a separate local transaction of client 20. NOTE: Yjs\' cleanupFormattingGap only ever cleans the format items before the first content item (a gap that starts at a content item is never scanned), so the redundant bold format in the middle survives and the delta contains two adjacent ops with equal attributes.',
  { text: 'text' },
  () => {
    const a = newDoc(10)
    const b = newDoc(20)
    a.getText('text').insert(0, 'The quick brown fox jumps')
    syncAll(a, b)
    a.getText('text').format(4, 11, { bold: true })
    a.getText('text').format(0, 3, { italic: true })
    b.getText('text').format(10, 9, { bold: true })
    b.getText('text').format(0, 8, { bold: null, italic: true }) // concurrent with a's italic at 0: cleanup deletes one
    b.getText('text').insert(10, 'red ', { color: 'red' })
    syncAll(a, b)
    return Y.encodeStateAsUpdate(b)
  })

defCase('text-format-object-identity', 'Yjs compares object-valued format attributes by JS reference in cleanupFormattingGap. Client 1 writes "abcdef" with link {href:"x"}, then inserts "X" with {} at 3 (format items link:null / link:<same object> around it). Client 2 receives this (decoded values are distinct objects) and deletes "X": only the link:null item is cleaned up, the redundant restoring link item survives (the delta keeps two equal link runs). Had client 1 deleted "X" itself, both format items would have been deleted (same reference). The stored update is client 2\'s state.',
  { text: 'text' },
  () => {
    const a = newDoc(1)
    const b = newDoc(2)
    a.getText('text').insert(0, 'abcdef', { link: { href: 'x' } })
    syncAll(a, b)
    a.getText('text').insert(3, 'X', {})
    syncAll(a, b)
    b.getText('text').delete(3, 1)
    return Y.encodeStateAsUpdate(b)
  })

defCase('text-embed', 'Embeds (ContentEmbed, JSON-encoded): objects with and without attributes, a number, an array, and an object whose numbers/strings exercise JS JSON.stringify formatting (1e+21, 1.5e-7, 0.1, escapes, U+2028 left raw, non-ASCII left raw). Embeds without attributes get the surrounding formatting removed (insertEmbed passes {} to insertText).',
  { text: 'text' },
  () => {
    const d = newDoc(5)
    const t = d.getText('text')
    t.insert(0, 'img: ; more', { bold: true })
    t.insertEmbed(5, { image: 'https://example.com/a.png', width: 100 })
    t.insertEmbed(2, { formula: 'e=mc^2' }, { bold: true, italic: true })
    t.insertEmbed(t.length, 42)
    t.insertEmbed(t.length, [1, 'two', { three: 3 }])
    t.insertEmbed(0, {
      big: 1e21,
      small: 1.5e-7,
      tenth: 0.1,
      neg: -12.25,
      int: 123456789012345,
      s: 'quote" backslash\\ slash/ tab\t nl\n ctl\u0001 del\u007f <a>&amp; \u2028\u2029 é 😀',
      nested: { arr: [true, false, null], empty: {} },
      '': 'empty key'
    })
    return Y.encodeStateAsUpdate(d)
  })

defCase('text-embedded-types', 'Yjs types embedded in text (ContentType inside Y.Text via insertEmbed): a Y.Map, a Y.Array and a Y.Text, each filled after insertion; one embed with attributes.',
  { text: 'text' },
  () => {
    const d = newDoc(6)
    const t = d.getText('text')
    t.insert(0, 'before  after')
    const m = new Y.Map()
    t.insertEmbed(7, m)
    m.set('k', 'v')
    m.set('n', 1)
    const a = new Y.Array()
    t.insertEmbed(8, a, { bold: true })
    a.push(['x', 2, { y: null }])
    const inner = new Y.Text()
    t.insertEmbed(0, inner)
    inner.insert(0, 'inner', { italic: true })
    return Y.encodeStateAsUpdate(d)
  })

defCase('array-any', 'Array of Any values (ContentAny; consecutive values of one insert share one item): null, booleans, strings, integers up to ±(2^31-1) (varint), 2^31 (float32), 2^31+1 and 2^53-1 (float64), -0, NaN, ±Infinity, float32-representable (1.5, Math.fround(0.1)) and non-float32 (0.1, 1e300, 5e-324) floats, nested arrays/objects containing undefined and bigint (both are rejected by Y.Array.insert at top level), object with integer-like keys (JS orders them first).',
  { array: 'array' },
  () => {
    const d = newDoc(7)
    const arr = d.getArray('array')
    arr.insert(0, [null, true, false, '', 'str', 'ünï😀'])
    arr.push([0, 1, -1, 63, 64, -64, 127, 128, 8191, 8192, 2 ** 31 - 1, -(2 ** 31 - 1), 2 ** 31, -(2 ** 31), 2 ** 31 + 1, 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 40])
    arr.push([-0, NaN, Infinity, -Infinity, 1.5, Math.fround(0.1), 0.1, -2.75, 1e300, 5e-324, 3.4028234663852886e38])
    arr.push([[1, [2, [3]]], { a: 1, b: { c: [null, undefined, 5n] } }, [undefined, -7n, 2n ** 63n - 1n, -(2n ** 63n)], { b: 1, 2: 'two', a: 3, 1: 'one' }, {}, []])
    arr.insert(3, ['inserted-in-middle'])
    return Y.encodeStateAsUpdate(d)
  })

defCase('map-any', 'Map values of every Any kind, each under its own key: undefined, null, booleans, small/large/negative integers, -0, NaN, Infinity, float32 and float64 floats, bigint (positive, negative, int64 extremes), strings (incl. empty and emoji), nested objects and arrays, and the empty key "".',
  { map: 'map' },
  () => {
    const d = newDoc(BIG)
    const m = d.getMap('map')
    const values = {
      undef: undefined,
      nul: null,
      t: true,
      f: false,
      zero: 0,
      negzero: -0,
      small: 42,
      neg: -42,
      i31max: 2 ** 31 - 1,
      i31min: -(2 ** 31 - 1),
      p31: 2 ** 31,
      p31p1: 2 ** 31 + 1,
      safe: 2 ** 53 - 1,
      f32: 0.5,
      f32b: Math.fround(3.14),
      f64: 3.14,
      tiny: 5e-324,
      huge: 1.7976931348623157e308,
      nan: NaN,
      inf: Infinity,
      ninf: -Infinity,
      big0: 0n,
      big: 1234567890123456789n,
      bigneg: -42n,
      bigmax: 2n ** 63n - 1n,
      bigmin: -(2n ** 63n),
      str: 'hello',
      emptystr: '',
      emoji: '👩‍💻 ok',
      obj: { x: 1, y: [1, 2, { z: 'deep' }], u: undefined, n: null, b: 9n, bytes: new Uint8Array([1, 2, 3]) },
      arr: [1, 'a', null, true, [], {}, new Uint8Array([255])],
      '': 'empty key'
    }
    d.transact(() => {
      for (const [k, v] of Object.entries(values)) m.set(k, v)
    })
    return Y.encodeStateAsUpdate(d)
  })

defCase('binary', 'ContentBinary: Uint8Array values in an array (separate items, between Any values, which are split into separate ContentAny items) and in a map, including an empty Uint8Array and all byte values 0..255.',
  { array: 'array', map: 'map' },
  () => {
    const d = newDoc(8)
    const all = new Uint8Array(256)
    for (let i = 0; i < 256; i++) all[i] = i
    d.getArray('array').insert(0, ['before', new Uint8Array([1, 2, 3]), 'after', 7, new Uint8Array(0), all])
    d.getMap('map').set('bin', new Uint8Array([0xde, 0xad, 0xbe, 0xef]))
    d.getMap('map').set('empty', new Uint8Array(0))
    return Y.encodeStateAsUpdate(d)
  })

defCase('nested-types', 'ContentType nesting: Y.Map containing Y.Array, Y.Text, Y.Map, Y.XmlFragment, Y.XmlElement (with attributes and children), Y.XmlText and Y.XmlHook; Y.Array containing Y.Map containing Y.Array (depth 3); an XmlHook with entries; types filled after insertion by a second client.',
  { map: 'map', array: 'array' },
  () => {
    const a = newDoc(11)
    const b = newDoc(BIG)
    const m = a.getMap('map')
    const arr = new Y.Array()
    m.set('array', arr)
    arr.push(['x', 1])
    const text = new Y.Text()
    m.set('text', text)
    text.insert(0, 'nested text', { bold: true })
    const inner = new Y.Map()
    m.set('map', inner)
    inner.set('deep', new Y.Map())
    inner.get('deep').set('deeper', new Y.Array())
    inner.get('deep').get('deeper').push([{ leaf: true }])
    const frag = new Y.XmlFragment()
    m.set('fragment', frag)
    const el = new Y.XmlElement('section')
    frag.insert(0, [el])
    el.setAttribute('id', 's1')
    const xt = new Y.XmlText()
    el.insert(0, [xt])
    xt.insert(0, 'xml text')
    const hook = new Y.XmlHook('custom-hook')
    m.set('hook', hook)
    hook.set('config', { a: 1 })
    hook.set('child', new Y.Text())
    m.set('xmltext', new Y.XmlText())
    m.set('element', new Y.XmlElement('aside'))
    syncAll(a, b)
    // second client fills/extends the nested types
    const top = b.getArray('array')
    const mm = new Y.Map()
    top.insert(0, [mm, 'sep', new Y.Array()])
    mm.set('list', new Y.Array())
    mm.get('list').push([new Y.Map()])
    mm.get('list').get(0).set('k', 'v')
    b.getMap('map').get('xmltext').insert(0, 'hello', { italic: true })
    b.getMap('map').get('element').insert(0, [new Y.XmlElement('p'), new Y.XmlText()])
    b.getMap('map').get('element').get(1).insert(0, 'tail')
    b.getMap('map').get('hook').get('child').insert(0, 'hooked')
    syncAll(a, b)
    return Y.encodeStateAsUpdate(b)
  })

defCase('subdocs', 'ContentDoc: subdocuments in a map and an array, one without options (opts {}) and others with gc:false, autoLoad:true, meta (an Any object) and shouldLoad:false (not encoded). Options are written exactly as ContentDoc does: only non-default gc/autoLoad/meta.',
  { map: 'map', array: 'array' },
  () => {
    const d = newDoc(12)
    d.getMap('map').set('plain', new Y.Doc({ guid: 'sub-plain' }))
    d.getMap('map').set('opts', new Y.Doc({ guid: 'sub-opts', gc: false, autoLoad: true, meta: { title: 'Sub', n: 1, tags: ['a', 'b'] } }))
    d.getArray('array').insert(0, ['x', new Y.Doc({ guid: 'sub-in-array', shouldLoad: false }), new Y.Doc({ guid: 'sub-meta-only', meta: 'just-a-string' }), 'y'])
    d.getMap('map').set('replaced', new Y.Doc({ guid: 'sub-replaced' }))
    d.getMap('map').set('replaced', new Y.Doc({ guid: 'sub-replacement', autoLoad: true }))
    return Y.encodeStateAsUpdate(d)
  })

defCase('map-overwrite', 'One key set many times by one client (each set creates a new item whose origin is the previous one; older values are deleted), plus other keys.',
  { map: 'map' },
  () => {
    const d = newDoc(13)
    const m = d.getMap('map')
    for (let i = 0; i < 20; i++) m.set('counter', i)
    m.set('counter', 'final')
    m.set('other', { v: 1 })
    m.set('other', [2])
    d.transact(() => { m.set('tx', 1); m.set('tx', 2); m.set('tx', 3) })
    return Y.encodeStateAsUpdate(d)
  })

defCase('map-concurrent-overwrite', 'The same keys set concurrently by three clients (ids 1, 2 and 3000000000) with no sync in between: for each key the winner is decided by Yjs\' conflict resolution (higher client id wins for concurrent sets with the same left origin). Then one more sequential overwrite.',
  { map: 'map' },
  () => {
    const a = newDoc(1)
    const b = newDoc(2)
    const c = newDoc(BIG)
    a.getMap('map').set('shared', 'from-1')
    b.getMap('map').set('shared', 'from-2')
    c.getMap('map').set('shared', 'from-3000000000')
    a.getMap('map').set('ab', 'a')
    b.getMap('map').set('ab', 'b')
    b.getMap('map').set('bc', 'b')
    c.getMap('map').set('bc', 'c')
    syncAll(a, b, c)
    a.getMap('map').set('seq', 1)
    syncAll(a, b, c)
    b.getMap('map').set('seq', 2)
    a.getMap('map').set('shared2', 'a') // concurrent with next
    c.getMap('map').set('shared2', 'c')
    syncAll(a, b, c)
    return Y.encodeStateAsUpdate(a)
  })

defCase('map-deleted-keys', 'Deleted map keys: set then delete, delete then re-set, delete of a key holding a nested type, and delete of a key set by another client.',
  { map: 'map' },
  () => {
    const a = newDoc(14)
    const b = newDoc(15)
    const m = a.getMap('map')
    m.set('gone', 1)
    m.set('back', 'v1')
    m.set('nested', new Y.Map())
    m.get('nested').set('x', 1)
    m.set('keep', true)
    m.delete('gone')
    m.delete('back')
    m.set('back', 'v2')
    syncAll(a, b)
    b.getMap('map').delete('nested')
    b.getMap('map').delete('keep')
    b.getMap('map').set('b-only', null)
    syncAll(a, b)
    return Y.encodeStateAsUpdate(a)
  })

defCase('array-range-delete', 'Array range deletes spanning several items from two clients (items split at range boundaries; deleted ContentAny replaced by ContentDeleted under gc:true).',
  { array: 'array' },
  () => {
    const a = newDoc(16)
    const b = newDoc(17)
    const arr = a.getArray('array')
    arr.insert(0, [0, 1, 2, 3])
    arr.insert(4, ['a', 'b', 'c'])
    syncAll(a, b)
    b.getArray('array').insert(2, [true, false])
    b.getArray('array').push([{ o: 1 }, [9]])
    syncAll(a, b)
    arr.delete(1, 6) // spans a's first item, b's item and a's second item
    syncAll(a, b)
    b.getArray('array').delete(2, 2)
    syncAll(a, b)
    return Y.encodeStateAsUpdate(b)
  })

defCase('concurrent-insert-3-clients', 'Concurrent inserts at the same position by three clients (1, 2, 3000000000) into text and array, both at a position with an origin (index 2 of "abcd") and at index 0 of an empty root type (no origin, no right origin).',
  { text: 'text', array: 'array', empty: 'text' },
  () => {
    const a = newDoc(1)
    const b = newDoc(2)
    const c = newDoc(BIG)
    a.getText('text').insert(0, 'abcd')
    a.getArray('array').insert(0, ['a', 'b', 'c', 'd'])
    syncAll(a, b, c)
    a.getText('text').insert(2, '[1]')
    b.getText('text').insert(2, '[2]')
    c.getText('text').insert(2, '[3]')
    c.getArray('array').insert(2, ['c3'])
    a.getArray('array').insert(2, ['c1'])
    b.getArray('array').insert(2, ['c2'])
    b.getText('empty').insert(0, 'B')
    c.getText('empty').insert(0, 'C')
    a.getText('empty').insert(0, 'A')
    syncAll(c, b, a)
    // one more round: inserts at the same spot again, including right after a concurrent item
    a.getText('text').insert(5, 'x')
    b.getText('text').insert(5, 'y')
    syncAll(a, b, c)
    return Y.encodeStateAsUpdate(c)
  })

defCase('gc-nested-deleted', 'gc:true doc where nested types were deleted: the deleted type items become ContentDeleted and all their children (and the children of nested types inside them, and map entries) are replaced by GC structs. Mixed with live content.',
  { map: 'map', array: 'array' },
  () => {
    const d = newDoc(18)
    const m = d.getMap('map')
    const arr = new Y.Array()
    m.set('list', arr)
    arr.push(['a', 'b', 'c'])
    const inner = new Y.Map()
    arr.push([inner])
    inner.set('x', 'y')
    inner.set('t', new Y.Text())
    inner.get('t').insert(0, 'deep text')
    m.set('live', 'still here')
    const top = d.getArray('array')
    const t = new Y.Text()
    top.insert(0, ['keep', t])
    t.insert(0, 'will be GCd')
    m.delete('list')
    top.delete(1, 1)
    top.push(['end'])
    return Y.encodeStateAsUpdate(d)
  })

defCase('gc-false', 'gc:false doc: deleted text, array items, map values and a deleted nested type keep their content (ContentString/ContentAny/ContentType stay, only marked deleted in the delete set). Note a reader with gc:true will garbage-collect them when loading (see reencoded.gc).',
  { text: 'text', array: 'array', map: 'map' },
  () => {
    const d = newDoc(19, { gc: false })
    const t = d.getText('text')
    t.insert(0, 'keep this, delete that')
    t.delete(11, 11)
    t.insert(11, 'and this', { bold: true })
    t.delete(0, 5)
    const arr = d.getArray('array')
    arr.push([1, 2, 3, 4])
    const nested = new Y.Map()
    arr.insert(2, [nested])
    nested.set('inside', 'deleted with parent')
    arr.delete(1, 3)
    d.getMap('map').set('k', 'old')
    d.getMap('map').set('k', 'new')
    d.getMap('map').set('gone', new Y.Text())
    d.getMap('map').get('gone').insert(0, 'text in deleted type')
    d.getMap('map').delete('gone')
    return Y.encodeStateAsUpdate(d)
  })

defCase('delete-set-multi', 'Delete set with several ranges per client for several clients (clients 0, 21 and 3000000000), deletes made by clients other than the item authors, and deletes spanning item boundaries. gc:true (ContentDeleted).',
  { text: 'text', array: 'array' },
  () => {
    const a = newDoc(0)
    const b = newDoc(21)
    const c = newDoc(BIG)
    a.getText('text').insert(0, 'aaaaaaaaaaaaaaaaaaaa')
    b.getArray('array').insert(0, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    syncAll(a, b, c)
    c.getText('text').insert(10, 'cccccccccc')
    syncAll(a, b, c)
    const ct = c.getText('text')
    ct.delete(1, 2)
    ct.delete(4, 1)
    ct.delete(7, 6) // spans a's and c's items
    const ba = b.getArray('array')
    ba.delete(0, 1)
    ba.delete(2, 2)
    ba.delete(5, 1)
    syncAll(a, b, c)
    a.getText('text').delete(a.getText('text').length - 3, 2)
    syncAll(a, b, c)
    return Y.encodeStateAsUpdate(a)
  })

defCase('skip-merged', 'Y.mergeUpdates of two non-contiguous updates of client 22 (the middle update is missing), so the merged update contains a Skip struct for the gap. When loaded, the structs after the gap stay pending, so only the first update\'s content is visible and the state vector stops before the gap. Also includes a second client 23 whose update is contiguous.',
  { text: 'text', map: 'map' },
  () => {
    const d = newDoc(22)
    const e = newDoc(23)
    const ups = []
    d.on('update', (u) => ups.push(u))
    d.getText('text').insert(0, 'first ')
    d.getText('text').insert(6, 'second ')
    d.getText('text').insert(13, 'third')
    d.getMap('map').set('after-gap', 1)
    const eu = []
    e.on('update', (u) => eu.push(u))
    e.getMap('map').set('e', 'contiguous')
    return Y.mergeUpdates([ups[0], ups[2], ups[3], eu[0]])
  })

defCase('missing-dependency', 'An update whose items depend on structs it does not contain (client 25 inserts into text typed by client 24; only client 25\'s update is stored). Loading it leaves everything pending: the roots are empty, while the state vector computed from the update still lists client 25.',
  { text: 'text' },
  () => {
    const a = newDoc(24)
    const b = newDoc(25)
    a.getText('text').insert(0, 'base text')
    syncAll(a, b)
    const ups = []
    b.on('update', (u) => ups.push(u))
    b.getText('text').insert(4, '++')
    return ups[0]
  })

defCase('content-json', 'ContentJSON (content ref 2, legacy): Yjs has no API that creates it, so a raw v1 update was written with lib0/encoding (client 42: 4 JSON items in root array "array" — an object, a string, the literal `undefined`, a number — and 1 in root map "map" key "legacy"), applied to a doc, then client 43 deleted the 2nd JSON element (splitting the ContentJSON item) and appended. The stored update is encodeStateAsUpdate of that doc, so the JSON items are written back by Yjs (JSON.stringify, undefined as the string "undefined").',
  { array: 'array', map: 'map' },
  () => {
    const enc = encoding.createEncoder()
    encoding.writeVarUint(enc, 1) // number of clients
    encoding.writeVarUint(enc, 2) // number of structs for this client
    encoding.writeVarUint(enc, 42) // client
    encoding.writeVarUint(enc, 0) // first clock
    // struct 1: info = ContentJSON (2), no origin/rightOrigin/parentSub
    encoding.writeUint8(enc, 2)
    encoding.writeVarUint(enc, 1) // parent is a root type name
    encoding.writeVarString(enc, 'array')
    const jsonItems = ['{"a":1,"b":[true,null]}', '"text"', 'undefined', '12.5']
    encoding.writeVarUint(enc, jsonItems.length)
    for (const s of jsonItems) encoding.writeVarString(enc, s)
    // struct 2 (clock 4): ContentJSON with parentSub (BIT6 = 0x20)
    encoding.writeUint8(enc, 2 | 0x20)
    encoding.writeVarUint(enc, 1)
    encoding.writeVarString(enc, 'map')
    encoding.writeVarString(enc, 'legacy')
    encoding.writeVarUint(enc, 1)
    encoding.writeVarString(enc, '{"legacy":"value","n":-1}')
    encoding.writeVarUint(enc, 0) // empty delete set
    const raw = encoding.toUint8Array(enc)
    const d = newDoc(43)
    Y.applyUpdate(d, raw)
    if (d.getArray('array').length !== 4) throw new Error('raw ContentJSON update not applied')
    d.getArray('array').delete(1, 1)
    d.getArray('array').push(['appended'])
    return Y.encodeStateAsUpdate(d)
  })

defCase('xml-strings', 'XML string forms: element attributes (toString sorts them by name; non-string values are stringified), nested elements, node names lowercased by toString ("DIV" -> "div") but kept in the name field, XmlText with formatting rendered as tags sorted by name (bold:true -> <bold>, link object -> <link href="...">, a string value is iterated with for..in so color:"red" -> <color 0="r" 1="e" 2="d">), an XmlText with an embedded XmlElement, and an XmlHook child (stringifies as "[object Object]").',
  { xml: 'xmlfragment' },
  () => {
    const d = newDoc(26)
    const frag = d.getXmlFragment('xml')
    const div = new Y.XmlElement('DIV')
    const p = new Y.XmlElement('p')
    const t1 = new Y.XmlText()
    const t2 = new Y.XmlText()
    frag.insert(0, [div, t2])
    div.setAttribute('class', 'box')
    div.setAttribute('data-n', 7)
    div.setAttribute('aria-label', 'a "quoted" & <odd> label')
    div.insert(0, [p])
    p.setAttribute('style', 'color: red')
    p.insert(0, [t1, new Y.XmlElement('br'), new Y.XmlElement('img')])
    t1.insert(0, 'plain ')
    t1.insert(6, 'bold', { bold: true })
    t1.insert(10, ' both', { bold: true, italic: true })
    t1.insert(15, ' link', { link: { href: 'https://x.test', target: '_blank' } })
    t1.insert(20, ' red', { color: 'red' })
    p.get(2).setAttribute('src', 'a.png')
    p.get(2).setAttribute('alt', '')
    t2.insert(0, 'tail text ')
    t2.insertEmbed(10, new Y.XmlElement('em'))
    t2.setAttribute('xmltext-attr', 'on-text')
    frag.insert(2, [new Y.XmlHook('hook'), new Y.XmlElement('empty')])
    frag.get(2).set('k', 'v')
    return Y.encodeStateAsUpdate(d)
  })

defCase('client-id-varints', 'Client ids at varint length boundaries: 0, 127, 128, 16383, 16384, 2^28-1, 2^28, 2^31, 2^32-1 — each inserts into the same text and array so origins reference every client.',
  { text: 'text', array: 'array' },
  () => {
    const ids = [0, 127, 128, 16383, 16384, 2 ** 28 - 1, 2 ** 28, 2 ** 31, 2 ** 32 - 1]
    const docs = ids.map((id) => newDoc(id))
    docs.forEach((d, i) => {
      syncAll(docs[0], d)
      const t = d.getText('text')
      t.insert(Math.floor(t.length / 2), `<${ids[i]}>`)
      d.getArray('array').insert(0, [ids[i]])
      syncAll(docs[0], d)
    })
    syncAll(...docs)
    return Y.encodeStateAsUpdate(docs[docs.length - 1])
  })

defCase('long-clocks', 'One client with clocks beyond 2^14 and 2^21 (multi-byte varint clocks and lengths): 20000 characters typed in chunks, then edits far into the clock space and a delete set with large clocks.',
  { text: 'text' },
  () => {
    const d = newDoc(27)
    const t = d.getText('text')
    let s = ''
    for (let i = 0; i < 2000; i++) s += String(i % 10)
    for (let i = 0; i < 10; i++) t.insert(t.length, s)
    t.insert(100, 'X')
    t.delete(5000, 3000)
    t.insert(16500, 'Y')
    t.delete(16000, 1)
    // leave little visible text to keep the file small
    t.delete(200, t.length - 400)
    return Y.encodeStateAsUpdate(d)
  })

defCase('text-large', 'A ~10k-character text built by many random edits (seeded PRNG: inserts of ASCII/multi-byte/CJK/emoji chunks, deletes, some formatting) from two clients (28 and 3000000000) syncing every 40 edits.',
  { text: 'text' },
  () => {
    const rng = createRng(20240601)
    const a = newDoc(28)
    const b = newDoc(BIG)
    const chunks = ['the ', 'quick ', 'brown ', 'fox ', 'jumps ', 'é', 'ß ', '漢字 ', '😀', ' ', 'lorem ipsum ', '\n', 'dolor ', 'sit ', 'amet, ']
    let edits = 0
    while (a.getText('text').length < 10000) {
      const doc = rng.chance(0.5) ? a : b
      const t = doc.getText('text')
      const r = rng.next()
      if (r < 0.78 || t.length < 20) {
        const idx = rng.int(0, t.length)
        let str = ''
        const n = rng.int(1, 4)
        for (let i = 0; i < n; i++) str += rng.pick(chunks)
        t.insert(idx, str)
      } else if (r < 0.95) {
        const idx = rng.int(0, t.length - 1)
        t.delete(idx, Math.min(rng.int(1, 12), t.length - idx))
      } else {
        const idx = rng.int(0, t.length - 1)
        t.format(idx, Math.min(rng.int(1, 30), t.length - idx), { bold: rng.chance(0.7) ? true : null })
      }
      if (++edits % 40 === 0) syncAll(a, b)
    }
    syncAll(a, b)
    return Y.encodeStateAsUpdate(a)
  })

defCase('automerge-paper-final', 'Final state of the automerge-paper editing trace (/work/shared/traces/automerge-paper.json.gz, CC-BY 4.0, Martin Kleppmann) replayed into doc.getText("text") with clientID 3000000000, one transaction per trace txn, gc:true. ~311 KB v1 update, 104852 characters.',
  { text: 'text' },
  () => {
    const trace = JSON.parse(zlib.gunzipSync(fs.readFileSync(tracePath)).toString('utf8'))
    const d = newDoc(BIG)
    const t = d.getText('text')
    for (const txn of trace.txns) {
      d.transact(() => {
        for (const [pos, del, ins] of txn.patches) {
          if (del > 0) t.delete(pos, del)
          if (ins.length > 0) t.insert(pos, ins)
        }
      })
    }
    if (t.toString() !== trace.endContent) throw new Error('automerge-paper replay mismatch')
    return Y.encodeStateAsUpdate(d)
  })

// ---------------------------------------------------------------- main

const only = process.argv.slice(2)
fs.mkdirSync(outDir, { recursive: true })
if (only.length === 0) {
  // remove stale case directories (only ones that look like ours)
  for (const entry of fs.readdirSync(outDir)) {
    const p = path.join(outDir, entry)
    if (fs.statSync(p).isDirectory() && !cases.some((c) => c.name === entry)) {
      fs.rmSync(p, { recursive: true })
    }
  }
}
let total = 0
let written = 0
for (const c of cases) {
  if (only.length > 0 && !only.includes(c.name)) continue
  const r = writeCase(c)
  total += r.bytes
  written++
  const kinds = [`Item:${r.structs.Item}`, `GC:${r.structs.GC}`, `Skip:${r.structs.Skip}`, ...Object.entries(r.structs.content).map(([k, v]) => `${k}:${v}`)]
  console.log(`${c.name.padEnd(34)} ${String(r.bytes).padStart(7)} B  ${kinds.join(' ')}`)
}
console.log(`${written} cases written, ${total} update bytes`)
