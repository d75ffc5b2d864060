// Runs the CRDT trace benchmarks of crdt/bench_test.go with the real `yjs`
// package, for a side-by-side comparison (see crdt-compare.sh).
//
//   node --expose-gc scripts/bench/yjs-bench.mjs [--quick] [--only B4,Seph,FriendsForever,ClownSchool] [--save-final DIR]
//   node --expose-gc scripts/bench/yjs-bench.mjs --load-round TRACE FILE
//
// --save-final writes each sequential trace's final state to DIR/TRACE.bin.
// --load-round times only the load of FILE (a state saved so), checked
// against TRACE's endContent: one round of crdt-compare.sh's load rounds,
// where Go and Yjs take turns.
//
// Prints one JSON object: for each scenario the median wall time in ns
// (process.hrtime.bigint), the median process CPU time in ns
// (process.cpuUsage, all threads), the number of timed runs and some sizes; for the
// memory scenario the retained heap in bytes. Client IDs match the Go
// harness (3000000000, and 3000000000+agent for concurrent traces), so the
// printed digests (sha256 of the concatenated per-txn updates and of the
// final state, first 16 hex digits) can be compared with the Go ones.
//
// Traces: testdata/traces (CC BY 4.0, see the README there).

import * as Y from 'yjs'
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import crypto from 'node:crypto'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const traceDir = path.resolve(here, '..', '..', 'testdata', 'traces')
const CLIENT = 3000000000

const args = process.argv.slice(2)
const quick = args.includes('--quick')
const onlyArg = args.indexOf('--only')
const only = onlyArg >= 0 ? new Set(args[onlyArg + 1].split(',')) : null
const want = (name) => only === null || only.has(name)
const saveArg = args.indexOf('--save-final')
const saveDir = saveArg >= 0 ? args[saveArg + 1] : null
const roundArg = args.indexOf('--load-round')

if (typeof global.gc !== 'function') {
  console.error('run node with --expose-gc')
  process.exit(2)
}

const loadTrace = (name) => JSON.parse(zlib.gunzipSync(fs.readFileSync(path.join(traceDir, name + '.json.gz'))).toString('utf8'))

// Runs are this many: heavy scenarios (seconds each) and light ones (ms).
const RUNS_HEAVY = quick ? 1 : 3
const RUNS_LIGHT = quick ? 5 : 25

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

/**
 * Times fn() runs times, after warmup untimed runs; returns the median ns
 * and, as first, the time of the very first (cold, JIT-unwarmed) call.
 */
const measure = (runs, warmup, fn) => {
  let first = null
  for (let i = 0; i < warmup; i++) {
    const t0 = process.hrtime.bigint()
    fn()
    if (first === null) first = Number(process.hrtime.bigint() - t0)
  }
  const times = []
  const cpus = []
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage()
    const t0 = process.hrtime.bigint()
    fn()
    times.push(Number(process.hrtime.bigint() - t0))
    const c = process.cpuUsage(c0)
    cpus.push((c.user + c.system) * 1000)
  }
  return { ns: median(times), cpuNs: median(cpus), runs, first: first ?? times[0], all: times }
}

const digest = (parts) => {
  const h = crypto.createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest('hex').slice(0, 16)
}

const newDoc = (clientID) => {
  const d = new Y.Doc()
  d.clientID = clientID
  return d
}

const applyPatches = (ytext, patches) => {
  for (const [pos, del, ins] of patches) {
    if (del > 0) ytext.delete(pos, del)
    if (ins !== '') ytext.insert(pos, ins)
  }
}

/** Replays a sequential trace, one transaction per txn, collecting updates. */
const replayLocal = (trace) => {
  const doc = newDoc(CLIENT)
  const ytext = doc.getText('text')
  const updates = []
  doc.on('update', (u) => { updates.push(u) })
  for (const txn of trace.txns) {
    doc.transact(() => applyPatches(ytext, txn.patches))
  }
  if (ytext.toString() !== trace.endContent) throw new Error('local replay: text differs from endContent')
  if (updates.length !== trace.txns.length) throw new Error(`${updates.length} updates for ${trace.txns.length} txns`)
  return { doc, ytext, updates }
}

const applyAll = (updates, endContent) => {
  const doc = newDoc(1)
  const ytext = doc.getText('text')
  for (const u of updates) Y.applyUpdate(doc, u)
  if (ytext.toString() !== endContent) throw new Error('remote replay: text differs from endContent')
  return doc
}

const load = (update, endContent) => {
  const doc = newDoc(1)
  Y.applyUpdate(doc, update)
  if (doc.getText('text').toString() !== endContent) throw new Error('load: text differs from endContent')
  return doc
}

/** Heap retained by a document loaded from update, median of runs. */
const retainedHeap = (update, runs) => {
  const deltas = []
  for (let i = 0; i < runs; i++) {
    global.gc(); global.gc()
    const before = process.memoryUsage().heapUsed
    let doc = newDoc(1)
    Y.applyUpdate(doc, update)
    global.gc(); global.gc()
    const after = process.memoryUsage().heapUsed
    if (doc.getText('text').length === 0) throw new Error('empty') // keeps doc alive
    deltas.push(after - before)
    doc = null
  }
  return { bytes: median(deltas), runs, all: deltas }
}

