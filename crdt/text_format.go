package crdt

import (
	"fmt"
	"reflect"
	"sort"
	"unicode/utf8"

	"github.com/quirehq/quire/crdt/lib0"
)

// Rich text in Yjs is a flat sequence: formatting is not stored on the
// characters but as format items (contentFormat) in between them. A format
// item "bold=true" switches the attribute on for everything to its right
// until a later format item for the same key ("bold=null") switches it off.
// Editing therefore means walking the sequence while tracking which
// attributes are in force, and inserting or removing format items so that
// the result reads as intended. The functions here follow Yjs's YText.js
// step by step: which items get created, in which order and between which
// neighbours decides the bytes of the update, so nothing may be "simplified"
// even where Yjs's choices look redundant.

// ---------------------------------------------------------------------------
// Attribute values with JavaScript semantics

// attrMap is an insertion-ordered map with the semantics of a JavaScript
// Map: setting an existing key keeps its position, deleting removes it.
// Yjs keeps the attributes in force at a position in such a Map, and the
// order in which it iterates them decides the order of created items.
type attrMap struct{ fs []lib0.Field }

func (m *attrMap) get(key string) (any, bool) {
	for i := range m.fs {
		if m.fs[i].Key == key {
			return m.fs[i].Value, true
		}
	}
	return nil, false
}

func (m *attrMap) set(key string, v any) {
	for i := range m.fs {
		if m.fs[i].Key == key {
			m.fs[i].Value = v
			return
		}
	}
	m.fs = append(m.fs, lib0.Field{Key: key, Value: v})
}

func (m *attrMap) del(key string) {
	for i := range m.fs {
		if m.fs[i].Key == key {
			m.fs = append(m.fs[:i], m.fs[i+1:]...)
			return
		}
	}
}

func (m *attrMap) len() int { return len(m.fs) }

func (m *attrMap) clone() attrMap {
	if len(m.fs) == 0 {
		return attrMap{}
	}
	return attrMap{fs: append([]lib0.Field(nil), m.fs...)}
}

// apply records that a (visible) format item was passed: a null value ends
// the attribute, anything else starts or changes it.
func (m *attrMap) apply(c *contentFormat) {
	if v := c.val(); v == nil {
		m.del(c.key)
	} else {
		m.set(c.key, v)
	}
}

// attrList is attributes given by the caller, held the way a JavaScript
// object holds its properties: unique keys, enumerated with array-index
// keys ("0", "12") first in numeric order and all other keys in insertion
// order. Yjs creates format items while enumerating such an object, so
// this order is visible in the produced updates.
type attrList []lib0.Field

func (l attrList) get(key string) (any, bool) {
	for i := range l {
		if l[i].Key == key {
			return l[i].Value, true
		}
	}
	return nil, false
}

// set assigns key, adding it at the position JavaScript would enumerate a
// newly added property at.
func (l *attrList) set(key string, v any) {
	for i := range *l {
		if (*l)[i].Key == key {
			(*l)[i].Value = v
			return
		}
	}
	at := len(*l)
	if n, isIndex := jsArrayIndex(key); isIndex {
		at = 0
		for at < len(*l) {
			m, ok := jsArrayIndex((*l)[at].Key)
			if !ok || m > n {
				break
			}
			at++
		}
	}
	*l = append(*l, lib0.Field{})
	copy((*l)[at+1:], (*l)[at:])
	(*l)[at] = lib0.Field{Key: key, Value: v}
}

