// Renders the markdown comparison table of crdt-compare.sh.
//
//   node scripts/bench/crdt-table.mjs <go-bench-output> <go-digest-output> <yjs-json> [<go-load-rounds> <yjs-load-rounds>]
//
// go-bench-output: `go test -bench` output (several runs may be
// concatenated; with -count N the median of the N results is used).
// go-digest-output: `go test -v -run 'Trace'` output with trace-digest lines.
// yjs-json: output of yjs-bench.mjs.
// go-load-rounds, yjs-load-rounds: the load rounds, where Go and Yjs took
// turns (B4Load results, one per round; yjs-bench.mjs --rounds lines).
// With them the B4 load row gives the medians over the rounds, and as its
// ratio the median of the rounds' ratios.

import fs from 'node:fs'

const [goFile, digestFile, yjsFile, goRoundsFile, yjsRoundsFile] = process.argv.slice(2)
const goText = fs.readFileSync(goFile, 'utf8')
const digestText = fs.existsSync(digestFile) ? fs.readFileSync(digestFile, 'utf8') : ''
const yjs = JSON.parse(fs.readFileSync(yjsFile, 'utf8'))

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

// name -> list of { nsPerOp, metrics: {unit: value} }
const go = {}
for (const line of goText.split('\n')) {
  const m = /^Benchmark(\S+?)(?:-\d+)?\s+(\d+)\s+([\d.]+) ns\/op(.*)$/.exec(line)
  if (!m) continue
  const metrics = {}
  const rest = m[4].trim().split(/\s+/)
  for (let i = 0; i + 1 < rest.length; i += 2) metrics[rest[i + 1]] = Number(rest[i])
  ;(go[m[1]] ??= []).push({ ns: Number(m[3]), metrics })
}
const failed = new Set([...goText.matchAll(/--- FAIL: Benchmark(\S+?)(?:-\d+)?\b/g)].map((m) => m[1]))

// Load rounds: round i pairs the i-th B4Load result with the i-th Yjs line.
const rounds = []
if (goRoundsFile && yjsRoundsFile && fs.existsSync(goRoundsFile) && fs.existsSync(yjsRoundsFile)) {
  const goRounds = []
  for (const line of fs.readFileSync(goRoundsFile, 'utf8').split('\n')) {
    const m = /^BenchmarkB4Load(?:-\d+)?\s+\d+\s+([\d.]+) ns\/op.*?([\d.]+) cpu-ns\/op/.exec(line)
    if (m) goRounds.push({ ns: Number(m[1]), cpuNs: Number(m[2]) })
  }
  const yjsRounds = fs.readFileSync(yjsRoundsFile, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l))
  for (let i = 0; i < Math.min(goRounds.length, yjsRounds.length); i++) {
    const g = goRounds[i]
    const y = yjsRounds[i]
    rounds.push({ go: g.ns, yjs: y.ns, ratio: y.ns / g.ns, cpuRatio: y.cpuNs / g.cpuNs })
  }
}

const goNs = (name) => (go[name] ? median(go[name].map((r) => r.ns)) : null)
const goMetric = (name, unit) => (go[name] ? median(go[name].map((r) => r.metrics[unit])) : null)

const fmtTime = (ns) => {
  if (ns == null) return 'n/a'
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(2)} s`
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(ns >= 1e8 ? 0 : 1)} ms`
  return `${(ns / 1e3).toFixed(0)} µs`
}
const fmtMB = (b) => (b == null ? 'n/a' : `${(b / 1e6).toFixed(2)} MB`)

const rows = [
  // label, yjs key, go name, kind, target ratio
  ['B4 local (automerge-paper, 259,778 txns, update per txn)', 'B4Local', 'B4Local', 'time', 20],
  ['B4 remote (apply 259,778 updates)', 'B4Remote', 'B4Remote', 'time', 10],
  ['B4 load (one 311 KB update + toString)', 'B4Load', 'B4Load', 'time', 10],
  ['B4 encode full state', 'B4Encode', 'B4Encode', 'time', 3],
  ['B4 memory of loaded doc (retained heap)', 'B4Memory', 'B4Memory', 'mem', 4],
  ['seph-blog1 local (137,154 txns)', 'SephLocal', 'SephLocal', 'time', null],
  ['seph-blog1 remote', 'SephRemote', 'SephRemote', 'time', null],
  ['seph-blog1 load (338 KB update)', 'SephLoad', 'SephLoad', 'time', null],
  ['seph-blog1 encode full state', 'SephEncode', 'SephEncode', 'time', null],
  ['seph-blog1 memory of loaded doc', 'SephMemory', 'SephMemory', 'mem', null],
  ['friendsforever (2 agents, 26,078 txns, replay + merge)', 'FriendsForever', 'ConcurrentFriendsForever', 'time', null],
  ['clownschool (3 agents, 23,136 txns, replay + merge)', 'ClownSchool', 'ConcurrentClownSchool', 'time', null],
]

