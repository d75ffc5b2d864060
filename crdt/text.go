package crdt

import (
	"strings"

	"github.com/quirehq/quire/crdt/lib0"
)

// Attrs are text formatting attributes in application order. A nil value
// removes an attribute.
type Attrs = lib0.Object

// Text is shared rich text (Y.Text). Indexes and lengths count UTF-16 code
// units, as in JavaScript and Yjs.
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

// Insert inserts s at index.
func (t *Text) Insert(txn *Transaction, index int, s string, attrs Attrs) error {
	if err := t.b.checkAlive(); err != nil {
		return err
	}
	if s == "" {
		return nil
	}
	return textInsert(txn, t.b, index, &contentString{s: s, n: lib0.UTF16Len(s)}, attrs)
}

// Delete removes length units from index.
func (t *Text) Delete(txn *Transaction, index, length int) error {
	if err := t.b.checkAlive(); err != nil {
		return err
	}
	return textDelete(txn, t.b, index, length)
}

// String returns the text without formatting.
func (t *Text) String() string { return textString(t.b) }

func textString(b *branch) string {
	var sb strings.Builder
	for n := b.start; n != nil; n = n.right {
		if !n.deleted() {
			if c, ok := n.content.(*contentString); ok {
				sb.WriteString(c.s)
			}
		}
	}
	return sb.String()
}

// textInsert is a placeholder without formatting support.
func textInsert(txn *Transaction, b *branch, index int, c content, attrs Attrs) error {
	if index < 0 || index > b.length {
		return ErrIndexOutOfRange
	}
	var ref *Item
	if index > 0 {
		n, rel := b.seek(index)
		if rel == 0 {
			n = n.prev()
			if n != nil && n.visible() {
				rel = n.length
			}
		}
		for ; n != nil; n = n.right {
			if n.visible() {
				if rel <= n.length {
					if rel < n.length {
						b.doc.store.itemCleanStart(txn, ID{Client: n.id.Client, Clock: n.id.Clock + uint64(rel)})
					}
					break
				}
				rel -= n.length
			}
		}
		ref = n
	}
	b.markers.update(index, c.length())
	var o, ro optID
	right := b.start
	if ref != nil {
		o = someID(ref.lastID())
		right = ref.right
	}
	if right != nil {
		ro = someID(right.id)
	}
	newItem(b.nextID(), ref, o, right, ro, b, nil, c).integrate(txn, 0)
	return nil
}

func textDelete(txn *Transaction, b *branch, index, length int) error {
	return b.deleteRange(txn, index, length)
}

// cleanupFormattingAfterTransaction removes formatting made redundant by
// remote changes.
func cleanupFormattingAfterTransaction(txn *Transaction) {}
