package crdt

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/quirehq/quire/crdt/lib0"
)

// Attrs are text formatting attributes in application order. A nil value
// removes an attribute. Values must be representable as JSON.
//
// Where an edit takes optional attributes, a nil Attrs means "none given"
// (for Text.Insert: inherit the formatting at the position), while a
// non-nil empty Attrs (Attrs{}) means "exactly no attributes".
type Attrs = lib0.Object

// DeltaOp is one run of a text's content with the attributes in force on
// it. Insert is a string, an embedded value, or the handle of a nested
// shared type; Attributes is nil when no attribute applies.
type DeltaOp struct {
	Insert     any
	Attributes Attrs
}

// Text is shared rich text (Y.Text). Indexes and lengths count UTF-16 code
// units, as in JavaScript and Yjs; embeds and nested types count as one.
type Text struct{ b *branch }

// Text returns the root text named name.
func (d *Doc) Text(name string) (*Text, error) {
	b, err := d.rootOfKind(name, KindText)
	if err != nil {
		return nil, err
	}
	return &Text{b}, nil
}

// Len returns the length in UTF-16 code units.
func (t *Text) Len() int { return t.b.length }

// Insert inserts s at index. With attrs nil the text takes the formatting
// in force at the position; otherwise it gets exactly attrs (attributes in
// force that attrs does not name are switched off for it).
func (t *Text) Insert(txn *Transaction, index int, s string, attrs Attrs) error {
	return textInsert(txn, t.b, index, s, attrs)
}

// InsertEmbed inserts an embed at index: a NewType creates a nested shared
// type (its handle is returned), a string is inserted as text, and any other
// value is stored as JSON (an image, a mention, ...). Unlike Insert, an
// embed without attributes does not inherit the formatting around it.
func (t *Text) InsertEmbed(txn *Transaction, index int, embed any, attrs Attrs) (any, error) {
	return textInsertEmbed(txn, t.b, index, embed, attrs)
}

// Delete removes length units from index, together with formatting that
// becomes redundant.
func (t *Text) Delete(txn *Transaction, index, length int) error {
	return textDelete(txn, t.b, index, length)
}

// Format applies attrs to length units from index; a nil value removes an
// attribute. As in Yjs, formatting beyond the end of the text appends
// newlines to cover the range.
func (t *Text) Format(txn *Transaction, index, length int, attrs Attrs) error {
	return textFormat(txn, t.b, index, length, attrs)
}

// String returns the text without formatting and embeds.
func (t *Text) String() string { return textString(t.b) }

// Delta returns the content as runs with their attributes.
func (t *Text) Delta() []DeltaOp { return textDelta(t.b) }

// SetAttribute sets an attribute of the text as a whole (not a
// formatting attribute: Yjs keeps these in the type's map part).
func (t *Text) SetAttribute(txn *Transaction, key string, value any) error {
	return typeSetAttribute(txn, t.b, key, value)
}

// GetAttribute returns an attribute set with SetAttribute.
func (t *Text) GetAttribute(key string) (any, bool) { return t.b.mapGet(key) }

// RemoveAttribute removes an attribute set with SetAttribute.
func (t *Text) RemoveAttribute(txn *Transaction, key string) error {
	return typeRemoveAttribute(txn, t.b, key)
}

// Attributes returns all attributes set with SetAttribute.
func (t *Text) Attributes() map[string]any { return typeAttributes(t.b) }

// ---------------------------------------------------------------------------
// Operations shared by Text and XmlText

// withTxn runs fn in txn, or in a transaction of its own when txn is nil.
func withTxn(b *branch, txn *Transaction, fn func(*Transaction)) {
	if txn != nil {
		fn(txn)
		return
	}
	b.doc.transact(nil, true, fn)
}

// validText returns s with invalid UTF-8 replaced, as a JavaScript string
// decoded from the same bytes would read.
func validText(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return lib0.ToValidUTF8([]byte(s))
}

