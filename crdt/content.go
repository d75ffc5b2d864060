package crdt

import (
	"github.com/quirehq/quire/crdt/lib0"
)

// Content reference numbers: the low five bits of an encoded struct's info
// byte name its content kind.
const (
	refGC      = 0
	refDeleted = 1
	refJSON    = 2
	refBinary  = 3
	refString  = 4
	refEmbed   = 5
	refFormat  = 6
	refType    = 7
	refAny     = 8
	refDoc     = 9
	refSkip    = 10
)

// content is what an Item carries. Implementations mirror Yjs's Content*
// classes; each knows its length in clock units, whether it counts towards
// its parent's length, how to split and merge, and how to encode itself.
type content interface {
	ref() uint8
	length() int
	countable() bool
	// splice keeps the first offset units in the receiver and returns the
	// rest as new content.
	splice(offset int) content
	// mergeWith appends right to the receiver when the two can be one
	// content, and reports whether it did.
	mergeWith(right content) bool
	integrate(txn *Transaction, it *Item)
	delete(txn *Transaction)
	gc(s *structStore)
	// write encodes the content starting at offset units.
	write(e *lib0.Encoder, offset int)
	// values returns the content as one value per clock unit.
	values() []any
}

// contentDeleted stands in for removed content: only its length remains.
type contentDeleted struct{ n int }

func (c *contentDeleted) ref() uint8      { return refDeleted }
func (c *contentDeleted) length() int     { return c.n }
func (c *contentDeleted) countable() bool { return false }
func (c *contentDeleted) splice(offset int) content {
	r := &contentDeleted{n: c.n - offset}
	c.n = offset
	return r
}
func (c *contentDeleted) mergeWith(right content) bool {
	c.n += right.(*contentDeleted).n
	return true
}
func (c *contentDeleted) integrate(txn *Transaction, it *Item) {
	txn.addDelete(it.id().Client, it.startClock(), uint64(c.n))
	it.info |= flagDeleted
}
func (c *contentDeleted) delete(*Transaction)               {}
func (c *contentDeleted) gc(*structStore)                   {}
func (c *contentDeleted) write(e *lib0.Encoder, offset int) { e.WriteVarUint(uint64(c.n - offset)) }
func (c *contentDeleted) values() []any                     { return nil }

// contentJSON is Yjs's legacy JSON content: each element is kept as the
// JSON text it was encoded with ("undefined" for undefined), so that it
// re-encodes byte for byte.
type contentJSON struct{ raw []string }

func (c *contentJSON) ref() uint8      { return refJSON }
func (c *contentJSON) length() int     { return len(c.raw) }
func (c *contentJSON) countable() bool { return true }
func (c *contentJSON) splice(offset int) content {
	r := &contentJSON{raw: append([]string(nil), c.raw[offset:]...)}
	c.raw = c.raw[:offset:offset]
	return r
}
func (c *contentJSON) mergeWith(right content) bool {
	c.raw = append(c.raw, right.(*contentJSON).raw...)
	return true
}
func (c *contentJSON) integrate(*Transaction, *Item) {}
func (c *contentJSON) delete(*Transaction)           {}
func (c *contentJSON) gc(*structStore)               {}
func (c *contentJSON) write(e *lib0.Encoder, offset int) {
	e.WriteVarUint(uint64(len(c.raw) - offset))
	for _, s := range c.raw[offset:] {
		e.WriteVarString(s)
	}
}
func (c *contentJSON) values() []any {
	out := make([]any, len(c.raw))
	for i, s := range c.raw {
		if s == "undefined" {
			out[i] = lib0.Undefined{}
			continue
		}
		v, err := parseJSON(s)
		if err != nil {
			v = lib0.Undefined{}
		}
		out[i] = v
	}
	return out
}

// contentBinary is one Uint8Array value.
type contentBinary struct{ b []byte }

func (c *contentBinary) ref() uint8                        { return refBinary }
func (c *contentBinary) length() int                       { return 1 }
func (c *contentBinary) countable() bool                   { return true }
func (c *contentBinary) splice(int) content                { panic(errInternal) }
func (c *contentBinary) mergeWith(content) bool            { return false }
func (c *contentBinary) integrate(*Transaction, *Item)     {}
func (c *contentBinary) delete(*Transaction)               {}
func (c *contentBinary) gc(*structStore)                   {}
func (c *contentBinary) write(e *lib0.Encoder, offset int) { e.WriteVarBytes(c.b) }
func (c *contentBinary) values() []any                     { return []any{c.b} }

// contentEmbed is an embedded value in text (an image, a formula, ...),
// kept with the JSON text it was encoded with.
type contentEmbed struct {
	raw   string
	value any
}