// jsArrayIndex reports whether key is a canonical array index, which
// JavaScript enumerates before all other property names.
func jsArrayIndex(key string) (uint32, bool) {
	if key == "" || len(key) > 10 || (key[0] == '0' && len(key) > 1) {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if n >= 1<<32-1 {
		return 0, false
	}
	return uint32(n), true
}

// jsObjectOrder returns fields as a JavaScript object made from them would
// enumerate: duplicate keys collapse (first position, last value) and array
// indexes come first.
func jsObjectOrder(fields []lib0.Field) attrList {
	var l attrList
	for _, f := range fields {
		l.set(f.Key, f.Value)
	}
	return l
}

// prepareAttrs validates caller attributes and converts them into the form
// the algorithms work on. It fails before anything is changed when a value
// has no JSON representation (Yjs stores format values as JSON).
func prepareAttrs(a Attrs) (attrList, error) {
	l := make(attrList, 0, len(a))
	for _, f := range a {
		key := f.Key
		if !utf8.ValidString(key) {
			key = lib0.ToValidUTF8([]byte(key))
		}
		v, err := canonicalAttrValue(f.Value)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", key, err)
		}
		l.set(key, v)
	}
	return l, nil
}

// canonicalAttrValue turns a caller's attribute value into what the
// algorithms compare. Numbers become float64 (JavaScript has one number
// type). Objects and arrays are kept as they are, because JavaScript
// compares them by identity in places: passing the same lib0.Object twice
// behaves like passing the same JavaScript object twice.
func canonicalAttrValue(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, string, float64:
		return v, nil
	case lib0.Undefined:
		return nil, fmt.Errorf("%w: undefined attribute value", ErrUnsupportedValue)
	case lib0.BigInt:
		return nil, fmt.Errorf("%w: BigInt attribute value", ErrUnsupportedValue)
	case lib0.Object:
		if cap(x) == 0 {
			x = make(lib0.Object, 0, 1) // give the empty object an identity
		}
		v = x
	case []any:
		if cap(x) == 0 {
			x = make([]any, 0, 1)
		}
		v = x
	case map[string]any:
		if x == nil {
			v = map[string]any{}
		}
	case []byte:
		if cap(x) == 0 {
			v = make([]byte, 0, 1)
		}
	default:
		if f, ok := jsNumber(v); ok {
			return f, nil
		}
		n := normalizeAny(v)
		if reflect.TypeOf(n) == reflect.TypeOf(v) {
			return nil, fmt.Errorf("%w: %T", ErrUnsupportedValue, v)
		}
		v = n
	}
	if _, err := stringifyJSON(v); err != nil {
		return nil, err
	}
	return v, nil
}

// val returns the value of a format item. Decoded empty objects and arrays
// share Go's zero-size allocation, which would make them look identical
// to each other; each gets storage of its own on first use, so that
// identity comparisons behave as between distinct JavaScript objects.
func (c *contentFormat) val() any {
	switch x := c.value.(type) {
	case lib0.Object:
		if cap(x) == 0 {
			c.value = make(lib0.Object, 0, 1)
		}
	case []any:
		if cap(x) == 0 {
			c.value = make([]any, 0, 1)
		}
	}
	return c.value
}

// newFormat creates format content for key and v (v already validated).
func newFormat(key string, v any) *contentFormat {
	raw, err := stringifyJSON(v)
	if err != nil {
		raw = "null"
	}
	return &contentFormat{key: key, raw: raw, value: v}
}

// jsNumber reports whether v is a number and returns it as JavaScript
// would hold it.
func jsNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	}
	return 0, false
}

// jsStrictEqual is JavaScript's ===: primitives compare by value (NaN is
// unequal to itself), objects and arrays by identity.
func jsStrictEqual(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case lib0.Undefined:
		_, ok := b.(lib0.Undefined)
		return ok
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case lib0.BigInt:
		y, ok := b.(lib0.BigInt)
		return ok && x == y
	}
	if fa, ok := jsNumber(a); ok {
		fb, ok := jsNumber(b)
		return ok && fa == fb
	}
	if b == nil || !isJSObject(b) {
		return false
	}
	return sameObject(a, b)
}