func textInsert(txn *Transaction, b *branch, index int, s string, attrs Attrs) error {
	if err := b.checkAlive(); err != nil {
		return err
	}
	if index < 0 || index > b.length {
		return ErrIndexOutOfRange
	}
	if s == "" {
		return nil
	}
	if uint64(len(s)) > maxTextBytes {
		return fmt.Errorf("%w: text of 4 GiB or more in one insert", ErrUnsupportedValue)
	}
	var list attrList
	if attrs != nil {
		var err error
		if list, err = prepareAttrs(attrs); err != nil {
			return err
		}
	}
	s = validText(s)
	if txn != nil {
		// (No closure: this is the hot path of local editing.)
		textInsertIn(txn, b, index, s, attrs, list)
		return nil
	}
	b.doc.transact(nil, true, func(txn2 *Transaction) {
		textInsertIn(txn2, b, index, s, attrs, list)
	})
	return nil
}

// appendTyped inserts s (n units) at p, in a text without formatting, by
// extending the item left of p when that is what the transaction's
// clean-up would do with a new item: typing extends the replica's own last
// item, whose right neighbour is still the one it was inserted before.
// The item it would have created (origin: the left item's last ID, right
// origin: p.right) merges into the left one in every replica, so the
// document and the encoded update are the same; only the allocation, the
// store entry and the merge are saved. It reports whether it did.
func appendTyped(txn *Transaction, b *branch, p *textPos, s string, n int) bool {
	l := p.left
	if l == nil || l.ckind != refString || l.info&(flagDeleted|flagParentSub) != 0 || l.right != p.right {
		return false
	}
	d := txn.doc
	if l.id().Client != d.clientID || d.store.parentOf(l) != b {
		return false
	}
	// The new item's right origin is p.right; merging needs the same.
	if p.right != nil {
		if ro := l.rightOriginID(); !ro.ok || ro.ID != p.right.id() {
			return false
		}
	} else if l.info&flagRightOrigin != 0 {
		return false
	}
	clock := l.startClock() + uint64(l.length())
	if clock != d.store.state(d.clientID) || (b.item != nil && b.item.deleted()) {
		// Not the client's last struct (the new one would not follow it
		// in the store), or a dead parent.
		return false
	}
	if !l.textFits(len(s)) {
		return false
	}
	txn.noteBefore(d.clientID, clock)
	b.markers.update(p.index, n)
	d.store.appendText(l, s, n)
	l.setLength(l.length() + n)
	b.length += n
	txn.addChanged(b)
	p.index += n
	return true
}

func textInsertIn(txn *Transaction, b *branch, index int, s string, attrs Attrs, list attrList) {
	// Without attributes the position cache may be used; the text then
	// takes over the attributes in force at the position.
	p := findPosition(txn, b, index, attrs == nil)
	n := lib0.UTF16Len(s)
	if attrs == nil && !b.hasFormatting {
		// No attributes anywhere: where the content goes is final once
		// deleted items on the right are stepped over (insertTextItem
		// would do the same first).
		minimizeAttributeChanges(&p, nil)
		if appendTyped(txn, b, &p, s, n) {
			return
		}
	}
	c := &contentString{s: s, n: n}
	if attrs == nil {
		list = make(attrList, 0, p.attrs.len())
		for _, f := range p.attrs.fs {
			list.set(f.Key, f.Value)
		}
	}
	insertTextItem(txn, b, &p, c, list, new(Item))
}

func textInsertEmbed(txn *Transaction, b *branch, index int, embed any, attrs Attrs) (any, error) {
	if err := b.checkAlive(); err != nil {
		return nil, err
	}
	if index < 0 || index > b.length {
		return nil, ErrIndexOutOfRange
	}
	list := attrList{}
	if attrs != nil {
		var err error
		if list, err = prepareAttrs(attrs); err != nil {
			return nil, err
		}
	}
	var c content
	switch x := embed.(type) {
	case nil, lib0.Undefined:
		return nil, fmt.Errorf("%w: %T embed", ErrUnsupportedValue, embed)
	case NewType:
		var err error
		if c, _, err = contentForValue(x, false); err != nil {
			return nil, err
		}
	case string:
		// Yjs inserts a string given as embed as plain text.
		if x == "" {
			return nil, fmt.Errorf("%w: empty string embed", ErrUnsupportedValue)
		}
		if uint64(len(x)) > maxTextBytes {
			return nil, fmt.Errorf("%w: text of 4 GiB or more in one insert", ErrUnsupportedValue)
		}
		x = validText(x)
		c = &contentString{s: x, n: lib0.UTF16Len(x)}
	case *SubDoc:
		return nil, fmt.Errorf("%w: sub-document embed", ErrUnsupportedValue)
	default:
		raw, err := stringifyJSON(embed)
		if err != nil {
			return nil, err
		}
		// Keep what a remote replica decodes, so that reads agree.
		v, err := parseJSON(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUnsupportedValue, err)
		}
		c = &contentEmbed{raw: raw, value: v}
	}
	withTxn(b, txn, func(txn2 *Transaction) {
		p := findPosition(txn2, b, index, attrs == nil)
		insertText(txn2, b, &p, c, list)
	})
	if ct, ok := c.(*contentType); ok {
		return ct.b.public(), nil
	}
	return nil, nil
}

