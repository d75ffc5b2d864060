// Self-check of the scenario generator:
//
//   node scripts/yjs/selfcheck.mjs [--from 1] [--to 50]
//
// For every seed it generates the scenario (in process, default options plus a
// few variants), then replays the JSON lines alone on fresh Yjs docs exactly
// as the Go test is meant to (README "Replaying a scenario"), and checks that
// every recorded "update" and every "check" line (json, state, stateVector) is
// reproduced byte for byte. Exits 1 on the first failure.

import * as Y from 'yjs'
import { canon, fromBase64, toBase64 } from './canon.mjs'
import { ROOTS, applyOp, getRoot, runScenario } from './scenario.mjs'

const args = process.argv.slice(2)
const argVal = (name, def) => {
  const i = args.indexOf(name)
  return i >= 0 ? Number(args[i + 1]) : def
}
const from = argVal('--from', 1)
const to = argVal('--to', 50)

/** Replays scenario lines on fresh docs; returns a list of mismatch messages. */
export const replay = (lines) => {
  const errors = []
  let docs = null
  let captured = null
  lines.forEach((text, n) => {
    const line = JSON.parse(text)
    switch (line.kind) {
      case 'init':
        docs = line.clients.map((id, i) => {
          const d = new Y.Doc({ gc: line.gc })
          d.clientID = id
          for (const r of ROOTS) getRoot(d, r)
          d.on('update', (u) => { if (captured !== null && captured.doc === i) captured.updates.push(u) })
          return d
        })
        break
      case 'local': {
        const d = docs[line.doc]
        captured = { doc: line.doc, updates: [] }
        d.transact(() => { for (const op of line.ops) applyOp(d, op) })
        const got = captured.updates.length === 0 ? null : toBase64(captured.updates[0])
        captured = null
        if (got !== line.update) errors.push(`line ${n + 1}: local update differs`)
        break
      }
      case 'deliver':
        Y.applyUpdate(docs[line.doc], fromBase64(line.update))
        break
      case 'check': {
        const d = docs[line.doc]
        const json = {}
        for (const r of ROOTS) json[r] = canon(getRoot(d, r))
        if (JSON.stringify(json) !== JSON.stringify(line.json)) errors.push(`line ${n + 1}: check json differs`)
        if (toBase64(Y.encodeStateAsUpdate(d)) !== line.state) errors.push(`line ${n + 1}: check state differs`)
        if (toBase64(Y.encodeStateVector(d)) !== line.stateVector) errors.push(`line ${n + 1}: check stateVector differs`)
        break
      }
      default:
        errors.push(`line ${n + 1}: unknown kind ${line.kind}`)
    }
  })
  return errors
}

const variants = [
  { steps: 200, clients: 3, gc: null },
  { steps: 120, clients: 2, gc: false },
  { steps: 150, clients: 5, gc: null }
]

const isMain = process.argv[1]?.endsWith('selfcheck.mjs')
if (isMain) {
  let failed = 0
  let runs = 0
  let lineCount = 0
  const t0 = Date.now()
  for (let seed = from; seed <= to; seed++) {
    for (const v of variants) {
      // variants other than the default run on every 5th seed only
      if (v !== variants[0] && seed % 5 !== 0) continue
      runs++
      let problems
      let lines
      try {
        ({ lines, problems } = runScenario({ seed, ...v }))
      } catch (e) {
        problems = [`generator threw: ${e.stack}`]
        lines = []
      }
      const errors = [...problems, ...replay(lines)]
      lineCount += lines.length
      if (errors.length > 0) {
        failed++
        console.error(`seed ${seed} ${JSON.stringify(v)}:\n  ${errors.slice(0, 10).join('\n  ')}`)
      }
    }
  }
  console.log(`selfcheck: seeds ${from}..${to}, ${runs} scenarios, ${lineCount} lines, ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  console.log(`${runs - failed} passed, ${failed} failed`)
  if (failed > 0) process.exitCode = 1
}
