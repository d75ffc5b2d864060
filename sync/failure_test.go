package sync

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/quirehq/quire/crdt"
)

func TestMalformedMessageClosesOnlyItsConnection(t *testing.T) {
	// A valid update to truncate.
	src := crdt.NewDoc(crdt.Options{})
	var update []byte
	src.OnUpdate(func(u []byte, _ any) { update = u })
	edit(t, src, "never applied")

	cases := []struct {
		name   string
		typ    int
		msg    []byte
		code   int
		reason string
	}{
		{"text frame", websocket.TextMessage, []byte("hello"), closeUnsupported, reasonTextFrame},
		{"unknown message type", websocket.BinaryMessage, []byte{9, 1, 2}, closeUnsupported, reasonUnknownType},
		{"auth message from a client", websocket.BinaryMessage, encodePermissionDenied("x"), closeUnsupported, reasonUnknownType},
		{"unknown sync sub-type", websocket.BinaryMessage, []byte{messageSync, 7, 0}, closeInvalidPayload, "unknown sync message type"},
		{"bad varint", websocket.BinaryMessage, bytes.Repeat([]byte{0xff}, 12), closeInvalidPayload, "malformed message"},
		{"empty message", websocket.BinaryMessage, []byte{}, closeInvalidPayload, "malformed message"},
		{"sync without payload", websocket.BinaryMessage, []byte{messageSync, syncUpdate}, closeInvalidPayload, "malformed sync message"},
		{"payload longer than message", websocket.BinaryMessage, []byte{messageSync, syncUpdate, 40, 1, 2}, closeInvalidPayload, "malformed sync message"},
		{"truncated update", websocket.BinaryMessage, syncMessage(syncUpdate, update[:len(update)/2]), closeInvalidPayload, "malformed update"},
		{"truncated step 2", websocket.BinaryMessage, syncMessage(syncStep2, update[:len(update)-1]), closeInvalidPayload, "malformed update"},
		{"bad state vector", websocket.BinaryMessage, syncMessage(syncStep1, []byte{5, 1}), closeInvalidPayload, "malformed state vector"},
		{"awareness not JSON", websocket.BinaryMessage, awarenessMessage(awarenessEntry{client: 1, clock: 1, state: "{oops"}), closeInvalidPayload, "malformed awareness update"},
		{"awareness count too large", websocket.BinaryMessage, []byte{messageAwareness, 2, 0x7f, 0}, closeInvalidPayload, "malformed awareness update"},
	}
	h := newHarness(t, Options{})
	a, b := h.dial("doc"), h.dial("doc")
	a.insert("base")
	waitText(t, "base", a, b)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bad := dial(t, h.base, "doc", clientOptions{})
			waitFor(t, "the bad client to sync", func() bool { return bad.String() == a.String() })
			before := h.serverState("doc")

			bad.writeType(tc.typ, tc.msg)
			bad.expectClose(tc.code, tc.reason)
			if after := h.serverState("doc"); !bytes.Equal(before, after) {
				t.Error("the document changed")
			}
			if !a.isOpen() || !b.isOpen() {
				t.Fatal("another connection was closed")
			}
			a.insert("+")
			b.insert("-")
			waitConverged(t, nil, a, b)
		})
	}
	if !h.logs.contains("closing connection after a bad message") {
		t.Error("bad messages were not logged")
	}
}

