package crdt

import (
	"fmt"

	"github.com/quirehq/quire/crdt/lib0"
)

// Kind is the kind of a shared type, numbered as Yjs numbers them on the
// wire.
type Kind uint8

// Shared type kinds.
const (
	KindArray       Kind = 0
	KindMap         Kind = 1
	KindText        Kind = 2
	KindXmlElement  Kind = 3
	KindXmlFragment Kind = 4
	KindXmlHook     Kind = 5
	KindXmlText     Kind = 6
	// kindUnset marks a root that content refers to but nobody has asked
	// for by kind yet.
	kindUnset Kind = 255
)

func (k Kind) String() string {
	switch k {
	case KindArray:
		return "array"
	case KindMap:
		return "map"
	case KindText:
		return "text"
	case KindXmlElement:
		return "xmlelement"
	case KindXmlFragment:
		return "xmlfragment"
	case KindXmlHook:
		return "xmlhook"
	case KindXmlText:
		return "xmltext"
	}
	return "unknown"
}

// branch is the state every shared type has: a sequence of items (start,
// linked by left/right), a map of keyed items (each the newest of a chain),
// and, for nested types, the item that holds it.
type branch struct {
	doc      *Doc
	item     *Item // nil for root types
	start    *Item
	mapItems map[string]*Item
	length   int // visible length of the sequence
	kind     Kind
	// name is the root name for roots, the node name of an XmlElement and
	// the hook name of an XmlHook.
	name          string
	markers       markerCache
	hasFormatting bool
}

// public returns the typed handle for b.
func (b *branch) public() any {
	switch b.kind {
	case KindArray:
		return &Array{b}
	case KindMap:
		return &Map{b}
	case KindText:
		return &Text{b}
	case KindXmlElement:
		return &XmlElement{b}
	case KindXmlFragment:
		return &XmlFragment{b}
	case KindXmlHook:
		return &XmlHook{b}
	case KindXmlText:
		return &XmlText{b}
	}
	return &Array{b}
}

// checkAlive refuses edits on a type that was deleted or never integrated.
func (b *branch) checkAlive() error {
	if b.doc == nil || (b.item != nil && b.item.deleted()) {
		return ErrDeletedType
	}
	return nil
}

// nextID is the ID the next local insert receives.
func (b *branch) nextID() ID {
	d := b.doc
	return ID{Client: d.clientID, Clock: d.store.state(d.clientID)}
}

// NewType describes a nested shared type to insert: pass it as a value to
// Array.Insert, Map.Set and the XML inserts, then reach the created type
// through the returned handle or by reading the parent.
type NewType struct {
	Kind Kind
	// Name is the node name of an XmlElement or the hook name of an
	// XmlHook.
	Name string
}

// insertAfter inserts values after ref (nil: at the start), grouping runs of
// plain values into one item as Yjs does. It returns the created nested
// types, in order.
func (b *branch) insertAfter(txn *Transaction, ref *Item, values []any) ([]*branch, error) {
	left := ref
	var right *Item
	if ref == nil {
		right = b.start
	} else {
		right = ref.right
	}
	var created []*branch
	var run []any
	place := func(c content) {
		var o, ro optID
		if left != nil {
			o = someID(left.lastID())
		}
		if right != nil {
			ro = someID(right.id())
		}
		it := newItem(b.nextID(), left, o, right, ro, nil, c)
		it.integrate(txn, 0, b)
		left = it
	}
	flush := func() {
		if len(run) > 0 {
			place(&contentAny{vals: run})
			run = nil
		}
	}
	for _, v := range values {
		c, plain, err := contentForValue(v, false)
		if err != nil {
			return created, err
		}
		if c == nil {
			run = append(run, plain)
			continue
		}
		flush()
		place(c)
		if ct, ok := c.(*contentType); ok {
			created = append(created, ct.b)
		}
	}
	flush()
	return created, nil
}

// contentForValue returns the content a non-plain value needs (binary,
// nested type, sub-document), or, for a value that belongs in an Any run,
// no content and the value as a remote replica would decode it. inMap
// allows values that only maps accept (bigint, undefined).
func contentForValue(v any, inMap bool) (c content, plain any, err error) {
	switch x := v.(type) {
	case []byte:
		return &contentBinary{b: append([]byte(nil), x...)}, nil, nil
	case NewType:
		if x.Kind > KindXmlText {
			return nil, nil, fmt.Errorf("%w: kind %d", ErrUnsupportedValue, x.Kind)
		}
		return &contentType{b: &branch{kind: x.Kind, name: x.Name}}, nil, nil
	case *SubDoc:
		return &contentDoc{doc: &SubDoc{GUID: x.GUID, Opts: normalizeSubDocOpts(x.Opts)}}, nil, nil
	case lib0.BigInt, lib0.Undefined:
		if !inMap {
			return nil, nil, fmt.Errorf("%w: %T in a list", ErrUnsupportedValue, v)
		}
	}
	// Everything else must encode as Any; one round trip both validates it
	// and gives the decoded form.
	e := lib0.NewEncoder(16)
	if err := e.WriteAny(v); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrUnsupportedValue, err)
	}
	plain, err = lib0.NewDecoder(e.Bytes()).ReadAny()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrUnsupportedValue, err)
	}
	return nil, plain, nil
}

