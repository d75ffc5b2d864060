// Package crdtjson converts documents of package crdt, and the values they
// hold, into a canonical JSON form: plain Go values (map[string]any,
// []any, string, float64, bool, nil) that encoding/json marshals directly.
//
// The form is a contract shared with the Node scripts that produce the
// golden vectors from the real yjs package (scripts/yjs/canon.mjs): the
// same document yields structurally equal JSON on both sides, so tests
// compare the two after unmarshalling. Object key order carries no
// meaning.
//
// Shared types become objects tagged with "$type":
//
//	Text        {"$type":"text", "string", "delta":[{"insert", "attributes"?}]}
//	Array       {"$type":"array", "items":[...]}
//	Map         {"$type":"map", "entries":{...}}
//	XmlFragment {"$type":"xmlfragment", "string", "children":[...]}
//	XmlElement  {"$type":"xmlelement", "name", "attrs":{...}, "children":[...], "string"}
//	XmlText     {"$type":"xmltext", "string", "delta":[...], "attrs":{...}}
//	XmlHook     {"$type":"xmlhook", "name", "entries":{...}}
//	SubDoc      {"$type":"doc", "guid", "opts"}
//
// A delta op's "insert" is a string or the canonical form of the embedded
// value; "attributes" is omitted when there are none.
//
// lib0 Any values map to JSON where JSON can hold them: null, booleans,
// numbers, strings, arrays and objects (lib0.Object and map[string]any).
// The rest become one-key escape objects:
//
//	lib0.Undefined      {"$undefined": true}
//	lib0.BigInt         {"$bigint": "<decimal>"}
//	[]byte              {"$bytes": "<standard base64, padded>"}
//	-0, NaN, ±Infinity  {"$float": "-0" | "NaN" | "Infinity" | "-Infinity"}
//
// Reading a document through Doc fixes the kind of each root it reads, as
// crdt.Doc.Text and its siblings do.
package crdtjson
