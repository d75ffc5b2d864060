package sync

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quirehq/quire/crdt"
	"github.com/quirehq/quire/storage/bolt"
)

// dormantNow reports whether the room holds no copy of its document (its
// load done): no live document, no encoded state, no cached message.
func (r *room) dormantNow() bool {
	<-r.ready
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.doc == nil && r.encoded == nil && r.fullStep2 == nil && r.sv != nil
}

func (h *harness) loads(name string) int {
	return h.store.get(func(s *faultStore) int { return s.loads[name] })
}

// dormantRoom returns a hibernating harness whose document "doc" holds
// text, written by member a, once its room is dormant.
func dormantRoom(t *testing.T, text string) (*harness, *testClient, *room) {
	t.Helper()
	h := hibernatingHarness(t)
	a := h.dial("doc")
	a.insert(text)
	waitFor(t, "the edit to be stored", func() bool { return storedText(t, h.store, "doc") == text })
	r := h.roomOf("doc")
	waitFor(t, "the room to go dormant", r.dormantNow)
	return h, a, r
}

// TestDormantRoom: once every update is stored, a hibernating room holds
// no copy of its document. Joining and awareness need none; a client's
// sync step 1 (empty or partial) loads it back from the store once, and an
// update wakes the room from it; then it goes dormant again.
func TestDormantRoom(t *testing.T) {
	h, a, r := dormantRoom(t, "hello")
	loads := h.loads("doc")

	// Joining without a sync step 1, and awareness, load nothing.
	s := h.dialWith("doc", clientOptions{silent: true})
	s.write(awarenessMessage(awarenessEntry{client: 7, clock: 1, state: `{"user":"sam"}`}))
	waitFor(t, "the awareness state to reach a", func() bool {
		var ok bool
		a.with(func(c *testClient) { _, ok = c.awareness[7] })
		return ok
	})
	if n := h.loads("doc"); n != loads || !r.dormantNow() {
		t.Fatalf("joining and awareness loaded the document (%d loads, want %d) or woke the room", n, loads)
	}

	// A client holding nothing gets everything, from one load.
	b := h.dial("doc")
	waitText(t, "hello", b)
	if n := h.loads("doc"); n != loads+1 {
		t.Errorf("%d loads after a sync, want %d", n, loads+1)
	}
	if !r.hibernating() {
		t.Error("a sync step 1 woke the room")
	}
	c := h.dial("doc")
	waitText(t, "hello", c)
	if n := h.loads("doc"); n != loads+1 {
		t.Errorf("a second client holding nothing loaded the document again (%d loads)", n)
	}

	// Dormant again, a client holding part of the document gets the rest
	// and sends what it has.
	waitFor(t, "the room to go dormant again", r.dormantNow)
	part := crdt.NewDoc(crdt.Options{})
	b.with(func(c *testClient) {
		if err := part.ApplyUpdate(c.doc.EncodeStateAsUpdate(), nil); err != nil {
			t.Fatal(err)
		}
	})
	d := h.dialWith("doc", clientOptions{doc: part})
	waitText(t, "hello", d)

	// An update to a dormant room wakes it from the store and reaches
	// everyone, and is stored.
	waitFor(t, "the room to go dormant again", r.dormantNow)
	d.insert("!")
	waitText(t, "hello!", a, b, c, d)
	waitFor(t, "the update to be stored", func() bool { return storedText(t, h.store, "doc") == "hello!" })
	waitFor(t, "the room to go dormant after the update", r.dormantNow)
	waitText(t, "hello!", h.dial("doc"))
	if got := h.serverState("doc"); !sameContent(t, got, a) {
		t.Error("the room's document differs from its members'")
	}
}

// sameContent reports whether update holds what c's document holds.
func sameContent(t *testing.T, update []byte, c *testClient) bool {
	t.Helper()
	doc := crdt.NewDoc(crdt.Options{})
	if err := doc.ApplyUpdate(update, nil); err != nil {
		t.Fatal(err)
	}
	var want []byte
	c.with(func(c *testClient) { want = c.doc.EncodeStateVector() })
	got, err1 := crdt.DecodeStateVector(doc.EncodeStateVector())
	exp, err2 := crdt.DecodeStateVector(want)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(exp) {
		return false
	}
	for k, v := range exp {
		if got[k] != v {
			return false
		}
	}
	return true
}

