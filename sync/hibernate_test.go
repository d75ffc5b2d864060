package sync

import (
	"bytes"
	"testing"
	"time"

	"github.com/quirehq/quire/crdt"
)

// hibernatingHarness is a server whose idle documents hibernate within
// about 100 ms.
func hibernatingHarness(t *testing.T) *harness {
	return newHarness(t, Options{PingInterval: 40 * time.Millisecond, HibernateAfter: 60 * time.Millisecond})
}

// TestHibernation: an idle document keeps only its encoded state, still
// serves new clients (empty state vector) and clients holding part of it
// (a diff from the bytes), and wakes on the next update, which reaches
// every member.
func TestHibernation(t *testing.T) {
	h := hibernatingHarness(t)
	a, b := h.dial("doc"), h.dial("doc")
	a.insert("hello")
	waitText(t, "hello", b)
	var first []byte // the document with a's first edit only
	a.with(func(c *testClient) { first = c.doc.EncodeStateAsUpdate() })
	b.insert(" world")
	waitConverged(t, []string{"hello", " world"}, a, b)
	text := a.String()
	before := h.serverState("doc")
	r := h.roomOf("doc")
	waitFor(t, "the room to hibernate", r.hibernating)
	if got := h.serverState("doc"); !bytes.Equal(got, before) {
		t.Error("the encoded state changed when the room hibernated")
	}

	// A new client gets everything.
	c := h.dial("doc")
	waitText(t, text, c)

	// A client holding part of the document (a's first edit) gets the
	// rest, and sends what it wrote meanwhile.
	part := crdt.NewDoc(crdt.Options{})
	if err := part.ApplyUpdate(first, nil); err != nil {
		t.Fatal(err)
	}
	d := h.dialWith("doc", clientOptions{doc: part})
	waitText(t, text, d)
	if !r.hibernating() {
		t.Error("syncing a client woke the room")
	}

	// An update wakes the room and reaches everyone.
	d.insert("!")
	waitText(t, text+"!", a, b, c, d)
	if r.hibernating() {
		t.Error("the room hibernates right after an update")
	}
	// And it hibernates again.
	waitFor(t, "the room to hibernate again", r.hibernating)
	e := h.dial("doc")
	waitText(t, text+"!", e)
}

// TestNoHibernationWithPendingContent: a document holding content whose
// dependencies are missing stays live (that content is not in its
// encoded state).
func TestNoHibernationWithPendingContent(t *testing.T) {
	h := hibernatingHarness(t)
	src := crdt.NewDoc(crdt.Options{})
	text, err := src.Text("text")
	if err != nil {
		t.Fatal(err)
	}
	var updates [][]byte
	src.OnUpdate(func(u []byte, _ any) { updates = append(updates, u) })
	for _, s := range []string{"a", "b"} {
		src.Transact(nil, func(txn *crdt.Transaction) {
			if err := text.Insert(txn, text.Len(), s, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
	a := h.dial("doc")
	a.write(syncMessage(syncUpdate, updates[1])) // "b" without "a": pending
	waitFor(t, "the pending update", func() bool {
		r := h.roomOf("doc")
		if r == nil { // not joined yet
			return false
		}
		select {
		case <-r.ready: // the load has published doc
		default:
			return false
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.doc.HasPending()
	})
	time.Sleep(200 * time.Millisecond) // several hibernation rounds
	if h.roomOf("doc").hibernating() {
		t.Fatal("a document with pending content hibernated")
	}
	a.write(syncMessage(syncUpdate, updates[0]))
	waitText(t, "ab", h.dial("doc"))
}

// TestEmptyStateVectorAnswerIsCached: clients that hold nothing are
// answered from one encoding, which a change replaces.
func TestEmptyStateVectorAnswerIsCached(t *testing.T) {
	h := newHarness(t, Options{})
	a := h.dial("doc")
	a.insert("one")
	b := h.dial("doc")
	waitText(t, "one", b) // the edit is applied: the next joiners see no change
	c := h.dial("doc")
	waitText(t, "one", c)
	r := h.roomOf("doc")
	r.mu.Lock()
	cached := r.encoded
	r.mu.Unlock()
	if cached == nil {
		t.Fatal("no cached encoding after a client with an empty state vector joined")
	}
	d := h.dial("doc")
	waitText(t, "one", d)
	r.mu.Lock()
	same := len(r.encoded) > 0 && &r.encoded[0] == &cached[0]
	r.mu.Unlock()
	if !same {
		t.Error("the document was encoded again for a second client holding nothing")
	}
	a.insert(" two")
	waitText(t, "one two", b, c, d)
	waitText(t, "one two", h.dial("doc"))
}

// hibernating reports whether the room holds its document as bytes only,
// once its load has published the document.
func (r *room) hibernating() bool {
	<-r.ready
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.doc == nil
}