// sameObject reports whether two reference values are the same JavaScript
// object: the same backing array (slices) or the same map or pointer.
// Values without storage of their own (zero-capacity slices, nil maps,
// structs) are never identical to anything.
func sameObject(a, b any) bool {
	ra, rb := reflect.ValueOf(a), reflect.ValueOf(b)
	if ra.Type() != rb.Type() {
		return false
	}
	switch ra.Kind() {
	case reflect.Slice:
		return ra.Cap() > 0 && rb.Cap() > 0 && ra.Len() == rb.Len() && ra.UnsafePointer() == rb.UnsafePointer()
	case reflect.Map, reflect.Pointer:
		return !ra.IsNil() && ra.UnsafePointer() == rb.UnsafePointer()
	}
	return false
}

// isJSObject reports whether v is a non-null JavaScript object (typeof
// "object"): objects, arrays, byte arrays, and shared type handles.
func isJSObject(v any) bool {
	switch v.(type) {
	case nil, lib0.Undefined, bool, string, lib0.BigInt:
		return false
	}
	if _, ok := jsNumber(v); ok {
		return false
	}
	switch reflect.ValueOf(v).Kind() {
	case reflect.Slice, reflect.Map, reflect.Struct, reflect.Pointer, reflect.Array:
		return true
	}
	return false
}

// equalAttrs is Yjs's comparison of attribute values: identical, or both
// objects with the same keys whose values are identical (a flat compare:
// nested objects must be the very same objects).
func equalAttrs(a, b any) bool {
	if jsStrictEqual(a, b) {
		return true
	}
	if !isJSObject(a) || !isJSObject(b) {
		return false
	}
	ea, eb := jsEntries(a), jsEntries(b)
	if len(ea) != len(eb) {
		return false
	}
	for _, f := range ea {
		bv, has := lookupEntry(eb, f.Key)
		if _, undef := f.Value.(lib0.Undefined); undef && !has {
			return false
		}
		if !has {
			bv = lib0.Undefined{}
		}
		if !jsStrictEqual(bv, f.Value) {
			return false
		}
	}
	return true
}

func lookupEntry(fs []lib0.Field, key string) (any, bool) {
	for i := range fs {
		if fs[i].Key == key {
			return fs[i].Value, true
		}
	}
	return nil, false
}

// jsEntries returns the enumerable own properties of an object value as
// JavaScript's for...in would list them: array elements under their index,
// object keys in property order. Shared type handles and other opaque
// values have none (their fields are not visible to for...in in a way that
// matters here).
func jsEntries(v any) []lib0.Field {
	switch x := v.(type) {
	case lib0.Object:
		return jsObjectOrder(x)
	case []any:
		out := make([]lib0.Field, len(x))
		for i, el := range x {
			out[i] = lib0.Field{Key: itoa(i), Value: el}
		}
		return out
	case []byte:
		out := make([]lib0.Field, len(x))
		for i, el := range x {
			out[i] = lib0.Field{Key: itoa(i), Value: float64(el)}
		}
		return out
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fs := make([]lib0.Field, 0, len(keys))
		for _, k := range keys {
			fs = append(fs, lib0.Field{Key: k, Value: x[k]})
		}
		return jsObjectOrder(fs)
	case string:
		// for...in over a string primitive lists its UTF-16 units.
		var out []lib0.Field
		i := 0
		for _, r := range x {
			if r >= 0x10000 {
				out = append(out, lib0.Field{Key: itoa(i), Value: "\uFFFD"}, lib0.Field{Key: itoa(i + 1), Value: "\uFFFD"})
				i += 2
				continue
			}
			out = append(out, lib0.Field{Key: itoa(i), Value: string(r)})
			i++
		}
		return out
	}
	switch reflect.ValueOf(v).Kind() {
	case reflect.Slice, reflect.Array, reflect.Map:
		return jsEntries(normalizeAny(v))
	}
	return nil
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return fmt.Sprint(i)
}

// ---------------------------------------------------------------------------
// Positions

// textPos is a position between two items of a text (left and right, either
// may be nil), with the visible index it corresponds to and the attributes
// in force there.
type textPos struct {
	left, right *Item
	index       int
	attrs       attrMap
}