// TestConcurrentJoinsDuringWake: clients joining a dormant room and a
// member's update, all while its document loads, share one load; nobody
// is synced before the load completes, and nothing is lost.
func TestConcurrentJoinsDuringWake(t *testing.T) {
	h, a, r := dormantRoom(t, "base")
	loads := h.loads("doc")
	gate := make(chan struct{})
	h.store.set(func(s *faultStore) { s.loadGate = gate })

	var joiners []*testClient
	for range 5 {
		joiners = append(joiners, h.dial("doc"))
	}
	waitFor(t, "the joiners to be waiting for the load", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.restoring != nil && h.stats().Connections == 6
	})
	a.insert("+")                     // needs the document too: waits for the same load
	time.Sleep(50 * time.Millisecond) // give every waiter time to ask
	for _, c := range joiners {
		c.with(func(c *testClient) {
			if c.step2 != 0 {
				t.Error("a client was sent a sync step 2 before the document loaded")
			}
		})
	}
	close(gate)
	waitText(t, "base+", append(joiners, a)...)
	if n := h.loads("doc"); n != loads+1 {
		t.Errorf("%d loads, want %d", n, loads+1)
	}
	waitFor(t, "the update to be stored", func() bool { return storedText(t, h.store, "doc") == "base+" })
}

// TestWakeLoadFailure: when the store cannot give a dormant document back,
// only the connection that needed it is closed (1011), with a clear
// reason; the room and its other members carry on, and the next attempt
// loads again.
func TestWakeLoadFailure(t *testing.T) {
	h, a, r := dormantRoom(t, "kept")
	h.store.set(func(s *faultStore) { s.loadErr = errors.New("disk on fire") })
	b := h.dial("doc")
	b.expectClose(closeInternalError, reasonUnavailable)
	if !h.logs.contains("disk on fire") {
		t.Error("the load failure was not logged")
	}
	// a's update needs the document too: a is closed, its update not
	// applied (the client keeps it, and sends it again on reconnect).
	a.insert("?")
	a.expectClose(closeInternalError, reasonUnavailable)
	if h.roomOf("doc") != r || !r.dormantNow() {
		t.Fatal("a failed load changed the room")
	}

	h.store.set(func(s *faultStore) { s.loadErr = nil })
	c, d := h.dial("doc"), h.dial("doc")
	waitText(t, "kept", c, d)
	c.insert("!")
	waitText(t, "kept!", c, d)
	waitFor(t, "the update to be stored", func() bool { return storedText(t, h.store, "doc") == "kept!" })
}

// TestWakeFindsAnotherDocument: a store that gives back a document other
// than the one the room stored (lost or foreign writes) fails the room
// when an update wakes it: its members are closed and the next connection
// reloads the document.
func TestWakeFindsAnotherDocument(t *testing.T) {
	h, a, r := dormantRoom(t, "ours")
	other := crdt.NewDoc(crdt.Options{})
	text, err := other.Text("text")
	if err != nil {
		t.Fatal(err)
	}
	other.Transact(nil, func(txn *crdt.Transaction) {
		if err := text.Insert(txn, 0, "theirs", nil); err != nil {
			t.Fatal(err)
		}
	})
	h.store.set(func(s *faultStore) { s.loadData = other.EncodeStateAsUpdate() })
	b := h.dial("doc")
	waitFor(t, "b to join, loading the document", func() bool {
		return h.stats().Connections == 2 && !r.dormantNow()
	})
	a.insert("!")
	a.expectClose(closeInternalError, reasonUnavailable)
	b.expectClose(closeInternalError, reasonUnavailable)
	if !h.logs.contains("state vector") {
		t.Error("the mismatch was not logged")
	}
	h.store.set(func(s *faultStore) { s.loadData = nil })
	waitText(t, "ours", h.dial("doc"))
}

// TestHibernationKeepsUnstoredBytes: a room whose updates are not stored
// yet keeps its encoded state when it hibernates (the store does not have
// it all), serving joiners without a load, and goes dormant once stored.
func TestHibernationKeepsUnstoredBytes(t *testing.T) {
	store := newSlowStore()
	h := newHarness(t, Options{Store: store, PingInterval: 40 * time.Millisecond, HibernateAfter: 60 * time.Millisecond})
	h.store = store.faultStore
	a := h.dial("doc")
	waitFor(t, "the room", func() bool { return h.roomOf("doc") != nil })
	r := h.roomOf("doc")
	open := store.stuck(t)
	a.insert("pending")
	waitFor(t, "the room to hibernate", r.hibernating)
	time.Sleep(150 * time.Millisecond) // more sweeps
	if r.dormantNow() {
		t.Fatal("the room dropped its only copy of updates not yet stored")
	}
	loads := h.loads("doc")
	waitText(t, "pending", h.dial("doc"))
	if n := h.loads("doc"); n != loads {
		t.Errorf("the room loaded from the store (%d loads) while holding the document", n)
	}
	open()
	waitFor(t, "the room to go dormant once stored", r.dormantNow)
	waitText(t, "pending", h.dial("doc"))
}

