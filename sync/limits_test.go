package sync

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/quirehq/quire/crdt"
)

func TestLimitDefaults(t *testing.T) {
	l := Limits{}.resolve()
	if l.MessageRate != defaultMessageRate || l.MessageBurst != defaultMessageBurst || l.ConnectionsPerIP != defaultConnectionsPerIP ||
		l.ConnectionsPerDocument != defaultConnsPerDocument || l.Documents != defaultDocuments ||
		l.DocumentBytes != defaultDocumentBytes || l.AwarenessClients != defaultAwarenessClients {
		t.Errorf("defaults: %v", l)
	}
	if off := (Limits{MessageRate: -1, ConnectionsPerIP: -1, Documents: -1, DocumentBytes: -1}).resolve(); off.MessageRate != 0 ||
		off.ConnectionsPerIP != 0 || off.Documents != 0 || off.DocumentBytes != 0 {
		t.Errorf("negative limits are not off: %v", off)
	}
}

func TestMessageRateLimit(t *testing.T) {
	h := newHarness(t, Options{Limits: Limits{MessageRate: 20, MessageBurst: 50}})
	calm := h.dial("doc")
	for i := range 10 { // well within the burst
		calm.insert(string(rune('a' + i)))
	}
	waitText(t, "abcdefghij", calm)

	flood := h.dial("doc")
	for range 200 {
		flood.write(keepaliveMessage)
	}
	flood.expectClose(closePolicyViolation, reasonRate)
	if !calm.isOpen() {
		t.Fatal("the calm client was closed")
	}
	if h.stats().LimitRefusals != 1 {
		t.Errorf("LimitRefusals %d, want 1", h.stats().LimitRefusals)
	}
	calm.insert("!")
	waitText(t, "abcdefghij!", calm)
}

func TestConnectionsPerIP(t *testing.T) {
	h := newHarness(t, Options{Limits: Limits{ConnectionsPerIP: 2, ClientIPHeader: "X-Real-IP"}})
	a, b := h.dial("doc"), h.dial("other")
	// A dial returns after the upgrade, before the server's join (where
	// the address is counted): the third must come after both have joined.
	perIP := func(ip string) int {
		h.srv.mu.Lock()
		defer h.srv.mu.Unlock()
		return h.srv.perIP[ip]
	}
	waitFor(t, "two counted connections", func() bool { return perIP("127.0.0.1") == 2 })
	c := h.dial("doc")
	c.expectClose(closeTryAgainLater, reasonConnsPerIP)
	// Another address (as a proxy reports it) is counted apart.
	d := h.dialWith("doc", clientOptions{header: http.Header{"X-Real-IP": {"192.0.2.7, 10.0.0.1"}}})
	a.insert("a")
	waitText(t, "a", a, d)
	// A slot freed is a slot taken.
	b.close()
	waitFor(t, "the slot to free", func() bool { return perIP("127.0.0.1") == 1 })
	e := h.dial("doc")
	waitText(t, "a", e)
	if !e.isOpen() {
		t.Error("refused after a slot was freed")
	}
}

func TestConnectionsPerDocument(t *testing.T) {
	h := newHarness(t, Options{Limits: Limits{ConnectionsPerDocument: 2}})
	a, b := h.dial("doc"), h.dial("doc")
	// A dial returns after the upgrade, before the server's join: the
	// third must come after both have joined.
	waitFor(t, "two members", func() bool { return h.members("doc") == 2 })
	c := h.dial("doc")
	c.expectClose(closeTryAgainLater, reasonConnsPerDocument)
	other := h.dial("other") // other documents are not affected
	other.insert("o")
	waitText(t, "o", other)
	a.insert("a")
	waitText(t, "a", a, b)
}

func TestDocumentsInMemory(t *testing.T) {
	h := newHarness(t, Options{UnloadDelay: time.Hour, Limits: Limits{Documents: 2}})
	a := h.dial("a")
	a.insert("text of a")
	waitFor(t, "a to be loaded", func() bool { return h.members("a") == 1 })
	b := h.dial("b")
	waitFor(t, "b to be loaded", func() bool { return h.members("b") == 1 })
	// Both in use: a third document is refused.
	c := h.dial("c")
	c.expectClose(closeTryAgainLater, reasonDocuments)

	// Once a and b are idle, c unloads the least recently used: a.
	a.close()
	waitFor(t, "a to be idle", func() bool { return h.members("a") == 0 })
	time.Sleep(5 * time.Millisecond) // b leaves strictly later
	b.close()
	waitFor(t, "b to be idle", func() bool { return h.members("b") == 0 })
	c = h.dial("c")
	c.insert("c")
	waitText(t, "c", c)
	if h.roomOf("a") != nil || h.roomOf("b") == nil {
		t.Errorf("evicted the wrong room: a in memory %v, b %v", h.roomOf("a") != nil, h.roomOf("b") != nil)
	}
	if st := h.stats(); st.Evictions != 1 || st.Rooms != 2 {
		t.Errorf("stats %+v, want 1 eviction and 2 rooms", st)
	}
	// The evicted document was stored: reopening it (which evicts b)
	// brings its text back.
	a = h.dial("a")
	waitText(t, "text of a", a)
}

