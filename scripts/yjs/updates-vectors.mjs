// Generates the vectors in testdata/crdt/updates/<case>/vectors.json with
// the real `yjs` package: sets of v1 updates and what Y.mergeUpdates,
// Y.diffUpdate, Y.encodeStateVectorFromUpdate and Y.encodeStateAsUpdate
// (of a doc that received updates out of order) make of them. The Go tests
// in crdt/updates_test.go must reproduce every result byte for byte.
// Deterministic (seeded PRNG, fixed client IDs). Run from the repo root:
//
//   node scripts/yjs/updates-vectors.mjs
//
// vectors.json:
//   blobs        base64 byte strings; everything below refers to them by index
//   merge        [{in: [blob...], out: blob, sameAsSequence: [gc, nogc]}]
//                Y.mergeUpdates(in); sameAsSequence tells (for docs with
//                gc on and off) whether applying out to a fresh doc gives
//                what applying the inputs one by one gives, in Yjs
//   diff         [{update: blob, sv: blob, out: blob}]  Y.diffUpdate(update, sv)
//   stateVector  [{update: blob, out: blob}]            Y.encodeStateVectorFromUpdate
//   pending      [{gc, steps: [{apply: blob, state: blob, sv: blob}],
//                  diffs: [{sv: blob, out: blob}]}]
//                a fresh doc (clientID 424242) applies the steps in order; after
//                each, encodeStateAsUpdate and encodeStateVector of the doc;
//                at the end encodeStateAsUpdate(doc, sv) for each diff.
//   sort         [{input: [[key, kind]...], out: [index...]}] how V8's
//                Array.prototype.sort orders elements under the comparator
//                mergeUpdates uses, which is inconsistent when an Item (kind
//                0) and a GC (kind 1) share an ID (kind 2 is Skip)
//   sortHashed   [{seed, n, keys, hash}] the same with n elements whose
//                [key, kind] pairs are drawn from createRng(seed) (key =
//                int(0, keys-1), then kind = int(0, 2)); hash is an FNV-1a
//                style hash (32-bit steps) of the resulting index order

import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { toBase64 } from './canon.mjs'
import { createRng } from './rand.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const outDir = path.join(here, '..', '..', 'testdata', 'crdt', 'updates')

const BIG = 3000000000 // 5-byte varint client ID
const PENDING_CLIENT = 424242 // the doc that receives updates out of order; never edits

/**
 * Whether applying the merge to a fresh doc gives the same
 * encodeStateAsUpdate as applying the inputs one by one (null when Yjs
 * throws on the inputs). It does not always: where one input has an item
 * and another a GC struct for the same ID, the merge keeps one of them.
 */
const sameAsSequence = (merged, updates, gc) => {
  try {
    const one = new Y.Doc({ gc })
    const seq = new Y.Doc({ gc })
    one.clientID = seq.clientID = PENDING_CLIENT
    Y.applyUpdate(one, merged)
    for (const u of updates) Y.applyUpdate(seq, u)
    return Buffer.from(Y.encodeStateAsUpdate(one)).equals(Buffer.from(Y.encodeStateAsUpdate(seq)))
  } catch {
    return null
  }
}

class Vectors {
  constructor (description) {
    this.description = description
    this.blobs = []
    this.index = new Map()
    this.merge = []
    this.diff = []
    this.stateVector = []
    this.pending = []
    this.sort = []
    this.sortHashed = []
  }

  blob (bytes) {
    const b64 = toBase64(bytes)
    let i = this.index.get(b64)
    if (i === undefined) {
      i = this.blobs.length
      this.blobs.push(b64)
      this.index.set(b64, i)
    }
    return i
  }

  addMerge (updates) {
    const out = Y.mergeUpdates(updates)
    this.merge.push({ in: updates.map((u) => this.blob(u)), out: this.blob(out), sameAsSequence: [true, false].map((gc) => sameAsSequence(out, updates, gc)) })
    return out
  }

  addDiff (update, sv) {
    const out = Y.diffUpdate(update, sv)
    this.diff.push({ update: this.blob(update), sv: this.blob(sv), out: this.blob(out) })
    return out
  }

