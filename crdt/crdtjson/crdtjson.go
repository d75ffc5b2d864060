package crdtjson

import (
	"encoding/base64"
	"math"
	"strconv"

	"github.com/quirehq/quire/crdt"
	"github.com/quirehq/quire/crdt/lib0"
)

// Doc returns the canonical form of every root of d whose kind is known
// (crdt.Doc.RootKind), keyed by root name. Roots whose kind cannot be
// known, because they were never requested and hold no content to infer it
// from, are left out.
func Doc(d *crdt.Doc) map[string]any {
	out := make(map[string]any)
	for _, name := range d.RootNames() {
		kind, ok := d.RootKind(name)
		if !ok {
			continue
		}
		if v, ok := root(d, name, kind); ok {
			out[name] = v
		}
	}
	return out
}

// root returns the canonical form of the root name read as kind.
func root(d *crdt.Doc, name string, kind crdt.Kind) (any, bool) {
	var (
		v   any
		err error
	)
	switch kind {
	case crdt.KindText:
		var x *crdt.Text
		if x, err = d.Text(name); err == nil {
			v = Value(x)
		}
	case crdt.KindArray:
		var x *crdt.Array
		if x, err = d.Array(name); err == nil {
			v = Value(x)
		}
	case crdt.KindMap:
		var x *crdt.Map
		if x, err = d.Map(name); err == nil {
			v = Value(x)
		}
	case crdt.KindXmlFragment:
		var x *crdt.XmlFragment
		if x, err = d.XmlFragment(name); err == nil {
			v = Value(x)
		}
	default:
		return nil, false // other kinds cannot be roots
	}
	return v, err == nil
}

// Value returns the canonical form of v: a shared type handle, a
// *crdt.SubDoc or a lib0 Any value (as decoded: nil, lib0.Undefined, bool,
// float64, lib0.BigInt, string, []byte, []any, lib0.Object). Go's other
// number types and map[string]any are accepted as well. Values of any
// other type are returned unchanged.
func Value(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case lib0.Undefined:
		return map[string]any{"$undefined": true}
	case bool, string:
		return x
	case float64:
		return number(x)
	case float32:
		return number(float64(x))
	case int:
		return number(float64(x))
	case int8:
		return number(float64(x))
	case int16:
		return number(float64(x))
	case int32:
		return number(float64(x))
	case int64:
		return number(float64(x))
	case uint:
		return number(float64(x))
	case uint8:
		return number(float64(x))
	case uint16:
		return number(float64(x))
	case uint32:
		return number(float64(x))
	case uint64:
		return number(float64(x))
	case lib0.BigInt:
		return map[string]any{"$bigint": strconv.FormatInt(int64(x), 10)}
	case []byte:
		return map[string]any{"$bytes": base64.StdEncoding.EncodeToString(x)}
	case []any:
		return values(x)
	case lib0.Object:
		out := make(map[string]any, len(x))
		for _, f := range x {
			out[f.Key] = Value(f.Value) // a repeated key keeps its last value, as in JavaScript
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, el := range x {
			out[k] = Value(el)
		}
		return out

	case *crdt.Text:
		return map[string]any{
			"$type":  "text",
			"string": x.String(),
			"delta":  delta(x.Delta()),
		}
	case *crdt.Array:
		return map[string]any{
			"$type": "array",
			"items": values(x.Values()),
		}
	case *crdt.Map:
		return map[string]any{
			"$type":   "map",
			"entries": entries(x.Keys(), x.Get),
		}
	case *crdt.XmlFragment:
		return map[string]any{
			"$type":    "xmlfragment",
			"string":   x.String(),
			"children": values(x.Children()),
		}
	case *crdt.XmlElement:
		return map[string]any{
			"$type":    "xmlelement",
			"name":     x.Name(),
			"attrs":    attrs(x.Attributes()),
			"children": values(x.Children()),
			"string":   x.String(),
		}
	case *crdt.XmlText:
		return map[string]any{
			"$type":  "xmltext",
			"string": x.String(),
			"delta":  delta(x.Delta()),
			"attrs":  attrs(x.Attributes()),
		}
	case *crdt.XmlHook:
		return map[string]any{
			"$type":   "xmlhook",
			"name":    x.Name(),
			"entries": entries(x.Keys(), x.Get),
		}
	case *crdt.SubDoc:
		return map[string]any{
			"$type": "doc",
			"guid":  x.GUID,
			"opts":  Value(x.Opts),
		}
	}
	return v
}

// number returns f, or an escape object for the values JSON cannot hold.
func number(f float64) any {
	switch {
	case math.IsNaN(f):
		return map[string]any{"$float": "NaN"}
	case math.IsInf(f, 1):
		return map[string]any{"$float": "Infinity"}
	case math.IsInf(f, -1):
		return map[string]any{"$float": "-Infinity"}
	case f == 0 && math.Signbit(f):
		return map[string]any{"$float": "-0"}
	}
	return f
}

// values converts a list; the result is never nil, so that it marshals
// as [] rather than null.
func values(vs []any) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = Value(v)
	}
	return out
}

func entries(keys []string, get func(string) (any, bool)) map[string]any {
	out := make(map[string]any, len(keys))
	for _, k := range keys {
		if v, ok := get(k); ok {
			out[k] = Value(v)
		}
	}
	return out
}

func attrs(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = Value(v)
	}
	return out
}

func delta(ops []crdt.DeltaOp) []any {
	out := make([]any, len(ops))
	for i, op := range ops {
		o := map[string]any{"insert": Value(op.Insert)}
		if len(op.Attributes) > 0 {
			o["attributes"] = Value(op.Attributes)
		}
		out[i] = o
	}
	return out
}
