// Bundles the pages' JavaScript and CSS (static/src and the pinned npm
// packages) into static/dist, which the Go binary embeds.
//
//   npm run build        (from the repository root, after npm ci)
//
// Fails if the bundle would hold more than one copy of yjs: y-websocket,
// y-quill, y-indexeddb and the page must share one, or documents break
// in subtle ways (Yjs warns "Yjs was already imported").

import * as esbuild from 'esbuild'
import { readdir, readFile, rm } from 'node:fs/promises'
import { gzipSync } from 'node:zlib'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

const here = path.dirname(fileURLToPath(import.meta.url))
const outdir = path.join(here, 'dist')
const keep = new Set(['PLACEHOLDER'])

for (const name of await readdir(outdir).catch(() => [])) {
  if (!keep.has(name)) await rm(path.join(outdir, name), { recursive: true, force: true })
}

const result = await esbuild.build({
  absWorkingDir: path.dirname(here),
  entryPoints: {
    home: 'static/src/home.js',
    editor: 'static/src/editor.js',
    sw: 'static/src/sw.js'
  },
  outdir,
  bundle: true,
  format: 'iife',
  target: ['chrome109', 'firefox115', 'safari16'],
  minify: true,
  sourcemap: 'linked',
  legalComments: 'linked', // third-party licences in *.LEGAL.txt next to each file
  metafile: true,
  logLevel: 'warning'
})

const yjsCopies = new Set()
for (const input of Object.keys(result.metafile.inputs)) {
  const m = input.match(/^(.*node_modules\/yjs)\//)
  if (m) yjsCopies.add(m[1])
}
if (yjsCopies.size !== 1) {
  console.error(`build: expected exactly one copy of yjs in the bundle, found ${yjsCopies.size}: ${[...yjsCopies].join(', ')}`)
  process.exit(1)
}

// Sizes as served: minified, and gzipped (what a browser downloads).
for (const [file, { bytes }] of Object.entries(result.metafile.outputs)) {
  if (file.endsWith('.map')) continue
  // Output paths are relative to absWorkingDir, the repository root.
  const abs = path.resolve(path.dirname(here), file)
  const gzipped = gzipSync(await readFile(abs), { level: 9 }).length
  console.log(`build: ${path.relative(path.dirname(here), abs)} ${(bytes / 1024).toFixed(1)} KiB, ${(gzipped / 1024).toFixed(1)} KiB gzipped`)
}