  addStateVector (update) {
    this.stateVector.push({ update: this.blob(update), out: this.blob(Y.encodeStateVectorFromUpdate(update)) })
  }

  addPending (gc, updates, svs) {
    const doc = new Y.Doc({ gc })
    doc.clientID = PENDING_CLIENT
    const steps = []
    for (const u of updates) {
      Y.applyUpdate(doc, u)
      steps.push({ apply: this.blob(u), state: this.blob(Y.encodeStateAsUpdate(doc)), sv: this.blob(Y.encodeStateVector(doc)) })
    }
    const diffs = svs.map((sv) => ({ sv: this.blob(sv), out: this.blob(Y.encodeStateAsUpdate(doc, sv)) }))
    this.pending.push({ gc, steps, diffs })
    return doc
  }

  write (name) {
    const dir = path.join(outDir, name)
    fs.mkdirSync(dir, { recursive: true })
    const { description, blobs, merge, diff, stateVector, pending, sort, sortHashed } = this
    const json = JSON.stringify({ description, blobs, merge, diff, stateVector, pending, sort, sortHashed })
    fs.writeFileSync(path.join(dir, 'vectors.json'), json + '\n')
    return json.length
  }
}

// ---------------------------------------------------------------- sessions

const WORDS = ['a', 'bc', 'def', 'ghij', ' ', 'é', '漢字', '😀', 'x😀y', '\n', 'zz']

/**
 * Random editing by several clients with partial syncs. Returns every
 * update the docs emitted (local and re-emitted remote ones) and a few
 * snapshots (encodeStateAsUpdate of a doc at some point).
 */
const session = (rng, { clients, steps, gcs }) => {
  const docs = clients.map((id, i) => {
    const d = new Y.Doc({ gc: gcs[i % gcs.length] })
    d.clientID = id
    d.log = []
    d.on('update', (u) => d.log.push(u))
    return d
  })
  const updates = []
  const snapshots = []
  const svs = []
  const edit = (d) => {
    const t = d.getText('text')
    const a = d.getArray('array')
    const m = d.getMap('map')
    const op = rng.int(0, 11)
    d.transact(() => {
      switch (op) {
        case 0: case 1: case 2: {
          t.insert(rng.int(0, t.length), rng.pick(WORDS) + rng.pick(WORDS))
          break
        }
        case 3: {
          if (t.length > 0) {
            const i = rng.int(0, t.length - 1)
            t.delete(i, rng.int(1, Math.min(4, t.length - i)))
          }
          break
        }
        case 4: {
          if (t.length > 1) {
            const i = rng.int(0, t.length - 2)
            t.format(i, rng.int(1, t.length - i - 1), { bold: rng.chance(0.7) ? true : null })
          }
          break
        }
        case 5: {
          const vals = []
          for (let n = rng.int(1, 3); n > 0; n--) vals.push(rng.pick([1, 'two', true, null, { k: rng.int(0, 9) }, [1, 2], 2.5]))
          a.insert(rng.int(0, a.length), vals)
          break
        }
        case 6: {
          // a nested map with entries: deleting it later produces GC structs
          const nm = new Y.Map()
          a.insert(rng.int(0, a.length), [nm])
          for (let n = rng.int(1, 3); n > 0; n--) nm.set('k' + rng.int(0, 3), rng.int(0, 99))
          const na = new Y.Array()
          nm.set('list', na)
          na.insert(0, ['p', 'q', 'r'].slice(0, rng.int(1, 3)))
          break
        }
        case 7: {
          if (a.length > 0) {
            const i = rng.int(0, a.length - 1)
            a.delete(i, rng.int(1, Math.min(3, a.length - i)))
          }
          break
        }
        case 8: {
          m.set(rng.pick(['x', 'y', 'z']), rng.pick([1, 'v', false, { n: rng.int(0, 5) }]))
          break
        }
        case 9: {
          const k = rng.pick(['x', 'y', 'z', 'w'])
          if (m.has(k)) m.delete(k)
          break
        }
        case 10: {
          // nested maps inside the array get edited too
          for (let i = 0; i < a.length; i++) {
            const v = a.get(i)
            if (v instanceof Y.Map) {
              v.set('k' + rng.int(0, 3), rng.int(0, 99))
              if (rng.chance(0.3)) v.delete('k' + rng.int(0, 3))
              break
            }
          }
          break
        }
        default: {
          const nt = new Y.Text()
          m.set('note', nt)
          nt.insert(0, rng.pick(WORDS) + rng.pick(WORDS))
        }
      }
    })
  }
  for (let s = 0; s < steps; s++) {
    const d = rng.pick(docs)
    const r = rng.next()
    if (r < 0.65) {
      edit(d)
    } else if (r < 0.9) {
      // partial sync: d receives the latest updates of another doc
      const src = rng.pick(docs)
      if (src !== d) Y.applyUpdate(d, Y.encodeStateAsUpdate(src, Y.encodeStateVector(d)))
    } else {
      snapshots.push(Y.encodeStateAsUpdate(d))
      svs.push(Y.encodeStateVector(d))
    }
  }
  for (const d of docs) {
    updates.push(...d.log)
    snapshots.push(Y.encodeStateAsUpdate(d))
    svs.push(Y.encodeStateVector(d))
  }
  return { docs, updates, snapshots, svs }
}