func TestDocumentBytes(t *testing.T) {
	h := newHarness(t, Options{Limits: Limits{DocumentBytes: 1000}})
	a, b := h.dial("doc"), h.dial("doc")
	a.insert(strings.Repeat("a", 600))
	waitText(t, strings.Repeat("a", 600), a, b)
	before := h.serverState("doc")
	b.insert(strings.Repeat("b", 600))
	b.expectClose(closeTooBig, reasonDocumentTooLarge)
	if !bytes.Equal(before, h.serverState("doc")) {
		t.Error("the refused update changed the document")
	}
	// Small edits still fit.
	a.insert("!")
	c := h.dial("doc")
	waitText(t, strings.Repeat("a", 600)+"!", a, c)
}

// TestDocumentBytesCountsOnlyWhatAnUpdateAdds: near the limit, an update
// that re-sends content the document has (every reconnecting client's
// sync step 2 carries its whole state) adds nothing and must not be
// refused; new content beyond the limit still is.
func TestDocumentBytesCountsOnlyWhatAnUpdateAdds(t *testing.T) {
	h := newHarness(t, Options{Limits: Limits{DocumentBytes: 1000}})
	a := h.dial("doc")
	a.insert(strings.Repeat("a", 600))
	b := h.dial("doc")
	waitText(t, strings.Repeat("a", 600), a, b)
	state := h.serverState("doc")
	if len(state) < 600 || 2*len(state) <= 1000 {
		t.Fatalf("state of %d bytes does not test the limit", len(state))
	}
	for range 3 {
		b.write(syncMessage(syncStep2, state))
	}
	b.insert("!") // a round trip after the three re-sends
	waitText(t, strings.Repeat("a", 600)+"!", a, b)
	if !b.isOpen() {
		t.Fatal("re-sending known content was refused")
	}
	b.insert(strings.Repeat("b", 600))
	b.expectClose(closeTooBig, reasonDocumentTooLarge)
}

func TestAwarenessClientsPerConnection(t *testing.T) {
	h := newHarness(t, Options{Limits: Limits{AwarenessClients: 2}})
	a, b := h.dial("doc"), h.dial("doc")
	a.write(awarenessMessage(awarenessEntry{client: 1, clock: 1, state: `{}`}, awarenessEntry{client: 2, clock: 1, state: `{}`}))
	a.write(awarenessMessage(awarenessEntry{client: 1, clock: 2, state: `{"x":1}`})) // an existing one: fine
	waitFor(t, "a's states at b", func() bool {
		var n int
		b.with(func(c *testClient) { n = len(c.awareness) })
		return n == 2
	})
	a.write(awarenessMessage(awarenessEntry{client: 3, clock: 1, state: `{}`}))
	a.expectClose(closePolicyViolation, reasonAwarenessClients)
	waitFor(t, "a's states to be removed at b", func() bool {
		var n int
		b.with(func(c *testClient) { n = len(c.awareness) })
		return n == 0
	})
	// One update repeating a client ID counts it once.
	c := h.dial("doc")
	c.write(awarenessMessage(awarenessEntry{client: 5, clock: 1, state: `{}`}, awarenessEntry{client: 5, clock: 2, state: `{}`}, awarenessEntry{client: 6, clock: 1, state: `{}`}))
	waitFor(t, "c's states at b", func() bool {
		var n int
		b.with(func(c *testClient) { n = len(c.awareness) })
		return n == 2
	})
	if !c.isOpen() {
		t.Error("c was closed")
	}
}

// TestPendingContentCountsAgainstDocumentBytes: updates whose dependencies
// never arrive are held pending, in memory but neither encoded nor
// stored; they count against the size limit, so that a client cannot grow
// a room without bound with them.
func TestPendingContentCountsAgainstDocumentBytes(t *testing.T) {
	h := newHarness(t, Options{Limits: Limits{DocumentBytes: 4000}})
	a, bad := h.dial("doc"), h.dial("doc")
	a.insert("base")
	waitText(t, "base", a, bad)
	for i := range 100 {
		_, second := twoUpdates(t, uint64(1000+i), strings.Repeat("p", 300))
		bad.write(syncMessage(syncUpdate, second)) // its first half never comes
		if !bad.isOpen() {
			break
		}
		time.Sleep(time.Millisecond)
	}
	bad.expectClose(closeTooBig, reasonDocumentTooLarge)
	if r := h.roomOf("doc"); r != nil {
		r.mu.Lock()
		pending := r.pendingBytes
		r.mu.Unlock()
		if pending == 0 || pending > 4000 {
			t.Errorf("pending bytes %d, want some, at most the limit", pending)
		}
	}
}

// twoUpdates returns two consecutive updates of a document of its own
// client: the second depends on the first.
func twoUpdates(t *testing.T, client uint64, s string) (first, second []byte) {
	t.Helper()
	d := crdt.NewDoc(crdt.Options{})
	d.SetClientID(client)
	var updates [][]byte
	d.OnUpdate(func(u []byte, _ any) { updates = append(updates, u) })
	edit(t, d, "x")
	edit(t, d, s)
	return updates[0], updates[1]
}
