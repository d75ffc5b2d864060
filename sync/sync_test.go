package sync

import (
	"fmt"
	gosync "sync"
	"testing"

	"github.com/quirehq/quire/crdt"
)

// roomOf returns the room of document name in the index, or nil.
func (h *harness) roomOf(name string) *room {
	h.srv.mu.Lock()
	defer h.srv.mu.Unlock()
	return h.srv.rooms[name]
}

// members returns how many members document name's room has.
func (h *harness) members(name string) int {
	r := h.roomOf(name)
	if r == nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.members)
}

// serverState returns the server's copy of document name, encoded.
func (h *harness) serverState(name string) []byte {
	h.t.Helper()
	r := h.roomOf(name)
	if r == nil {
		h.t.Fatalf("no room %q", name)
	}
	<-r.ready
	state, err := r.state()
	if err != nil {
		h.t.Fatal(err)
	}
	return state
}

// state returns the room's document as the live document would encode
// it: hibernating, its bytes (loaded back if dormant) are decoded first,
// so that the store's encoding of the same content compares equal.
func (r *room) state() ([]byte, error) {
	if err := r.lockLoaded(); err != nil {
		return nil, err
	}
	defer r.mu.Unlock()
	if r.doc != nil {
		return r.doc.EncodeStateAsUpdate(), nil
	}
	doc := crdt.NewDoc(crdt.Options{})
	if err := doc.ApplyUpdate(r.encoded, nil); err != nil {
		return nil, err
	}
	return doc.EncodeStateAsUpdate(), nil
}

func edit(t testing.TB, doc *crdt.Doc, s string) {
	t.Helper()
	text, err := doc.Text("text")
	if err != nil {
		t.Fatal(err)
	}
	doc.Transact(nil, func(txn *crdt.Transaction) {
		if err := text.Insert(txn, text.Len(), s, nil); err != nil {
			t.Fatal(err)
		}
	})
}

func TestTwoClientsConverge(t *testing.T) {
	h := newHarness(t, Options{})
	a, b := h.dial("doc"), h.dial("doc")
	a.insert("hello")
	b.insert("world")
	waitConverged(t, []string{"hello", "world"}, a, b)

	// Interleaved edits from both sides, sent without waiting.
	var parts []string
	for i := range 30 {
		pa, pb := fmt.Sprintf("<a%d>", i), fmt.Sprintf("<b%d>", i)
		a.insert(pa)
		b.insert(pb)
		parts = append(parts, pa, pb)
	}
	waitConverged(t, parts, a, b)
	if st := h.stats(); st.Rooms != 1 || st.Connections != 2 {
		t.Errorf("Stats = %+v, want 1 room, 2 connections", st)
	}
	// Every applied update reaches the store (stored in the background).
	waitFor(t, "the edits to be stored", func() bool { return storedText(t, h.store, "doc") == a.String() })
}

func TestRoomsAreIsolated(t *testing.T) {
	h := newHarness(t, Options{})
	a1, a2 := h.dial("alpha"), h.dial("alpha")
	b1, b2 := h.dial("beta"), h.dial("beta")
	a1.insert("in alpha")
	b1.insert("in beta")
	waitText(t, "in alpha", a1, a2)
	waitText(t, "in beta", b1, b2)
	a2.insert("!")
	waitText(t, "in alpha!", a1, a2)
	if got := b2.String(); got != "in beta" {
		t.Errorf("beta holds %q", got)
	}
	if st := h.stats(); st.Rooms != 2 || st.Connections != 4 {
		t.Errorf("Stats = %+v, want 2 rooms, 4 connections", st)
	}
}

func TestLateJoinerGetsEverythingInStep2(t *testing.T) {
	h := newHarness(t, Options{})
	a := h.dial("doc")
	a.insert("written before ")
	a.insert("the joiner came")
	// Stored in one or two Appends: updates queued meanwhile are merged.
	waitFor(t, "the edits to be stored", func() bool { return storedText(t, h.store, "doc") == "written before the joiner came" })

	late := h.dial("doc")
	waitText(t, "written before the joiner came", late)
	late.with(func(c *testClient) {
		// step 1 from the server, step 2 answering the client's step 1;
		// nothing was broadcast meanwhile.
		if c.step2 != 1 || c.messages != 2 {
			t.Errorf("late joiner got %d messages, %d step 2; want 2 and 1", c.messages, c.step2)
		}
	})
}

func TestReconnectWithOfflineEdits(t *testing.T) {
	h := newHarness(t, Options{})
	doc := crdt.NewDoc(crdt.Options{})
	a := h.dialWith("doc", clientOptions{doc: doc})
	b := h.dial("doc")
	a.insert("one ")
	waitText(t, "one ", a, b)

	a.close()
	waitFor(t, "a to leave", func() bool { return h.members("doc") == 1 })
	edit(t, doc, "offline ") // a, disconnected
	b.insert("online ")      // b, meanwhile

	a2 := h.dialWith("doc", clientOptions{doc: doc})
	text := waitConverged(t, []string{"one ", "offline ", "online "}, a2, b)
	if len(text) != len("one offline online ") {
		t.Errorf("converged to %q", text)
	}
}

func TestConcurrentRooms(t *testing.T) {
	h := newHarness(t, Options{})
	const rooms, perRoom, edits = 6, 3, 25
	clients := make([][]*testClient, rooms)
	for r := range rooms {
		for range perRoom {
			clients[r] = append(clients[r], h.dial(fmt.Sprintf("room-%d", r)))
		}
	}
	var wg gosync.WaitGroup
	for r := range rooms {
		for i, c := range clients[r] {
			wg.Go(func() {
				for e := range edits {
					c.insert(fmt.Sprintf("[r%d c%d e%d]", r, i, e))
				}
			})
		}
	}
	wg.Wait()
	for r := range rooms {
		var parts []string
		for i := range perRoom {
			for e := range edits {
				parts = append(parts, fmt.Sprintf("[r%d c%d e%d]", r, i, e))
			}
		}
		text := waitConverged(t, parts, clients[r]...)
		if want := len(parts) * len("[r0 c0 e00]"); len(text) > want {
			t.Errorf("room %d holds more than its own edits: %d bytes", r, len(text))
		}
	}
}

// TestUnknownMessagesCloseTheConnection: y-websocket sends sync, awareness
// and query-awareness only (auth flows from server to client), and
// y-protocols throws on an unknown sync sub-type; anything else comes from
// a peer that speaks another protocol, and only its connection is closed.
func TestUnknownMessagesCloseTheConnection(t *testing.T) {
	h := newHarness(t, Options{})
	b := h.dial("doc")
	for _, tc := range []struct {
		msg    []byte
		code   int
		reason string
	}{
		{[]byte{messageAuth, 0, 4, 'n', 'o', 'p', 'e'}, closeUnsupported, reasonUnknownType},
		{[]byte{99, 1, 2, 3}, closeUnsupported, reasonUnknownType},
		{[]byte{messageSync, 7, 1, 0}, closeInvalidPayload, "unknown sync message type"},
	} {
		a := h.dial("doc")
		a.write(tc.msg)
		a.expectClose(tc.code, tc.reason)
	}
	b.insert("still here")
	waitText(t, "still here", b, h.dial("doc"))
}