const shuffle = (rng, arr) => {
  const a = arr.slice()
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(0, i)
    const t = a[i]
    a[i] = a[j]
    a[j] = t
  }
  return a
}

const sample = (rng, arr, n) => {
  const out = []
  for (let i = 0; i < n; i++) out.push(rng.pick(arr))
  return out
}

/** A state vector with random clocks (cutting structs anywhere). */
const randomSV = (rng, clients, maxClock) => {
  const enc = encoding.createEncoder()
  const chosen = clients.filter(() => rng.chance(0.7))
  encoding.writeVarUint(enc, chosen.length)
  for (const c of chosen) {
    encoding.writeVarUint(enc, c)
    encoding.writeVarUint(enc, rng.int(0, maxClock))
  }
  return encoding.toUint8Array(enc)
}

const maxClockOf = (docs) => Math.max(1, ...docs.map((d) => Math.max(0, ...Y.decodeStateVector(Y.encodeStateVector(d)).values())))

const randomCase = (name, seed, opts, counts) => {
  const rng = createRng(seed)
  const v = new Vectors(opts.description)
  const { docs, updates, snapshots, svs } = session(rng, opts)
  const pool = [...updates, ...snapshots]
  const maxClock = maxClockOf(docs)
  const merged = []
  for (let i = 0; i < counts.merges; i++) {
    const n = rng.int(2, Math.min(counts.maxMergeInputs, pool.length))
    const ins = sample(rng, i % 3 === 0 ? [...pool, ...merged] : pool, n)
    merged.push(v.addMerge(ins))
  }
  if (counts.mergeAll) {
    merged.push(v.addMerge(shuffle(rng, pool)))
    merged.push(v.addMerge(shuffle(rng, [...updates, ...updates.slice(0, 20), ...snapshots])))
  }
  const all = [...pool, ...merged]
  for (let i = 0; i < counts.diffs; i++) {
    const u = rng.pick(all)
    const r = rng.next()
    const sv = r < 0.4 ? rng.pick(svs) : r < 0.9 ? randomSV(rng, opts.clients, maxClock) : new Uint8Array([0])
    v.addDiff(u, sv)
  }
  for (let i = 0; i < counts.stateVectors; i++) v.addStateVector(rng.pick(all))
  for (let p = 0; p < counts.pending; p++) {
    // out-of-order delivery, with duplicates and some snapshots/merges
    let src = shuffle(rng, updates).slice(0, rng.int(Math.min(3, updates.length), updates.length))
    if (rng.chance(0.5)) src.push(rng.pick(snapshots))
    if (rng.chance(0.5)) src.push(rng.pick(merged))
    if (rng.chance(0.5)) src.push(...sample(rng, updates, 2))
    src = shuffle(rng, src)
    const pendSVs = [svs[0], randomSV(rng, opts.clients, maxClock), rng.pick(svs)]
    v.addPending(p % 2 === 0, src, pendSVs)
  }
  return v.write(name)
}

// ---------------------------------------------------------------- crafted