func TestRandomBytes(t *testing.T) {
	h := newHarness(t, Options{})
	a, b := h.dial("doc"), h.dial("doc")
	a.insert("base")
	waitText(t, "base", a, b)
	sv := h.roomSV("doc")

	rng := rand.New(rand.NewPCG(1, 2))
	fuzzer := h.dial("doc")
	closes := 0
	for i := range 300 {
		msg := make([]byte, rng.IntN(40))
		for j := range msg {
			msg[j] = byte(rng.Uint32())
		}
		if len(msg) > 0 && i%2 == 0 {
			msg[0] = byte(i / 2 % 4) // a known type, so that payload decoding runs
		}
		fuzzer.write(msg)
		if i%20 == 19 || !fuzzer.isOpen() {
			// Let the server catch up; a closed fuzzer is replaced.
			step2 := func() (n int) {
				fuzzer.with(func(c *testClient) { n = c.step2 })
				return n
			}
			n0 := step2()
			fuzzer.write(syncMessage(syncStep1, nil))
			waitFor(t, "the fuzzer to be answered or closed", func() bool { return step2() > n0 || !fuzzer.isOpen() })
			if !fuzzer.isOpen() {
				code, _ := fuzzer.closed(time.Second)
				if code != closeInvalidPayload && code != closeUnsupported {
					t.Fatalf("fuzzer closed with %d", code)
				}
				closes++
				fuzzer = h.dial("doc")
			}
		}
	}
	if closes == 0 {
		t.Error("no random message was refused")
	}
	if !bytes.Equal(sv, h.roomSV("doc")) {
		t.Error("random bytes changed the document")
	}
	a.insert("!")
	waitText(t, "base!", a, b)
}

// roomSV returns the server's state vector of document name.
func (h *harness) roomSV(name string) []byte {
	r := h.roomOf(name)
	r.mu.Lock()
	defer r.mu.Unlock()
	sv, err := r.stateVector()
	if err != nil {
		h.t.Fatal(err)
	}
	return bytes.Clone(sv)
}

func TestMessageTooBig(t *testing.T) {
	h := newHarness(t, Options{MaxMessageBytes: 1024})
	a, b := h.dial("doc"), h.dial("doc")
	a.insert(strings.Repeat("x", 2000))
	a.expectClose(websocket.CloseMessageTooBig, "")
	b.insert("fine")
	waitText(t, "fine", b)
}

// TestSlowConsumerIsDisconnected: a member that stops reading is closed
// with 1013 once its send queue is over either bound, messages or bytes,
// and the room goes on without it.
func TestSlowConsumerIsDisconnected(t *testing.T) {
	for name, opts := range map[string]Options{
		"messages": {SendQueue: 4, WriteTimeout: 10 * time.Second},
		"bytes":    {SendQueueBytes: 600 << 10, WriteTimeout: 10 * time.Second},
	} {
		t.Run(name, func(t *testing.T) { testSlowConsumer(t, opts) })
	}
}

func testSlowConsumer(t *testing.T, opts Options) {
	h := newHarness(t, opts)
	slow := h.dialWith("doc", clientOptions{noRead: true})
	writer, watcher := h.dial("doc"), h.dial("doc")
	waitFor(t, "three members", func() bool { return h.members("doc") == 3 })

	// Large updates that stay cheap to apply (binary, overwriting one key),
	// so that the kernel's socket buffers fill in few rounds.
	blob := make([]byte, 256<<10)
	for i := 1; h.stats().SlowConsumers == 0; i++ {
		if i == 1000 {
			t.Fatal("the slow consumer was never disconnected")
		}
		writer.setBlob(i, blob)
		// The watcher keeps up: the room goes on at its pace.
		waitFor(t, "the watcher to keep up", func() bool { return watcher.blobRound() == i })
	}
	// The slow client finally reads: what was queued, then 1013.
	slow.startReading()
	slow.expectClose(closeTryAgainLater, reasonSlow)

	writer.insert("after")
	waitText(t, "after", watcher)
	waitFor(t, "two connections", func() bool { return h.stats().Connections == 2 })
	if st := h.stats(); st.SlowConsumers != 1 {
		t.Errorf("Stats = %+v, want one slow consumer", st)
	}
	if !writer.isOpen() || !watcher.isOpen() {
		t.Error("a fast member was closed")
	}
}