// forward moves the position over its right neighbour.
func (p *textPos) forward() {
	r := p.right
	if !r.deleted() {
		if cf, ok := r.format(); ok {
			p.attrs.apply(cf)
		} else {
			p.index += r.length()
		}
	}
	p.left, p.right = r, r.right
}

// insert creates an item with content c between left and right (claiming
// them as its origins), integrates it and returns it. The position itself
// is not moved.
func (p *textPos) insert(txn *Transaction, b *branch, c content) *Item {
	return p.insertInto(txn, b, c, nil)
}

// insertInto is insert with the item's memory given (when not nil).
func (p *textPos) insertInto(txn *Transaction, b *branch, c content, it *Item) *Item {
	var o, ro optID
	if p.left != nil {
		o = someID(p.left.lastID())
	}
	if p.right != nil {
		ro = someID(p.right.id())
	}
	if it == nil {
		it = new(Item)
	}
	initItem(it, b.nextID(), p.left, o, p.right, ro, nil, c)
	it.integrate(txn, 0, b)
	return it
}

// insertForward inserts c at the position and steps over it.
func (p *textPos) insertForward(txn *Transaction, b *branch, c content) {
	p.right = p.insert(txn, b, c)
	p.forward()
}

// findNextPosition advances p by count visible units, splitting the item
// the target falls into so that the position lies between items.
func findNextPosition(txn *Transaction, p *textPos, count int) {
	s := txn.doc.store
	for p.right != nil && count > 0 {
		r := p.right
		if !r.deleted() {
			if cf, ok := r.format(); ok {
				p.attrs.apply(cf)
			} else {
				if count < r.length() {
					s.itemCleanStart(txn, ID{Client: r.id().Client, Clock: r.startClock() + uint64(count)})
				}
				p.index += r.length()
				count -= r.length()
			}
		}
		p.left, p.right = r, r.right
	}
}

// findPosition returns the position index units into b. The position
// cache may only serve as a starting point when the text has never held
// formatting (otherwise the attributes in force would be unknown), and only
// where Yjs uses its search markers, which it does not for operations that
// need the attributes.
func findPosition(txn *Transaction, b *branch, index int, useCache bool) textPos {
	if useCache && !b.hasFormatting && index > 0 && b.start != nil {
		it, at := b.markers.find(b, index)
		p := textPos{left: it.left, right: it, index: at}
		findNextPosition(txn, &p, index-at)
		return p
	}
	p := textPos{right: b.start}
	findNextPosition(txn, &p, index)
	return p
}

// ---------------------------------------------------------------------------
// Editing

// minimizeAttributeChanges moves p right over deleted items and over format
// items that already set what attrs asks for, so that no format item is
// created just to repeat one that follows.
func minimizeAttributeChanges(p *textPos, attrs attrList) {
	for p.right != nil {
		r := p.right
		if !r.deleted() {
			cf, ok := r.format()
			if !ok {
				return
			}
			want, _ := attrs.get(cf.key) // a missing key asks for null
			if !equalAttrs(want, cf.val()) {
				return
			}
		}
		p.forward()
	}
}

// insertAttributes inserts a format item at p for every attribute of attrs
// that differs from what is in force, and returns the previous values,
// which must be restored after the inserted content.
func insertAttributes(txn *Transaction, b *branch, p *textPos, attrs attrList) attrMap {
	var negated attrMap
	for _, f := range attrs {
		cur, _ := p.attrs.get(f.Key)
		if !equalAttrs(cur, f.Value) {
			negated.set(f.Key, cur)
			p.insertForward(txn, b, newFormat(f.Key, f.Value))
		}
	}
	return negated
}

// insertNegatedAttributes restores attributes after inserted or formatted
// content. Format items already at p that restore a value make the
// corresponding new item unnecessary.
func insertNegatedAttributes(txn *Transaction, b *branch, p *textPos, negated attrMap) {
	for p.right != nil {
		r := p.right
		if !r.deleted() {
			cf, ok := r.format()
			if !ok {
				break
			}
			want, has := negated.get(cf.key)
			if !has || !equalAttrs(want, cf.val()) {
				break
			}
			negated.del(cf.key)
		}
		p.forward()
	}
	for _, f := range negated.fs {
		p.insertForward(txn, b, newFormat(f.Key, f.Value))
	}
}