const writeItemString = (enc, { origin, rightOrigin, root, parentSub, str }) => {
  let info = 4
  if (origin) info |= 0x80
  if (rightOrigin) info |= 0x40
  if (!origin && !rightOrigin && parentSub !== undefined) info |= 0x20
  encoding.writeUint8(enc, info)
  if (origin) { encoding.writeVarUint(enc, origin[0]); encoding.writeVarUint(enc, origin[1]) }
  if (rightOrigin) { encoding.writeVarUint(enc, rightOrigin[0]); encoding.writeVarUint(enc, rightOrigin[1]) }
  if (!origin && !rightOrigin) {
    encoding.writeVarUint(enc, 1)
    encoding.writeVarString(enc, root)
    if (parentSub !== undefined) encoding.writeVarString(enc, parentSub)
  }
  encoding.writeVarString(enc, str)
}

/**
 * Builds a v1 update from a literal description:
 * clients: [[client, clock, [struct...]], ...] in the given order, where a
 * struct is {skip: n} | {gc: n} | {deleted: n, origin?} | item-string
 * fields; ds: [[client, [[clock, len], ...]], ...] as given.
 */
const craft = ({ clients, ds }) => {
  const enc = encoding.createEncoder()
  encoding.writeVarUint(enc, clients.length)
  for (const [client, clock, structs] of clients) {
    encoding.writeVarUint(enc, structs.length)
    encoding.writeVarUint(enc, client)
    encoding.writeVarUint(enc, clock)
    for (const s of structs) {
      if (s.skip !== undefined) {
        encoding.writeUint8(enc, 10)
        encoding.writeVarUint(enc, s.skip)
      } else if (s.gc !== undefined) {
        encoding.writeUint8(enc, 0)
        encoding.writeVarUint(enc, s.gc)
      } else if (s.deleted !== undefined) {
        encoding.writeUint8(enc, s.origin ? 0x81 : 0x01)
        if (s.origin) { encoding.writeVarUint(enc, s.origin[0]); encoding.writeVarUint(enc, s.origin[1]) } else {
          encoding.writeVarUint(enc, 1)
          encoding.writeVarString(enc, s.root || 'text')
        }
        encoding.writeVarUint(enc, s.deleted)
      } else {
        writeItemString(enc, s)
      }
    }
  }
  encoding.writeVarUint(enc, ds.length)
  for (const [client, ranges] of ds) {
    encoding.writeVarUint(enc, client)
    encoding.writeVarUint(enc, ranges.length)
    for (const [clock, len] of ranges) {
      encoding.writeVarUint(enc, clock)
      encoding.writeVarUint(enc, len)
    }
  }
  return encoding.toUint8Array(enc)
}

const svOf = (entries) => {
  const enc = encoding.createEncoder()
  encoding.writeVarUint(enc, entries.length)
  for (const [c, k] of entries) { encoding.writeVarUint(enc, c); encoding.writeVarUint(enc, k) }
  return encoding.toUint8Array(enc)
}