const out = []
out.push(`Yjs ${yjs.yjs} on Node ${yjs.node} vs Quire crdt (Go). Ratio = Yjs / Quire (higher is better for Quire). Times are medians of wall time. The CPU-time ratio compares process CPU time (all threads, GC included) and is steadier when other processes share the machine.`)
const loads = process.env.LOADAVG ? process.env.LOADAVG.trim() : ''
if (loads) out.push(`Load average during the run (1-min, sampled): ${loads}.`)
out.push('')
out.push('| benchmark | Yjs | Quire | ratio (Yjs/Quire) | CPU-time ratio | target | met (wall / CPU) |')
out.push('| --- | ---: | ---: | ---: | ---: | ---: | :-: |')
const summary = {}
for (const [label, yk, gk, kind, target] of rows) {
  const y = yjs.results[yk]
  let yv = null
  let gv = null
  if (kind === 'time') {
    yv = y ? y.ns : null
    gv = goNs(gk)
  } else {
    yv = y ? y.bytes : null
    const mb = goMetric(gk, 'MB')
    gv = mb == null ? null : mb * 1e6
  }
  const fmt = kind === 'time' ? fmtTime : fmtMB
  let ratio = yv != null && gv != null && gv > 0 ? yv / gv : null
  let cpuRatio = null
  if (kind === 'time' && y?.cpuNs && goMetric(gk, 'cpu-ns/op')) cpuRatio = y.cpuNs / goMetric(gk, 'cpu-ns/op')
  if (yk === 'B4Load' && rounds.length > 0) {
    yv = median(rounds.map((r) => r.yjs))
    gv = median(rounds.map((r) => r.go))
    ratio = median(rounds.map((r) => r.ratio))
    cpuRatio = median(rounds.map((r) => r.cpuRatio))
  }
  const quire = gv == null ? (failed.has(gk) ? 'FAIL' : 'n/a') : fmt(gv)
  const yn = (r) => (r == null ? '–' : r >= target ? 'yes' : 'no')
  const met = target == null || ratio == null ? '' : kind === 'time' ? `${yn(ratio)} / ${yn(cpuRatio)}` : yn(ratio)
  summary[yk] = { yjs: yv, quire: gv, ratio }
  out.push(`| ${label} | ${y ? fmt(yv) : 'n/a'} | ${quire} | ${ratio == null ? 'n/a' : ratio.toFixed(1) + '×'} | ${cpuRatio == null ? '' : cpuRatio.toFixed(1) + '×'} | ${target ? '≥ ' + target + '×' : ''} | ${met} |`)
}

// The issue's own Yjs reference figures (measured by crdt-benchmarks-style
// runs, cold): B4 local ≈10 s, load ≈52 ms, memory ≈19.7 MB.
out.push('')
out.push("Against the issue's Yjs reference figures:")
out.push('')
out.push('| benchmark | issue Yjs figure | Quire | ratio | target | met |')
out.push('| --- | ---: | ---: | ---: | ---: | :-: |')
for (const [label, key, ref, kind, target] of [
  ['B4 local', 'B4Local', 10e9, 'time', 20],
  ['B4 load', 'B4Load', 52e6, 'time', 10],
  ['B4 memory of loaded doc', 'B4Memory', 19.7e6, 'mem', 4],
]) {
  const gv = summary[key]?.quire
  const ratio = gv ? ref / gv : null
  const fmt = kind === 'time' ? fmtTime : fmtMB
  out.push(`| ${label} | ${fmt(ref)} | ${gv == null ? 'n/a' : fmt(gv)} | ${ratio == null ? 'n/a' : ratio.toFixed(1) + '×'} | ≥ ${target}× | ${ratio == null ? '' : ratio >= target ? 'yes' : 'no'} |`)
}

// Extra detail.
out.push('')
const extra = []
if (rounds.length > 0) {
  extra.push(`B4 load in ${rounds.length} rounds where Go and Yjs took turns (the row above gives their medians): ratios ${rounds.map((r) => r.ratio.toFixed(1) + '×').join(', ')}; Quire ${rounds.map((r) => fmtTime(r.go)).join(', ')}; Yjs ${rounds.map((r) => fmtTime(r.yjs)).join(', ')}`)
}
if (yjs.results.B4Load?.first) extra.push(`Yjs B4 load, first (cold JIT) run: ${fmtTime(yjs.results.B4Load.first)}`)
const el = goMetric('B4Local', 'µs/edit')
if (el != null) extra.push(`Quire B4 local: ${el.toFixed(2)} µs/edit`)
const ru = goMetric('B4Remote', 'µs/update')
if (ru != null) extra.push(`Quire B4 remote: ${ru.toFixed(2)} µs/update`)
for (const e of extra) out.push(`- ${e}`)

// Byte-for-byte check of the updates both engines produced.
const goDigest = {}
for (const m of digestText.matchAll(/trace-digest (\S+) txns=(\d+) updateBytes=(\d+) updates=(\w+) final=(\d+) finalDigest=(\w+)/g)) {
  goDigest[m[1]] = { txns: +m[2], updateBytes: +m[3], updates: m[4], final: +m[5], finalDigest: m[6] }
}
out.push('')
out.push('Update bytes, Quire vs Yjs (sha256 of all per-txn updates concatenated, and of the final state):')
out.push('')
out.push('| trace | per-txn updates: Yjs bytes | Quire bytes | identical | final state: Yjs bytes | Quire bytes | identical |')
out.push('| --- | ---: | ---: | :-: | ---: | ---: | :-: |')
for (const [trace, key] of [['automerge-paper', 'B4Digest'], ['seph-blog1', 'SephDigest'], ['friendsforever', 'FriendsForeverDigest'], ['clownschool', 'ClownSchoolDigest']]) {
  const y = yjs.results[key]
  const g = goDigest[trace]
  if (!y) continue
  if (!g) {
    out.push(`| ${trace} | ${y.updateBytes} | FAIL | no | ${y.final} | FAIL | no |`)
    continue
  }
  out.push(`| ${trace} | ${y.updateBytes} | ${g.updateBytes} | ${g.updates === y.updates ? 'yes' : 'no'} | ${y.final} | ${g.final} | ${g.finalDigest === y.finalDigest ? 'yes' : 'no'} |`)
}
if (failed.size > 0) {
  out.push('')
  out.push(`Failed Go benchmarks: ${[...failed].join(', ')}`)
}
console.log(out.join('\n'))