// normalizeAny converts Go values into the representation decoding
// produces (float64 numbers, lib0.Object), so that reading back a local
// value gives what a remote replica would read.
func normalizeAny(v any) any {
	e := lib0.NewEncoder(16)
	if err := e.WriteAny(v); err != nil {
		return v
	}
	out, err := lib0.NewDecoder(e.Bytes()).ReadAny()
	if err != nil {
		return v
	}
	return out
}

// seek returns the item in which visible index lies and the offset
// into it, splitting nothing. For index == length it returns the last item
// and its length.
func (b *branch) seek(index int) (n *Item, rel int) {
	n, pindex := b.markers.find(b, index)
	return n, index - pindex
}

// insert inserts values at a visible index.
func (b *branch) insert(txn *Transaction, index int, values []any) ([]*branch, error) {
	if index < 0 || index > b.length {
		return nil, ErrIndexOutOfRange
	}
	if index == 0 {
		b.markers.update(index, len(values))
		return b.insertAfter(txn, nil, values)
	}
	n, rel := b.seek(index)
	if rel == 0 {
		// Step back to the visible item that ends at index.
		n = n.prev()
		if n != nil && n.visible() {
			rel = n.length()
		}
	}
	for ; n != nil; n = n.right {
		if n.visible() {
			if rel <= n.length() {
				if rel < n.length() {
					b.doc.store.itemCleanStart(txn, ID{Client: n.id().Client, Clock: n.startClock() + uint64(rel)})
				}
				break
			}
			rel -= n.length()
		}
	}
	b.markers.update(index, len(values))
	return b.insertAfter(txn, n, values)
}

// deleteRange deletes length visible units from index.
func (b *branch) deleteRange(txn *Transaction, index, length int) error {
	if length == 0 {
		return nil
	}
	if index < 0 || length < 0 || index+length > b.length {
		return ErrIndexOutOfRange
	}
	s := b.doc.store
	n, rel := b.seek(index)
	for ; n != nil && rel > 0; n = n.right {
		if n.visible() {
			if rel < n.length() {
				s.itemCleanStart(txn, ID{Client: n.id().Client, Clock: n.startClock() + uint64(rel)})
			}
			rel -= n.length()
		}
	}
	remaining := length
	for remaining > 0 && n != nil {
		if !n.deleted() {
			if remaining < n.length() {
				s.itemCleanStart(txn, ID{Client: n.id().Client, Clock: n.startClock() + uint64(remaining)})
			}
			n.delete(txn)
			if n.countable() {
				remaining -= n.length()
			}
		}
		n = n.right
	}
	b.markers.update(index, -length)
	return nil
}

// listValues returns every visible value of the sequence.
func (b *branch) listValues() []any {
	out := make([]any, 0, b.length)
	for n := b.start; n != nil; n = n.right {
		if n.visible() {
			out = append(out, n.content().values()...)
		}
	}
	return out
}

// listGet returns the value at a visible index.
func (b *branch) listGet(index int) (any, bool) {
	if index < 0 || index >= b.length {
		return nil, false
	}
	n, rel := b.seek(index)
	for ; n != nil; n = n.right {
		if n.visible() {
			if rel < n.length() {
				return n.content().values()[rel], true
			}
			rel -= n.length()
		}
	}
	return nil, false
}

// mapSet writes key, overwriting its current value.
func (b *branch) mapSet(txn *Transaction, key string, v any) (*branch, error) {
	c, plain, err := contentForValue(v, true)
	if err != nil {
		return nil, err
	}
	if c == nil {
		c = &contentAny{vals: []any{plain}}
	}
	left := b.mapItems[key]
	var o optID
	if left != nil {
		o = someID(left.lastID())
	}
	it := newItem(b.nextID(), left, o, nil, optID{}, &key, c)
	it.integrate(txn, 0, b)
	if ct, ok := c.(*contentType); ok {
		return ct.b, nil
	}
	return nil, nil
}

// mapGet returns the current value of key.
func (b *branch) mapGet(key string) (any, bool) {
	it := b.mapItems[key]
	if it == nil || it.deleted() {
		return nil, false
	}
	vals := it.content().values()
	return vals[len(vals)-1], true
}

// mapDelete removes key.
func (b *branch) mapDelete(txn *Transaction, key string) {
	if it := b.mapItems[key]; it != nil {
		it.delete(txn)
	}
}

// mapKeys returns the keys with a current value.
func (b *branch) mapKeys() []string {
	keys := make([]string, 0, len(b.mapItems))
	for k, it := range b.mapItems {
		if !it.deleted() {
			keys = append(keys, k)
		}
	}
	return keys
}