const craftedCase = () => {
  const v = new Vectors('Hand-made updates that Yjs never writes itself but decodes: a client listed twice (apart and back to back), clients in ascending order, a Skip as the very first struct (at clock 0 and later), Skips inside a client, GC runs, a map entry without origin cut in the middle by a merge (the parentSub flag survives in the info byte), delete sets with unsorted, overlapping, empty and repeated-client ranges.')
  const s = (str, extra = {}) => ({ str, ...extra })
  const U = {
    twice: craft({
      clients: [
        [5, 0, [s('abc', { root: 'text' }), s('de', { origin: [5, 2] })]],
        [7, 0, [s('xy', { root: 'text' })]],
        [5, 10, [s('kl', { origin: [5, 4] })]]
      ],
      ds: [[5, [[3, 2], [0, 1], [0, 0], [20, 0]]], [7, [[1, 1]]], [5, [[1, 3]]]]
    }),
    backToBack: craft({
      clients: [
        [9, 0, [s('ab', { root: 'text' })]],
        [9, 1, [s('q', { origin: [9, 0] }), { gc: 2 }]]
      ],
      ds: []
    }),
    ascending: craft({
      clients: [
        [1, 0, [s('a1', { root: 'text' }), { gc: 3 }]],
        [9, 2, [s('b', { origin: [9, 1] }), { gc: 1 }, { gc: 2 }]],
        [BIG, 0, [s('c', { root: 'text' })]]
      ],
      ds: [[1, [[2, 3]]], [9, [[3, 3]]]]
    }),
    skipFirst: craft({
      clients: [
        [3, 0, [{ skip: 2 }, s('zz', { origin: [1, 0] }), { skip: 3 }, s('w', { origin: [3, 3] })]],
        [2, 0, [s('p', { root: 'text' })]]
      ],
      ds: [[3, [[2, 1]]]]
    }),
    skipLater: craft({
      clients: [
        [4, 5, [{ skip: 1 }, s('uv', { origin: [4, 1] })]],
        [3, 0, [s('ab', { root: 'text' }), { skip: 2 }, s('c', { origin: [3, 1] })]]
      ],
      ds: []
    }),
    mapKey: craft({
      clients: [[6, 0, [{ deleted: 3, root: 'map' }, s('v', { root: 'map', parentSub: 'key' })]]],
      ds: [[6, [[0, 3]]]]
    }),
    mapKeyFirst: craft({
      clients: [[6, 0, [s('a', { root: 'map', parentSub: 'key' })]]],
      ds: []
    }),
    mapKeyString: craft({
      clients: [[6, 0, [s('abcd', { root: 'map', parentSub: 'key' })]]],
      ds: []
    }),
    gcs: craft({
      clients: [[5, 0, [{ gc: 2 }, { gc: 1 }]], [3, 0, [{ gc: 4 }]]],
      ds: [[5, [[0, 3]]], [3, [[0, 4]]]]
    }),
    gcOverlap: craft({
      clients: [[5, 1, [{ gc: 3 }, s('end', { origin: [5, 3] })]], [3, 2, [{ gc: 3 }]]],
      ds: [[5, [[1, 3], [0, 0]]], [3, [[2, 3]]]]
    }),
    itemsAt5: craft({
      clients: [[5, 0, [s('abc', { root: 'text' }), s('de', { origin: [5, 2] }), s('fg', { origin: [5, 4] })]]],
      ds: []
    }),
    empty: craft({ clients: [], ds: [] }),
    onlyDs: craft({ clients: [], ds: [[8, [[4, 2], [1, 1]]], [5, [[0, 2]]]] })
  }
  const all = Object.values(U)
  for (const u of all) v.addStateVector(u)
  const pairs = [
    [U.twice, U.ascending], [U.ascending, U.twice], [U.twice, U.backToBack], [U.backToBack, U.itemsAt5],
    [U.skipFirst, U.skipLater], [U.skipLater, U.skipFirst], [U.mapKey, U.mapKeyFirst], [U.mapKeyFirst, U.mapKey],
    [U.mapKeyString, U.mapKeyFirst], [U.mapKeyFirst, U.mapKeyString],
    [U.gcs, U.itemsAt5], [U.itemsAt5, U.gcs], [U.gcOverlap, U.gcs, U.itemsAt5], [U.itemsAt5, U.gcOverlap],
    [U.gcs, U.gcOverlap], [U.empty, U.onlyDs], [U.onlyDs, U.twice, U.gcs], [U.empty], [U.twice],
    [], [U.empty, U.empty], all, [...all].reverse()
  ]
  const merged = pairs.map((p) => v.addMerge(p))
  const rng = createRng(99)
  for (const n of [2, 3, 5, 8, 12, 33, 64, 65, 100, 160, 300]) {
    const input = []
    for (let i = 0; i < n; i++) input.push([rng.int(0, Math.max(1, n >> 2)), rng.int(0, 2)])
    const els = input.map(([key, kind], i) => ({ i, key, kind }))
    els.sort((a, b) => a.key === b.key ? (a.kind === b.kind ? 0 : (a.kind === 2 ? 1 : -1)) : a.key - b.key)
    v.sort.push({ input, out: els.map((e) => e.i) })
  }
  for (let c = 0; c < 400; c++) {
    const n = c < 200 ? rng.int(2, 12) : c < 350 ? rng.int(13, 150) : rng.int(151, 1200)
    const keys = rng.int(1, n)
    const seed = rng.uint32()
    const r = createRng(seed)
    const els = []
    for (let i = 0; i < n; i++) {
      const key = r.int(0, keys - 1)
      els.push({ i, key, kind: r.int(0, 2) })
    }
    els.sort((a, b) => a.key === b.key ? (a.kind === b.kind ? 0 : (a.kind === 2 ? 1 : -1)) : a.key - b.key)
    let hash = 0x811c9dc5
    for (const e of els) hash = Math.imul(hash ^ e.i, 16777619) >>> 0
    v.sortHashed.push({ seed, n, keys, hash })
  }
  for (const m of merged) v.addStateVector(m)
  const svs = [svOf([]), svOf([[5, 1], [7, 1], [3, 3], [9, 2]]), svOf([[5, 11], [1, 1], [3, 1], [BIG, 1]]), svOf([[5, 2], [5, 0]]), svOf([[6, 2], [4, 6], [3, 5]])]
  for (const u of [...all, ...merged]) for (const sv of svs) v.addDiff(u, sv)
  // Pending content: structs behind a gap of their own client wait in
  // the doc; Yjs merges each new batch into them with mergeUpdates.
  const P = {
    keyShort: craft({ clients: [[6, 2, [s('ab', { root: 'map', parentSub: 'k' })]]], ds: [] }),
    keyLong: craft({ clients: [[6, 2, [s('abcd', { root: 'map', parentSub: 'k' }), s('e', { origin: [6, 5] })]]], ds: [] }),
    keyFill: craft({ clients: [[6, 0, [s('xy', { root: 'map', parentSub: 'j' })]]], ds: [[6, [[1, 1]]]] }),
    gcA: craft({ clients: [[7, 3, [{ gc: 2 }]]], ds: [[7, [[3, 2]]]] }),
    gcB: craft({ clients: [[7, 5, [{ gc: 1 }, s('z', { origin: [7, 5] })]], [6, 9, [{ gc: 1 }]]], ds: [[6, [[9, 1]]]] }),
    itemAt3: craft({ clients: [[7, 3, [s('pqrs', { root: 'text' })]]], ds: [] }),
    fill7: craft({ clients: [[7, 0, [s('012', { root: 'text' })]]], ds: [[7, [[0, 1]]]] }),
    // sorted: Yjs keeps pending deletes V2-encoded, which garbles unsorted ranges
    dsAhead: craft({ clients: [], ds: [[7, [[4, 1], [8, 2]]], [9, [[0, 3]]]] })
  }
  // Found by FuzzDiffUpdate: an update that leaves structs pending, whose
  // diff (cut at the state vector) integrates where the whole update
  // waits, so applying the diff after the whole grows the document.
  const fuzzed = Uint8Array.from(Buffer.from('03033000c40130c8303001300130313030043031300130043100c40130303003303030c8303030300177023030043030300130c430303030013008010004010430303030023030413030300188303030304330300130c43030c8303001300130303030043030300130203000', 'hex'))
  const fuzzedSV = Uint8Array.from(Buffer.from('013030', 'hex'))
  v.addDiff(fuzzed, fuzzedSV)
  v.addDiff(fuzzed, svOf([]))
  const pendSVs = [svOf([]), svOf([[6, 3], [7, 4]]), svOf([[7, 6], [6, 1], [9, 1]])]
  v.addPending(true, [Y.diffUpdate(fuzzed, svOf([])), Y.diffUpdate(fuzzed, fuzzedSV)], pendSVs)
  // Found by FuzzDiffUpdate: a state vector that cuts a string inside a
  // surrogate pair. Applying the diff after the whole update changes the
  // text although it adds no struct: the diff's first struct is known,
  // but Yjs looks up its origin first, which splits the known item inside
  // the pair, and a split replaces both halves with U+FFFD.
  const cutPair = Uint8Array.from(Buffer.from('02023000c4012001200130480120017a3030303030303030100100010104303030300284010103303030840104043030303041010802210105303030303001300141010b0288010d037d3078770130430110033030302101033030300130012101033030300330303001c4010401050b3030f09f988030303030302101033030300630303030303030283001300530303030300177053030303030410130304301300001303001300030', 'hex'))
  const cutPairSV = Uint8Array.from([1, 1, 0x17])
  v.addDiff(cutPair, cutPairSV)
  v.addPending(true, [Y.diffUpdate(cutPair, svOf([])), Y.diffUpdate(cutPair, cutPairSV)], pendSVs)
  for (const gc of [true, false]) {
    v.addPending(gc, [P.keyShort, P.keyLong, P.keyFill], pendSVs)
    v.addPending(gc, [P.keyLong, P.keyShort, P.dsAhead, P.keyFill], pendSVs)
    v.addPending(gc, [P.gcA, P.gcB, P.itemAt3, P.dsAhead, P.fill7, P.keyShort, P.keyFill], pendSVs)
    v.addPending(gc, [P.itemAt3, P.gcB, P.gcA, P.fill7], pendSVs)
    v.addPending(gc, [P.gcB, P.itemAt3, P.keyLong, P.gcA, P.keyShort, P.dsAhead, P.keyFill, P.fill7], pendSVs)
  }
  return v.write('crafted')
}

