// Runs the CRDT trace benchmarks of crdt/bench_test.go with the real `yjs`
// package, for a side-by-side comparison (see crdt-compare.sh).
//
//   node --expose-gc scripts/bench/yjs-bench.mjs [--quick] [--only B4,Seph,FriendsForever,ClownSchool] [--rounds DIR]
//
// --rounds DIR: right after timing the B4 load, time it again on request,
// in rounds, before going on: crdt-compare.sh's load rounds, where Go and
// Yjs take turns. The requests come through the FIFO DIR/cmd ("load" for
// a round, anything else to go on), the answers (one JSON line each, after
// a first "ready") through the FIFO DIR/res. Yjs is timed there in the
// state its B4 load figure was taken in: warmed up by the trace's replays,
// with what they left on the heap.
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
const roundsArg = args.indexOf('--rounds')
const roundsDir = roundsArg >= 0 ? args[roundsArg + 1] : null

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

// Untimed loads before each round's timed ones. V8 shrinks its young
// generation while the process idles (as it does while Go takes its
// turn), and the first loads after that ran up to half again as slow.
const ROUND_WARMUP = 10

/** Times fn in rounds, on request through roundsDir (see --rounds). */
const serveRounds = (fn) => {
  const res = fs.openSync(path.join(roundsDir, 'res'), 'w')
  fs.writeSync(res, 'ready\n')
  while (fs.readFileSync(path.join(roundsDir, 'cmd'), 'utf8').trim() === 'load') {
    fs.writeSync(res, JSON.stringify(measure(RUNS_LIGHT, ROUND_WARMUP, fn)) + '\n')
  }
  fs.closeSync(res)
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
  res[`${key}Local`] = { ...local, edits: trace.txns.length, updateBytes: updates.reduce((n, u) => n + u.length, 0) }
  res[`${key}Remote`] = measure(RUNS_HEAVY, 0, () => applyAll(updates, trace.endContent))
  res[`${key}Load`] = { ...measure(RUNS_LIGHT, 2, () => load(final, trace.endContent)), updateBytes: final.length }
  if (key === 'B4' && roundsDir) serveRounds(() => load(final, trace.endContent))
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