func textDelete(txn *Transaction, b *branch, index, length int) error {
	if err := b.checkAlive(); err != nil {
		return err
	}
	if index < 0 || length < 0 || index+length > b.length {
		return ErrIndexOutOfRange
	}
	if length == 0 {
		return nil
	}
	withTxn(b, txn, func(txn2 *Transaction) {
		p := findPosition(txn2, b, index, true)
		deleteText(txn2, b, &p, length)
	})
	return nil
}

func textFormat(txn *Transaction, b *branch, index, length int, attrs Attrs) error {
	if err := b.checkAlive(); err != nil {
		return err
	}
	if index < 0 || length < 0 || index > b.length {
		return ErrIndexOutOfRange
	}
	if length == 0 {
		return nil
	}
	list, err := prepareAttrs(attrs)
	if err != nil {
		return err
	}
	withTxn(b, txn, func(txn2 *Transaction) {
		p := findPosition(txn2, b, index, false)
		if p.right == nil {
			return
		}
		formatText(txn2, b, &p, length, list)
	})
	return nil
}

// textString returns the text of the visible string items of b.
func textString(b *branch) string {
	// One pass: the visible length in UTF-16 units is the byte length of
	// ASCII text, and the usual text is mostly ASCII; other text makes the
	// builder grow. (A first pass to size it exactly walked every item
	// twice, a cache miss each on a loaded document.)
	var sb strings.Builder
	sb.Grow(b.length)
	for n := b.start; n != nil; n = n.right {
		if n.visible() && n.ckind == refString {
			sb.WriteString(n.text())
		}
	}
	return sb.String()
}

// textDelta lists the content in runs of equal attributes. Every format
// item ends a run, even one that changes nothing, as in Yjs.
func textDelta(b *branch) []DeltaOp {
	var ops []DeltaOp
	var cur attrMap
	var sb strings.Builder
	opAttrs := func() Attrs {
		if cur.len() == 0 {
			return nil
		}
		return Attrs(jsObjectOrder(cur.fs))
	}
	flush := func() {
		if sb.Len() > 0 {
			ops = append(ops, DeltaOp{Insert: sb.String(), Attributes: opAttrs()})
			sb.Reset()
		}
	}
	for n := b.start; n != nil; n = n.right {
		if n.deleted() {
			continue
		}
		if c, ok := n.str(); ok {
			sb.WriteString(c)
			continue
		}
		switch c := n.content().(type) {
		case *contentEmbed:
			flush()
			ops = append(ops, DeltaOp{Insert: c.value, Attributes: opAttrs()})
		case *contentType:
			flush()
			ops = append(ops, DeltaOp{Insert: c.b.public(), Attributes: opAttrs()})
		case *contentFormat:
			flush()
			cur.apply(c)
		}
	}
	flush()
	return ops
}

// typeSetAttribute writes key in the map part of a type (Yjs's
// typeMapSet), as setAttribute does on texts and XML elements.
func typeSetAttribute(txn *Transaction, b *branch, key string, value any) error {
	if err := b.checkAlive(); err != nil {
		return err
	}
	var err error
	withTxn(b, txn, func(txn2 *Transaction) {
		_, err = b.mapSet(txn2, key, value)
	})
	return err
}

func typeRemoveAttribute(txn *Transaction, b *branch, key string) error {
	if err := b.checkAlive(); err != nil {
		return err
	}
	withTxn(b, txn, func(txn2 *Transaction) {
		b.mapDelete(txn2, key)
	})
	return nil
}

func typeAttributes(b *branch) map[string]any {
	out := make(map[string]any)
	for _, k := range b.mapKeys() {
		v, _ := b.mapGet(k)
		out[k] = v
	}
	return out
}
