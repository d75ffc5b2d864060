// Generates the Yjs updates that `quire bench` sends, with real Yjs:
//   loadtest/testdata/typing.bin  streams of typing updates, one stream per
//                                 sender (its own client ID), each update a
//                                 few characters appended to Y.Text "text"
//   loadtest/testdata/doc20k.bin  one update holding a ~20 KB document, the
//                                 content of the rooms of the join storm
// Format of typing.bin (lib0 encoding): varuint streams, then per stream
// varuint clientID, varuint count, count × varbytes update.
// Usage: node scripts/bench/loadtest-fixtures.mjs (deterministic output).
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

const out = join(dirname(fileURLToPath(import.meta.url)), '../../loadtest/testdata')
const STREAMS = 16
const UPDATES = 2500

let seed = 0x2545f491
const rand = () => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return (seed >>> 0) / 4294967296 }
const word = (n) => { let s = ''; for (let i = 0; i < n; i++) s += String.fromCharCode(97 + Math.floor(rand() * 26)); return s }

const enc = encoding.createEncoder()
encoding.writeVarUint(enc, STREAMS)
let total = 0
for (let s = 0; s < STREAMS; s++) {
  const doc = new Y.Doc()
  doc.clientID = 0x10000 + s * 7919
  const text = doc.getText('text')
  const updates = []
  doc.on('update', u => updates.push(u))
  for (let i = 0; i < UPDATES; i++) text.insert(text.length, word(1 + Math.floor(rand() * 4)))
  encoding.writeVarUint(enc, doc.clientID)
  encoding.writeVarUint(enc, updates.length)
  for (const u of updates) { encoding.writeVarUint8Array(enc, u); total += u.length }
}
writeFileSync(join(out, 'typing.bin'), encoding.toUint8Array(enc))

const big = new Y.Doc()
big.clientID = 0x7fff0001
const text = big.getText('text')
while (text.length < 12500) text.insert(Math.floor(rand() * text.length), word(20 + Math.floor(rand() * 60)) + ' ')
const state = Y.encodeStateAsUpdate(big)
writeFileSync(join(out, 'doc20k.bin'), state)
console.log(`typing.bin: ${STREAMS} streams × ${UPDATES} updates, ${total} update bytes; doc20k.bin: ${state.length} bytes, ${text.length} characters`)
