// Canonical JSON ("canon") of Yjs content, shared by golden.mjs and
// scenario.mjs. The format is a contract with the Go tests; it is documented
// in scripts/yjs/README.md. Keep the two in sync.

import * as Y from 'yjs'

const sortedKeys = (obj) => Object.keys(obj).sort()

/** Standard base64 (with padding) of a Uint8Array. */
export const toBase64 = (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')

/** Inverse of toBase64. */
export const fromBase64 = (s) => new Uint8Array(Buffer.from(s, 'base64'))

/**
 * Canon of a lib0 "Any" value (the values ContentAny, ContentEmbed,
 * ContentFormat, ContentJSON, subdoc meta ... carry). Plain JSON where JSON
 * can express the value; escape objects otherwise.
 */
export const canonAny = (v) => {
  switch (typeof v) {
    case 'undefined':
      return { $undefined: true }
    case 'boolean':
    case 'string':
      return v
    case 'bigint':
      return { $bigint: v.toString(10) }
    case 'number':
      if (Object.is(v, -0)) return { $float: '-0' }
      if (Number.isNaN(v)) return { $float: 'NaN' }
      if (v === Infinity) return { $float: 'Infinity' }
      if (v === -Infinity) return { $float: '-Infinity' }
      return v
    case 'object': {
      if (v === null) return null
      if (v instanceof Uint8Array) return { $bytes: toBase64(v) }
      if (Array.isArray(v)) return v.map(canonAny)
      if (v instanceof Y.AbstractType || v instanceof Y.Doc) return canon(v)
      // Plain object: keep the key order of the value (for decoded Any values
      // this is the order in the encoding). Consumers compare structurally.
      const out = {}
      for (const k of Object.keys(v)) out[k] = canonAny(v[k])
      return out
    }
    default:
      throw new Error(`canonAny: unsupported value of type ${typeof v}`)
  }
}

/** Canon of a Y.Text / Y.XmlText delta. */
export const canonDelta = (delta) => delta.map((op) => {
  const out = { insert: typeof op.insert === 'string' ? op.insert : canon(op.insert) }
  if (op.attributes && Object.keys(op.attributes).length > 0) {
    const attrs = {}
    for (const k of sortedKeys(op.attributes)) attrs[k] = canonAny(op.attributes[k])
    out.attributes = attrs
  }
  return out
})

const canonEntries = (obj) => {
  const out = {}
  for (const k of sortedKeys(obj)) out[k] = canon(obj[k])
  return out
}

const mapEntries = (ymap) => {
  const obj = {}
  ymap.forEach((v, k) => { obj[k] = v })
  return obj
}

/**
 * The subdocument options exactly as ContentDoc writes them (ContentDoc.js):
 * only gc:false, autoLoad:true and meta (when not null), in that key order.
 */
export const subdocOpts = (doc) => {
  if (doc._item && doc._item.content && doc._item.content.opts) return doc._item.content.opts
  const opts = {}
  if (!doc.gc) opts.gc = false
  if (doc.autoLoad) opts.autoLoad = true
  if (doc.meta !== null) opts.meta = doc.meta
  return opts
}

/** Canon of any value found in a Y document (types, subdocs, Any values). */
export const canon = (v) => {
  // Order matters: subclasses before their base classes.
  if (v instanceof Y.XmlText) {
    return {
      $type: 'xmltext',
      string: v.toString(),
      delta: canonDelta(v.toDelta()),
      attrs: canonEntries(v.getAttributes())
    }
  }
  if (v instanceof Y.Text) {
    return { $type: 'text', string: v.toString(), delta: canonDelta(v.toDelta()) }
  }
  if (v instanceof Y.XmlElement) {
    return {
      $type: 'xmlelement',
      name: v.nodeName,
      attrs: canonEntries(v.getAttributes()),
      children: v.toArray().map(canon),
      string: v.toString()
    }
  }
  if (v instanceof Y.XmlFragment) {
    return { $type: 'xmlfragment', string: v.toString(), children: v.toArray().map(canon) }
  }
  if (v instanceof Y.XmlHook) {
    return { $type: 'xmlhook', name: v.hookName, entries: canonEntries(mapEntries(v)) }
  }
  if (v instanceof Y.Map) {
    return { $type: 'map', entries: canonEntries(mapEntries(v)) }
  }
  if (v instanceof Y.Array) {
    return { $type: 'array', items: v.toArray().map(canon) }
  }
  if (v instanceof Y.Doc) {
    return { $type: 'doc', guid: v.guid, opts: canonAny(subdocOpts(v)) }
  }
  if (v instanceof Y.AbstractType) {
    throw new Error('canon: unknown Yjs type ' + v.constructor.name)
  }
  return canonAny(v)
}

/**
 * Inverse of canonAny for Any values: turns the escape objects back into JS
 * values. Plain objects/arrays are rebuilt recursively.
 */
export const decodeAnyJSON = (x) => {
  if (x === null || typeof x !== 'object') return x
  if (Array.isArray(x)) return x.map(decodeAnyJSON)
  const keys = Object.keys(x)
  if (keys.length === 1) {
    switch (keys[0]) {
      case '$undefined': return undefined
      case '$bigint': return BigInt(x.$bigint)
      case '$bytes': return fromBase64(x.$bytes)
      case '$float': {
        switch (x.$float) {
          case '-0': return -0
          case 'NaN': return NaN
          case 'Infinity': return Infinity
          case '-Infinity': return -Infinity
        }
        throw new Error('decodeAnyJSON: bad $float ' + x.$float)
      }
    }
  }
  const out = {}
  for (const k of keys) out[k] = decodeAnyJSON(x[k])
  return out
}