// insertText inserts content c at p so that it carries exactly attrs:
// attributes in force at p that attrs does not mention are switched off
// for it.
func insertText(txn *Transaction, b *branch, p *textPos, c content, attrs attrList) {
	insertTextItem(txn, b, p, c, attrs, nil)
}

// insertTextItem is insertText with the new item's memory given (when not
// nil).
func insertTextItem(txn *Transaction, b *branch, p *textPos, c content, attrs attrList, it *Item) {
	for _, f := range p.attrs.fs {
		if _, ok := attrs.get(f.Key); !ok {
			attrs.set(f.Key, nil)
		}
	}
	minimizeAttributeChanges(p, attrs)
	negated := insertAttributes(txn, b, p, attrs)
	b.markers.update(p.index, c.length())
	p.right = p.insertInto(txn, b, c, it)
	p.forward()
	if negated.len() > 0 {
		// (With nothing to restore, Yjs only moves the position on.)
		insertNegatedAttributes(txn, b, p, negated)
	}
}

// formatText applies attrs to length units from p. Format items inside the
// range for keys in attrs are deleted (their values are remembered, to be
// restored after the range). Formatting past the end of the text appends
// newlines, as Yjs does for Quill, which assumes a text ends with one.
func formatText(txn *Transaction, b *branch, p *textPos, length int, attrs attrList) {
	s := txn.doc.store
	minimizeAttributeChanges(p, attrs)
	negated := insertAttributes(txn, b, p, attrs)
loop:
	for p.right != nil {
		r := p.right
		if length <= 0 {
			// Past the range, keep going only over format items (and
			// deletions) that may make restoring attributes unnecessary.
			if negated.len() == 0 {
				break
			}
			if _, isFormat := r.format(); !isFormat && !r.deleted() {
				break
			}
		}
		if !r.deleted() {
			if cf, ok := r.format(); ok {
				v := cf.val()
				if want, has := attrs.get(cf.key); has {
					if equalAttrs(want, v) {
						negated.del(cf.key)
					} else {
						if length == 0 {
							break loop
						}
						negated.set(cf.key, v)
					}
					r.delete(txn)
				} else {
					p.attrs.set(cf.key, v)
				}
			} else {
				if length < r.length() {
					s.itemCleanStart(txn, ID{Client: r.id().Client, Clock: r.startClock() + uint64(length)})
				}
				length -= r.length()
			}
		}
		p.forward()
	}
	if length > 0 {
		nl := make([]byte, length)
		for i := range nl {
			nl[i] = '\n'
		}
		b.markers.update(p.index, length)
		p.insertForward(txn, b, &contentString{s: string(nl), n: length})
	}
	insertNegatedAttributes(txn, b, p, negated)
}

// deleteText deletes length units of content from p, then removes format
// items that the deletion made redundant.
func deleteText(txn *Transaction, b *branch, p *textPos, length int) {
	s := txn.doc.store
	startLength := length
	var startAttrs attrMap
	if b.hasFormatting {
		startAttrs = p.attrs.clone()
	}
	start := p.right
	for length > 0 && p.right != nil {
		r := p.right
		if !r.deleted() {
			switch r.ckind {
			case refType, refEmbed, refString:
				if length < r.length() {
					s.itemCleanStart(txn, ID{Client: r.id().Client, Clock: r.startClock() + uint64(length)})
				}
				length -= r.length()
				r.delete(txn)
			}
		}
		p.forward()
	}
	// Without formatting there are no format items to clean up.
	if start != nil && b.hasFormatting {
		cleanupFormattingGap(txn, start, p.right, &startAttrs, &p.attrs)
	}
	b.markers.update(p.index, -(startLength - length))
}