// A compaction: many small updates merged at once (more than 64 inputs, so
// V8's sort runs its merging phase) together with snapshots of garbage
// collected docs, whose GC structs tie with the original items.
const compactionCase = () => {
  const rng = createRng(0xc0ffee)
  const v = new Vectors('Compaction: ~150 incremental updates (nested types created and deleted, so GC structs appear) merged in one call with gc snapshots, in several orders; plus the merge of everything pairwise.')
  const { updates, snapshots } = session(rng, { clients: [11, 22, BIG], steps: 170, gcs: [true] })
  const pool = [...updates, ...snapshots]
  for (let i = 0; i < 4; i++) v.addMerge(shuffle(rng, pool))
  v.addMerge([...snapshots, ...updates])
  v.addMerge([...updates, ...snapshots])
  let acc = pool[0]
  for (const u of shuffle(rng, pool).slice(0, 40)) acc = Y.mergeUpdates([acc, u])
  v.addMerge([acc, ...snapshots])
  return v.write('compaction')
}

const sizes = {}
sizes['random-text'] = randomCase('random-text', 1, {
  description: 'Three clients editing text/array/map with partial syncs; incremental updates, snapshots, random merges (with duplicates and merges of merges), diffs against real and random state vectors, out-of-order delivery to a fresh doc.',
  clients: [1, 2, 3],
  steps: 70,
  gcs: [true, false]
}, { merges: 30, maxMergeInputs: 6, mergeAll: true, diffs: 40, stateVectors: 30, pending: 4 })
sizes['random-gc'] = randomCase('random-gc', 2, {
  description: 'Four clients (one with a 5-byte ID) under gc, nested types deleted often: GC structs in snapshots overlap the items of incremental updates.',
  clients: [7, 8, 9, BIG],
  steps: 75,
  gcs: [true]
}, { merges: 30, maxMergeInputs: 8, mergeAll: true, diffs: 30, stateVectors: 20, pending: 4 })
sizes['random-nogc'] = randomCase('random-nogc', 3, {
  description: 'Two clients without gc: deleted content kept.',
  clients: [100, 200],
  steps: 50,
  gcs: [false]
}, { merges: 20, maxMergeInputs: 5, mergeAll: true, diffs: 25, stateVectors: 15, pending: 4 })
sizes['pending'] = randomCase('pending', 4, {
  description: 'Out-of-order delivery: fresh docs (gc on and off) receive shuffled subsets of the updates, duplicates, snapshots and merges; encodeStateAsUpdate after every step includes pending structs and deletes.',
  clients: [5, 6, 7],
  steps: 50,
  gcs: [true, false]
}, { merges: 6, maxMergeInputs: 4, mergeAll: false, diffs: 5, stateVectors: 5, pending: 10 })
sizes.crafted = craftedCase()
sizes.compaction = compactionCase()
let total = 0
for (const [name, n] of Object.entries(sizes)) {
  total += n
  console.log(`${name}: ${n} bytes`)
}
console.log(`total: ${total} bytes`)