func TestLoadFailure(t *testing.T) {
	h := newHarness(t, Options{UnloadDelay: time.Millisecond})
	a := h.dial("doc")
	a.insert("saved")
	waitFor(t, "the edit to be stored", func() bool { return h.store.get(func(s *faultStore) int { return s.appends }) == 1 })
	a.close()
	waitFor(t, "the room to unload", func() bool { return h.stats().Rooms == 0 })

	h.store.set(func(s *faultStore) { s.loadErr = errors.New("disk on fire") })
	b := h.dial("doc")
	b.expectClose(closeInternalError, reasonUnavailable)
	b.with(func(c *testClient) {
		if c.messages != 0 {
			t.Errorf("the client was sent %d messages of a document that did not load", c.messages)
		}
	})
	waitFor(t, "no room", func() bool { return h.stats().Rooms == 0 && h.stats().Connections == 0 })
	if !h.logs.contains("disk on fire") {
		t.Error("the load failure was not logged")
	}

	// Not cached: the next connection loads again.
	h.store.set(func(s *faultStore) { s.loadErr = nil })
	c := h.dial("doc")
	waitText(t, "saved", c)
	if n := h.store.get(func(s *faultStore) int { return s.loads["doc"] }); n != 3 {
		t.Errorf("%d loads, want 3", n)
	}
}

func TestConcurrentJoinersShareOneLoad(t *testing.T) {
	h := newHarness(t, Options{})
	gate := make(chan struct{})
	h.store.set(func(s *faultStore) { s.loadGate = gate })
	clients := []*testClient{h.dial("doc"), h.dial("doc"), h.dial("doc")}
	waitFor(t, "three connections", func() bool { return h.stats().Connections == 3 })
	time.Sleep(50 * time.Millisecond)
	for _, c := range clients {
		c.with(func(c *testClient) {
			if c.messages != 0 {
				t.Errorf("a client was sent %d messages before the document loaded", c.messages)
			}
		})
	}
	close(gate)
	clients[0].insert("loaded")
	waitText(t, "loaded", clients...)
	if n := h.store.get(func(s *faultStore) int { return s.loads["doc"] }); n != 1 {
		t.Errorf("%d loads, want 1", n)
	}
}

func TestLoadFailureWhileOthersWait(t *testing.T) {
	h := newHarness(t, Options{})
	gate := make(chan struct{})
	h.store.set(func(s *faultStore) { s.loadGate, s.loadErr = gate, errors.New("unreadable") })
	a, b := h.dial("doc"), h.dial("doc")
	waitFor(t, "two connections", func() bool { return h.stats().Connections == 2 })
	close(gate)
	a.expectClose(closeInternalError, reasonUnavailable)
	b.expectClose(closeInternalError, reasonUnavailable)
	waitFor(t, "no room", func() bool { return h.stats().Rooms == 0 })
}

func TestCorruptStoredDocument(t *testing.T) {
	h := newHarness(t, Options{})
	h.store.set(func(s *faultStore) { s.loadData = []byte{1, 2, 3} })
	a := h.dial("doc")
	a.expectClose(closeInternalError, reasonUnavailable)
	waitFor(t, "no room", func() bool { return h.stats().Rooms == 0 })
}

func TestAppendFailureFailsTheRoom(t *testing.T) {
	h := newHarness(t, Options{})
	doc := crdt.NewDoc(crdt.Options{})
	a, b := h.dialWith("doc", clientOptions{doc: doc}), h.dial("doc")
	a.insert("one ")
	waitText(t, "one ", a, b)
	waitFor(t, "the first edit to be stored", func() bool { return storedText(t, h.store, "doc") == "one " })

	h.store.set(func(s *faultStore) { s.appendErr = errors.New("disk full") })
	a.insert("two")
	a.expectClose(closeInternalError, reasonUnavailable)
	b.expectClose(closeInternalError, reasonUnavailable)
	waitFor(t, "the room to be dropped", func() bool { return h.stats().Rooms == 0 })
	if !h.logs.contains("disk full") {
		t.Error("the append failure was not logged")
	}

	// Reloaded from storage on the next connection; the client that kept
	// the unsaved edit gives it back.
	h.store.set(func(s *faultStore) { s.appendErr = nil })
	c := h.dial("doc")
	waitText(t, "one ", c)
	a2 := h.dialWith("doc", clientOptions{doc: doc})
	waitText(t, "one two", a2, c)
	if n := h.store.get(func(s *faultStore) int { return s.loads["doc"] }); n != 2 {
		t.Errorf("%d loads, want 2", n)
	}
}