func (c *contentEmbed) ref() uint8                        { return refEmbed }
func (c *contentEmbed) length() int                       { return 1 }
func (c *contentEmbed) countable() bool                   { return true }
func (c *contentEmbed) splice(int) content                { panic(errInternal) }
func (c *contentEmbed) mergeWith(content) bool            { return false }
func (c *contentEmbed) integrate(*Transaction, *Item)     {}
func (c *contentEmbed) delete(*Transaction)               {}
func (c *contentEmbed) gc(*structStore)                   {}
func (c *contentEmbed) write(e *lib0.Encoder, offset int) { e.WriteVarString(c.raw) }
func (c *contentEmbed) values() []any                     { return []any{c.value} }

// contentFormat marks the start (or, with a null value, the end) of a text
// attribute.
type contentFormat struct {
	key   string
	raw   string // JSON text of value
	value any
}

func (c *contentFormat) ref() uint8             { return refFormat }
func (c *contentFormat) length() int            { return 1 }
func (c *contentFormat) countable() bool        { return false }
func (c *contentFormat) splice(int) content     { panic(errInternal) }
func (c *contentFormat) mergeWith(content) bool { return false }
func (c *contentFormat) integrate(txn *Transaction, it *Item) {
	p := txn.doc.store.parentOf(it)
	p.markers.clear()
	p.hasFormatting = true
}
func (c *contentFormat) delete(*Transaction) {}
func (c *contentFormat) gc(*structStore)     {}
func (c *contentFormat) write(e *lib0.Encoder, offset int) {
	e.WriteVarString(c.key)
	e.WriteVarString(c.raw)
}
func (c *contentFormat) values() []any { return nil }

// contentString is a run of text, n units long in UTF-16. Items do not
// keep it: an item holds its text itself (Item.text), and this value only
// carries text into an item or out of it (Item.content).
type contentString struct {
	s string
	n int
}

func newContentString(s string) *contentString {
	return &contentString{s: s, n: lib0.UTF16Len(s)}
}

func (c *contentString) ref() uint8      { return refString }
func (c *contentString) length() int     { return c.n }
func (c *contentString) countable() bool { return true }

// splitString splits s (n UTF-16 units long) at a UTF-16 offset. When the
// offset falls inside a surrogate pair, both halves become U+FFFD, as Yjs
// does to avoid encoding lone surrogates.
func splitString(s string, n, offset int) (left, right string) {
	if len(s) == n { // ASCII: bytes are units
		return s[:offset], s[offset:]
	}
	b, mid := lib0.UTF16Offset(s, offset)
	if mid {
		return s[:b] + "\uFFFD", "\uFFFD" + s[b+4:]
	}
	return s[:b], s[b:]
}

func (c *contentString) splice(offset int) content {
	l, r := splitString(c.s, c.n, offset)
	right := &contentString{s: r, n: c.n - offset}
	c.s, c.n = l, offset
	return right
}
func (c *contentString) mergeWith(right content) bool {
	r := right.(*contentString)
	c.s += r.s
	c.n += r.n
	return true
}
func (c *contentString) integrate(*Transaction, *Item) {}
func (c *contentString) delete(*Transaction)           {}
func (c *contentString) gc(*structStore)               {}
func (c *contentString) write(e *lib0.Encoder, offset int) {
	if offset == 0 {
		e.WriteVarString(c.s)
		return
	}
	_, r := splitString(c.s, c.n, offset)
	e.WriteVarString(r)
}
func (c *contentString) values() []any {
	out := make([]any, 0, c.n)
	for _, r := range c.s {
		if r >= 0x10000 {
			out = append(out, "\uFFFD", "\uFFFD")
			continue
		}
		out = append(out, string(r))
	}
	return out
}

// contentAny is a run of lib0 Any values (array elements, map values).
type contentAny struct{ vals []any }

func (c *contentAny) ref() uint8      { return refAny }
func (c *contentAny) length() int     { return len(c.vals) }
func (c *contentAny) countable() bool { return true }
func (c *contentAny) splice(offset int) content {
	r := &contentAny{vals: append([]any(nil), c.vals[offset:]...)}
	c.vals = c.vals[:offset:offset]
	return r
}
func (c *contentAny) mergeWith(right content) bool {
	c.vals = append(c.vals, right.(*contentAny).vals...)
	return true
}
func (c *contentAny) integrate(*Transaction, *Item) {}
func (c *contentAny) delete(*Transaction)           {}
func (c *contentAny) gc(*structStore)               {}
func (c *contentAny) write(e *lib0.Encoder, offset int) {
	e.WriteVarUint(uint64(len(c.vals) - offset))
	for _, v := range c.vals[offset:] {
		// Values were validated when they entered the document.
		_ = e.WriteAny(v)
	}
}
func (c *contentAny) values() []any { return c.vals }