// TestDormantRoomWithBolt: the same life cycle with a real bbolt store,
// which holds everything after Shutdown.
func TestDormantRoomWithBolt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "quire.db")
	store, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() }) // after the harness's
	h := newHarness(t, Options{Store: store, PingInterval: 40 * time.Millisecond, HibernateAfter: 60 * time.Millisecond})
	a := h.dial("doc")
	burst(a, 50, 'a')
	waitFor(t, "the room", func() bool { return h.roomOf("doc") != nil })
	r := h.roomOf("doc")
	waitFor(t, "the room to go dormant", r.dormantNow)
	b := h.dial("doc")
	want := strings.Repeat("a", 50)
	waitText(t, want, b)
	waitFor(t, "the room to go dormant again", r.dormantNow)
	b.insert("b")
	waitText(t, want+"b", a, b)
	waitFor(t, "the room to go dormant after the update", r.dormantNow)
	waitText(t, want+"b", h.dial("doc"))

	h.shutdown() // every update stored and flushed
	stored, err := store.Load(context.Background(), "doc")
	if err != nil {
		t.Fatal(err)
	}
	doc := crdt.NewDoc(crdt.Options{})
	if err := doc.ApplyUpdate(stored, nil); err != nil {
		t.Fatal(err)
	}
	text, err := doc.Text("text")
	if err != nil {
		t.Fatal(err)
	}
	if got := text.String(); got != want+"b" {
		t.Errorf("stored %q, want %q", got, want+"b")
	}
}

// loadOnlyStore hides LoadAppend: the store of a room that loads with
// Load and frames the document itself (storage/bolt's path).
type loadOnlyStore struct{ Store }

// TestRestoredMessage: the sync step 2 frame a dormant room caches when it
// loads its document back is encodeSync's message framed, byte for byte,
// whether the store loads into the frame's buffer or not, for an empty
// document, a small one and ones whose length takes a varuint of several
// bytes and a frame header of each longer form.
func TestRestoredMessage(t *testing.T) {
	for _, appendLoads := range []bool{true, false} {
		for _, text := range []string{"", "short", strings.Repeat("twenty kilobytes ", 1200), strings.Repeat("seventy kilobytes ", 3900)} {
			fs := newFaultStore()
			var store Store = fs
			if !appendLoads {
				store = loadOnlyStore{fs}
			}
			// The room hibernates again HibernateAfter after the joiner
			// loaded it: long enough for the checks below to find the
			// restored state even on a slow machine (with 60 ms, a
			// race-enabled run sometimes missed it).
			h := newHarness(t, Options{Store: store, PingInterval: 40 * time.Millisecond, HibernateAfter: 250 * time.Millisecond})
			h.store = fs
			a := h.dial("doc")
			if text != "" {
				a.insert(text)
				waitFor(t, "the edit to be stored", func() bool { return storedText(t, fs, "doc") == text })
			}
			waitFor(t, "the room", func() bool { return h.roomOf("doc") != nil })
			r := h.roomOf("doc")
			waitFor(t, "the room to go dormant", r.dormantNow)
			waitText(t, text, h.dial("doc"))
			var msg, encoded []byte
			waitFor(t, "the joiner's sync step 1 to load the document", func() bool {
				r.mu.Lock()
				defer r.mu.Unlock()
				msg, encoded = r.fullStep2, r.encoded
				return msg != nil
			})

			stored, err := fs.inner.Load(context.Background(), "doc")
			if err != nil {
				t.Fatal(err)
			}
			if stored == nil {
				stored = emptyUpdate
			}
			if want := binaryFrame(encodeSync(syncStep2, stored)); !bytes.Equal(msg, want) || !bytes.Equal(encoded, stored) {
				t.Errorf("LoadAppend %v, %d bytes of text: cached message %x…, want %x…", appendLoads, len(text), msg[:min(len(msg), 8)], want[:min(len(want), 8)])
			}
			h.shutdown()
		}
	}
}