// Concurrent traces: one doc per agent; before an agent's txn, apply the
// updates of the txn's ancestors that agent lacks, in index order.
const schedule = (trace) => {
  const n = trace.txns.length
  const applied = Array.from({ length: trace.numAgents }, () => new Uint8Array(n))
  const last = new Array(trace.numAgents).fill(-1)
  const before = new Array(n)
  trace.txns.forEach((txn, i) => {
    const a = txn.agent
    const ap = applied[a]
    const need = []
    let foundLast = last[a] < 0
    const stack = [...txn.parents]
    while (stack.length > 0) {
      const p = stack.pop()
      if (p === last[a]) foundLast = true
      if (ap[p]) continue
      ap[p] = 1
      need.push(p)
      stack.push(...trace.txns[p].parents)
    }
    if (!foundLast) throw new Error(`txn ${i} does not descend from its agent's previous txn`)
    need.sort((x, y) => x - y)
    before[i] = need
    ap[i] = 1
    last[a] = i
  })
  const final = applied.map((ap) => { const f = []; ap.forEach((ok, i) => { if (!ok) f.push(i) }); return f })
  return { before, final }
}

const replayConcurrent = (trace, sched) => {
  const docs = []
  const texts = []
  const updates = new Array(trace.txns.length)
  let cur = 0
  for (let a = 0; a < trace.numAgents; a++) {
    const d = newDoc(CLIENT + a)
    texts.push(d.getText('text'))
    d.on('update', (u, origin) => { if (origin === null) updates[cur] = u })
    docs.push(d)
  }
  const remote = {}
  trace.txns.forEach((txn, i) => {
    const d = docs[txn.agent]
    for (const j of sched.before[i]) Y.applyUpdate(d, updates[j], remote)
    cur = i
    const ytext = texts[txn.agent]
    d.transact(() => applyPatches(ytext, txn.patches))
    if (updates[i] === undefined) throw new Error(`txn ${i} produced no update`)
  })
  docs.forEach((d, a) => { for (const j of sched.final[a]) Y.applyUpdate(d, updates[j], remote) })
  texts.forEach((t, a) => { if (t.toString() !== trace.endContent) throw new Error(`agent ${a}: text differs from endContent`) })
  return { docs, updates }
}

// A round's process has run nothing before its loads, where the full run
// has replayed whole traces first: this many untimed loads warm its JIT
// up as far (fewer left the first timed loads half again as slow).
const LOAD_ROUND_WARMUP = +(process.env.LOAD_ROUND_WARMUP ?? 20)

if (roundArg >= 0) {
  const [name, file] = args.slice(roundArg + 1, roundArg + 3)
  const { endContent } = loadTrace(name)
  const final = new Uint8Array(fs.readFileSync(file))
  const yjs = JSON.parse(fs.readFileSync(path.resolve(here, '..', '..', 'node_modules', 'yjs', 'package.json'))).version
  console.log(JSON.stringify({ yjs, node: process.version, trace: name, load: measure(RUNS_LIGHT, LOAD_ROUND_WARMUP, () => load(final, endContent)) }))
  process.exit(0)
}

const out = { yjs: JSON.parse(fs.readFileSync(path.resolve(here, '..', '..', 'node_modules', 'yjs', 'package.json'))).version, node: process.version, results: {} }
const res = out.results

for (const [name, key] of [['automerge-paper', 'B4'], ['seph-blog1', 'Seph']]) {
  if (!want(key)) continue
  const trace = loadTrace(name)
  let last
  const local = measure(RUNS_HEAVY, 0, () => { last = replayLocal(trace) })
  const updates = last.updates
  const final = Y.encodeStateAsUpdate(last.doc)
  if (saveDir) fs.writeFileSync(path.join(saveDir, name + '.bin'), final)
  res[`${key}Local`] = { ...local, edits: trace.txns.length, updateBytes: updates.reduce((n, u) => n + u.length, 0) }
  res[`${key}Remote`] = measure(RUNS_HEAVY, 0, () => applyAll(updates, trace.endContent))
  res[`${key}Load`] = { ...measure(RUNS_LIGHT, 2, () => load(final, trace.endContent)), updateBytes: final.length }
  const loaded = load(final, trace.endContent)
  let enc
  res[`${key}Encode`] = measure(RUNS_LIGHT, 2, () => { enc = Y.encodeStateAsUpdate(loaded) })
  if (Buffer.compare(Buffer.from(enc), Buffer.from(final)) !== 0) throw new Error('re-encoded state differs')
  res[`${key}Memory`] = retainedHeap(final, quick ? 3 : 5)
  res[`${key}Digest`] = { txns: updates.length, updateBytes: res[`${key}Local`].updateBytes, updates: digest(updates), final: final.length, finalDigest: digest([final]) }
  last = null
}

for (const [name, key] of [['friendsforever', 'FriendsForever'], ['clownschool', 'ClownSchool']]) {
  if (!want(key)) continue
  const trace = loadTrace(name)
  const sched = schedule(trace)
  let last
  res[key] = { ...measure(quick ? 3 : 7, 1, () => { last = replayConcurrent(trace, sched) }), txns: trace.txns.length }
  const final = Y.encodeStateAsUpdate(last.docs[0])
  res[`${key}Digest`] = { txns: last.updates.length, updateBytes: last.updates.reduce((n, u) => n + u.length, 0), updates: digest(last.updates), final: final.length, finalDigest: digest([final]) }
}

console.log(JSON.stringify(out, null, 1))