// contentType holds a nested shared type.
type contentType struct{ b *branch }

func (c *contentType) ref() uint8             { return refType }
func (c *contentType) length() int            { return 1 }
func (c *contentType) countable() bool        { return true }
func (c *contentType) splice(int) content     { panic(errInternal) }
func (c *contentType) mergeWith(content) bool { return false }
func (c *contentType) integrate(txn *Transaction, it *Item) {
	c.b.doc = txn.doc
	c.b.item = it
}

// delete removes everything the type holds, so that it can be collected.
func (c *contentType) delete(txn *Transaction) {
	for it := c.b.start; it != nil; it = it.right {
		if !it.deleted() {
			it.delete(txn)
		} else if it.startClock() < txn.beforeClock(it.id().Client) {
			// Deleted in an earlier transaction: it can now merge with
			// neighbours that this transaction deletes.
			txn.mergeStructs = append(txn.mergeStructs, it)
		}
	}
	for _, it := range c.b.mapItems {
		if !it.deleted() {
			it.delete(txn)
		} else if it.startClock() < txn.beforeClock(it.id().Client) {
			txn.mergeStructs = append(txn.mergeStructs, it)
		}
	}
	txn.removeChanged(c.b)
}

func (c *contentType) gc(s *structStore) {
	for it := c.b.start; it != nil; {
		next := it.right
		it.gc(s, true)
		it = next
	}
	c.b.start = nil
	for _, it := range c.b.mapItems {
		for it != nil {
			left := it.left
			it.gc(s, true)
			it = left
		}
	}
	c.b.mapItems = nil
}
func (c *contentType) write(e *lib0.Encoder, offset int) {
	e.WriteVarUint(uint64(c.b.kind))
	switch c.b.kind {
	case KindXmlElement, KindXmlHook:
		e.WriteVarString(c.b.name)
	}
}
func (c *contentType) values() []any { return []any{c.b.public()} }

// SubDoc describes a sub-document embedded in a document. Quire does not
// load sub-documents; it keeps their identity and options so that they
// round-trip unchanged.
type SubDoc struct {
	GUID string
	// Opts are the options as Yjs encodes them (gc, autoLoad, meta).
	Opts lib0.Object
}

// contentDoc holds a sub-document reference.
type contentDoc struct{ doc *SubDoc }

func (c *contentDoc) ref() uint8                    { return refDoc }
func (c *contentDoc) length() int                   { return 1 }
func (c *contentDoc) countable() bool               { return true }
func (c *contentDoc) splice(int) content            { panic(errInternal) }
func (c *contentDoc) mergeWith(content) bool        { return false }
func (c *contentDoc) integrate(*Transaction, *Item) {}
func (c *contentDoc) delete(*Transaction)           {}
func (c *contentDoc) gc(*structStore)               {}
func (c *contentDoc) write(e *lib0.Encoder, offset int) {
	e.WriteVarString(c.doc.GUID)
	_ = e.WriteAny(c.doc.Opts)
}
func (c *contentDoc) values() []any { return []any{c.doc} }

// normalizeSubDocOpts rebuilds sub-document options the way Yjs does when
// it instantiates the sub-document: only gc:false, autoLoad:true and meta
// survive, in that order.
func normalizeSubDocOpts(in any) lib0.Object {
	obj, _ := in.(lib0.Object)
	out := lib0.Object{}
	if v, ok := obj.Get("gc"); ok && !jsTruthy(v) {
		if _, undef := v.(lib0.Undefined); !undef {
			out = append(out, lib0.Field{Key: "gc", Value: false})
		}
	}
	if v, ok := obj.Get("autoLoad"); ok && jsTruthy(v) {
		out = append(out, lib0.Field{Key: "autoLoad", Value: true})
	}
	if v, ok := obj.Get("meta"); ok {
		switch v.(type) {
		case nil, lib0.Undefined:
		default:
			out = append(out, lib0.Field{Key: "meta", Value: v})
		}
	}
	return out
}

// jsTruthy reports whether a decoded Any value is truthy in JavaScript.
func jsTruthy(v any) bool {
	switch x := v.(type) {
	case nil, lib0.Undefined:
		return false
	case bool:
		return x
	case float64:
		return x != 0 && x == x
	case string:
		return x != ""
	case lib0.BigInt:
		return x != 0
	}
	return true
}
