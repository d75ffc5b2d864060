package storetest

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/quirehq/quire/crdt"
)

// Editor is one replica editing root text "text" and recording each edit
// as a v1 update. It is not safe for concurrent use.
type Editor struct {
	Doc  *crdt.Doc
	text *crdt.Text
	last []byte
}

// NewEditor returns an editor with client ID id (zero: random).
func NewEditor(t testing.TB, id uint64) *Editor {
	t.Helper()
	d := crdt.NewDoc(crdt.Options{ClientID: id})
	text, err := d.Text("text")
	if err != nil {
		t.Fatal(err)
	}
	e := &Editor{Doc: d, text: text}
	d.OnUpdate(func(u []byte, _ any) { e.last = u })
	return e
}

// Insert inserts s at index and returns the update. It calls t.Fatal on
// failure, so it belongs on the test's goroutine.
func (e *Editor) Insert(t testing.TB, index int, s string) []byte {
	t.Helper()
	u, err := e.edit(func(txn *crdt.Transaction) error { return e.text.Insert(txn, index, s, nil) })
	if err == nil && u == nil {
		err = errors.New("insert produced no update")
	}
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Append inserts s at the end and returns the update.
func (e *Editor) Append(t testing.TB, s string) []byte {
	t.Helper()
	return e.Insert(t, e.text.Len(), s)
}

// Delete deletes length characters at index and returns the update.
func (e *Editor) Delete(t testing.TB, index, length int) []byte {
	t.Helper()
	u, err := e.edit(func(txn *crdt.Transaction) error { return e.text.Delete(txn, index, length) })
	if err == nil && u == nil {
		err = errors.New("delete produced no update")
	}
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Random makes one random edit (insert, delete or format) and returns the
// update. It reports failure as an error, for use on other goroutines.
func (e *Editor) Random(rng *rand.Rand) ([]byte, error) {
	for {
		n := e.text.Len()
		var fn func(*crdt.Transaction) error
		switch op := rng.IntN(10); {
		case op < 2 && n > 0:
			i := rng.IntN(n)
			fn = func(txn *crdt.Transaction) error { return e.text.Delete(txn, i, 1+rng.IntN(min(4, n-i))) }
		case op < 3 && n > 0:
			i := rng.IntN(n)
			attrs := crdt.Attrs{{Key: "bold", Value: rng.IntN(2) == 0}}
			fn = func(txn *crdt.Transaction) error { return e.text.Format(txn, i, 1+rng.IntN(min(4, n-i)), attrs) }
		default:
			words := []string{"a", "bc", "déf", "ghij", "👋", " "}
			i, w := rng.IntN(n+1), words[rng.IntN(len(words))]
			fn = func(txn *crdt.Transaction) error { return e.text.Insert(txn, i, w, nil) }
		}
		u, err := e.edit(fn)
		if err != nil || u != nil {
			return u, err
		}
		// A format that changed nothing produces no update: try again.
	}
}

// edit runs fn in a transaction and returns its update (nil if the edit
// changed nothing).
func (e *Editor) edit(fn func(*crdt.Transaction) error) ([]byte, error) {
	e.last = nil
	var err error
	e.Doc.Transact(nil, func(txn *crdt.Transaction) { err = fn(txn) })
	return e.last, err
}

// Text returns the content of root text "text".
func (e *Editor) Text() string { return e.text.String() }

// DocFrom returns a fresh document with update applied, and its text.
func DocFrom(t testing.TB, update []byte) (*crdt.Doc, string) {
	t.Helper()
	d := crdt.NewDoc(crdt.Options{})
	if update != nil {
		if err := d.ApplyUpdate(update, nil); err != nil {
			t.Fatalf("applying a loaded update: %v", err)
		}
	}
	text, err := d.Text("text")
	if err != nil {
		t.Fatal(err)
	}
	return d, text.String()
}
