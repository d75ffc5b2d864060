// Renders the markdown table of servers-compare.sh from the JSON results of
// `quire bench` (<label>.<scenario>.json in one directory).
//
//   node scripts/bench/servers-table.mjs <dir> [--meta "date, machine, load"]
//
// Every figure is lower-is-better; a ratio is the best reference server's
// figure divided by Quire's (above 1: Quire is better). Targets are those
// of issue 6.
import fs from 'node:fs'
import path from 'node:path'

const dir = process.argv[2]
const meta = process.argv.indexOf('--meta') > 0 ? process.argv[process.argv.indexOf('--meta') + 1] : ''
const refs = ['y-websocket-server', 'hocuspocus']
const quires = ['quire-1', 'quire-2']
const read = (label, scen) => {
  const f = path.join(dir, `${label}.${scen}.json`)
  return fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, 'utf8')) : null
}

const kb = (b) => b / 1024
const rows = [
  // scenario, metric, value(result), format, target(quire, refs) → bool|null, target text
  ['hot-1600', 'server CPU per delivery, µs', r => r.server_cpu_us_per_delivery, 2, (q, best) => q <= best / 5, '≤ best/5'],
  ['hot-1600', 'delivery latency p99, ms', r => r.latency_ms.p99, 1],
  ['hot-1600', 'lost deliveries, %', r => 100 * r.loss, 2],
  ['hot-1600', 'load generator CPU, s', r => r.loadgen_cpu_sec, 1],
  ['hot-3200', 'server CPU per delivery, µs', r => r.server_cpu_us_per_delivery, 2],
  ['hot-3200', 'delivery latency p99, ms', r => r.latency_ms.p99, 1, q => q <= 20, '≤ 20 ms'],
  ['hot-3200', 'lost deliveries, %', r => 100 * r.loss, 2, q => q === 0, '0'],
  ['fanout-200x5', 'delivery latency p99, ms', r => r.latency_ms.p99, 2, q => q <= 5, '≤ 5 ms'],
  ['fanout-200x5', 'lost deliveries, %', r => 100 * r.loss, 2],
  ['fanout-200x5', 'server CPU per delivery, µs', r => r.server_cpu_us_per_delivery, 2],
  ['idle', 'server memory per connection, KB', r => kb(r.server_bytes_per_conn), 1, q => q <= 13, '≤ 13 KB'],
  ['idle', 'open and sync all, s', r => r.connect_sec, 2],
  ['idle', 'server CPU, s', r => r.server_cpu_sec, 2],
  ['join-storm', 'time to sync p50, ms', r => r.latency_ms.p50, 1],
  ['join-storm', 'time to sync p99, ms', r => r.latency_ms.p99, 1, (q, best) => q <= best / 5, '≤ best/5'],
  ['join-storm', 'server CPU for the storm, ms', r => 1000 * r.server_cpu_sec, 0],
  ['join-storm', 'server memory per loaded idle document, KB', r => kb(r.server_bytes_per_doc), 1, (q, best) => q <= best / 4, '≤ refs/4'],
  ['join-storm', 'server memory per room with its document and one connection, KB', r => kb(r.server_bytes_per_room), 1],
  ['cold-load', 'time to sync p50, ms', r => r.latency_ms.p50, 1],
  ['cold-load', 'time to sync p99, ms', r => r.latency_ms.p99, 1],
]

const fmt = (v, d) => (v === undefined || v === null || Number.isNaN(v)) ? '–' : v.toFixed(d)
const out = []
out.push('| scenario | figure | y-websocket-server | Hocuspocus | Quire GOMAXPROCS=1 | Quire GOMAXPROCS=2 | best ref ÷ Quire (1 / 2) | target | met (1 / 2) |')
out.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |')
const problems = []
for (const [scen, name, get, digits, target, ttext] of rows) {
  const val = (label) => {
    const r = read(label, scen)
    if (!r) return undefined
    if (r.errors) problems.push(`${label} ${scen}: ${r.errors} errors, first: ${r.first_error}`)
    return get(r)
  }
  const rv = refs.map(val)
  const qv = quires.map(val)
  const known = rv.filter(v => v !== undefined)
  const best = known.length ? Math.min(...known) : undefined
  const ratio = (q) => (best === undefined || q === undefined) ? '–' : q === 0 ? (best === 0 ? '=' : '∞') : `${(best / q).toFixed(1)}×`
  const met = (q) => (!target || q === undefined || (best === undefined && target.length > 1)) ? '–' : target(q, best) ? 'yes' : '**no**'
  out.push(`| ${scen} | ${name} | ${fmt(rv[0], digits)} | ${fmt(rv[1], digits)} | ${fmt(qv[0], digits)} | ${fmt(qv[1], digits)} | ${ratio(qv[0])} / ${ratio(qv[1])} | ${ttext || ''} | ${target ? `${met(qv[0])} / ${met(qv[1])}` : ''} |`)
}
console.log(out.join('\n'))
if (meta) console.log(`\n${meta}`)
for (const p of new Set(problems)) console.log(`\nwarning: ${p}`)
