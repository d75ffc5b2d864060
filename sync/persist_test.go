package sync

import (
	"bytes"
	"context"
	"errors"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/quirehq/quire/crdt"
)

// slowStore is a faultStore whose Append waits: for gate to open while one
// is set (the context cuts the wait short), then for delay. It records the
// order of Append and Flush calls, and can run a hook at the start of each
// Append.
type slowStore struct {
	*faultStore

	smu     gosync.Mutex
	gate    chan struct{}
	delay   time.Duration
	hook    func()
	started int      // Append calls started
	ops     []string // "append" or "flush", as each call returned successfully
}

func newSlowStore() *slowStore { return &slowStore{faultStore: newFaultStore()} }

func (s *slowStore) Append(ctx context.Context, name string, update []byte) error {
	s.smu.Lock()
	s.started++
	gate, delay, hook := s.gate, s.delay, s.hook
	s.smu.Unlock()
	if hook != nil {
		hook()
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
	if err := s.faultStore.Append(ctx, name, update); err != nil {
		return err
	}
	s.record("append")
	return nil
}

func (s *slowStore) Flush(ctx context.Context) error {
	if err := s.faultStore.Flush(ctx); err != nil {
		return err
	}
	s.record("flush")
	return nil
}

func (s *slowStore) record(op string) {
	s.smu.Lock()
	defer s.smu.Unlock()
	s.ops = append(s.ops, op)
}

// stuck sets a closed gate on Append and returns the function that opens
// it, which also runs when the test ends (before the server's shutdown).
func (s *slowStore) stuck(t testing.TB) (open func()) {
	gate := make(chan struct{})
	s.setGate(gate)
	var once gosync.Once
	open = func() { once.Do(func() { close(gate) }) }
	t.Cleanup(open)
	return open
}

func (s *slowStore) setGate(gate chan struct{}) {
	s.smu.Lock()
	defer s.smu.Unlock()
	s.gate = gate
}

func (s *slowStore) appendsStarted() int {
	s.smu.Lock()
	defer s.smu.Unlock()
	return s.started
}

func (s *slowStore) appendsDone() int {
	s.smu.Lock()
	defer s.smu.Unlock()
	n := 0
	for _, op := range s.ops {
		if op == "append" {
			n++
		}
	}
	return n
}

func (s *slowStore) lastOp() string {
	s.smu.Lock()
	defer s.smu.Unlock()
	if len(s.ops) == 0 {
		return ""
	}
	return s.ops[len(s.ops)-1]
}

// storedText returns the text of document name as stored in s (read
// without counting as a Load).
func storedText(t testing.TB, s *faultStore, name string) string {
	t.Helper()
	stored, err := s.inner.Load(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	doc := crdt.NewDoc(crdt.Options{})
	if stored == nil {
		return ""
	}
	if err := doc.ApplyUpdate(stored, nil); err != nil {
		t.Fatal(err)
	}
	text, err := doc.Text("text")
	if err != nil {
		t.Fatal(err)
	}
	return text.String()
}

// unsaved returns the room's count of updates not stored yet.
func (r *room) unsaved() (updates, bytes int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.unsavedUpdates, r.unsavedBytes
}

// burst sends n updates of one character each, as n messages, without
// waiting: a client replaying a long offline session without batching.
func burst(c *testClient, n int, ch byte) string {
	for range n {
		c.insert(string(ch))
	}
	return strings.Repeat(string(ch), n)
}

// A client sending thousands of updates while the store is stuck keeps its
// connection (its pongs are read although nothing is durable for longer
// than the read deadline), the other member gets every update at once, and
// the backlog is stored in a couple of Appends once the store moves.
func TestBurstOverStuckStore(t *testing.T) {
	store := newSlowStore()
	// PongWait = 2×250ms + 1s (long enough for the server to read the
	// whole burst, in front of the sender's pongs in its socket, under
	// -race on a loaded machine); the store stays stuck for more than
	// twice that once the burst has been read.
	h := newHarness(t, Options{Store: store, PingInterval: 250 * time.Millisecond, WriteTimeout: time.Second, SendQueue: 8192})
	open := store.stuck(t)
	sender, watcher := h.dial("doc"), h.dial("doc")
	waitFor(t, "two members", func() bool { return h.members("doc") == 2 })

	const n = 3000
	start := time.Now()
	want := burst(sender, n, 'x')
	waitText(t, want, watcher)
	t.Logf("%d updates reached the other member in %v, none stored", n, time.Since(start).Round(time.Millisecond))
	if got := store.appendsDone(); got != 0 {
		t.Fatalf("%d appends done through a closed gate", got)
	}
	time.Sleep(3500 * time.Millisecond) // more than two read deadlines
	if !sender.isOpen() || !watcher.isOpen() {
		t.Fatal("a connection was dropped while the store was stuck")
	}
	// Still reading: a new edit goes through at once.
	sender.insert("y")
	waitText(t, want+"y", watcher)

	open()
	waitFor(t, "the backlog to be stored", func() bool { return !h.roomOf("doc").persisting() })
	if got := storedText(t, store.faultStore, "doc"); got != want+"y" {
		t.Fatalf("stored %d chars, want %d", len(got), n+1)
	}
	// The first update was stuck alone, the rest queued behind it: a
	// handful of Appends, not thousands.
	if got := store.appendsStarted(); got > 5 {
		t.Errorf("%d Appends for %d updates", got, n+1)
	}
	if st := h.stats(); st.Backpressure != 0 {
		t.Errorf("Stats = %+v: backpressure below the limits", st)
	}
	if !sender.isOpen() || !watcher.isOpen() {
		t.Error("a connection was dropped")
	}
}

// Updates queued while an Append is in progress are stored together, in one
// Append of their merge.
func TestQueuedUpdatesAreMergedIntoOneAppend(t *testing.T) {
	store := newSlowStore()
	h := newHarness(t, Options{Store: store})
	open := store.stuck(t)
	a := h.dial("doc")
	b := h.dial("doc")
	waitFor(t, "two members", func() bool { return h.members("doc") == 2 })

	const n = 200
	a.insert("z")
	waitFor(t, "the first Append to start", func() bool { return store.appendsStarted() == 1 })
	want := "z"
	for i := 1; i < n; i++ {
		c := a
		if i%2 == 1 {
			c = b
		}
		c.insert("z")
		want += "z"
	}
	r := h.roomOf("doc")
	waitFor(t, "every update to be queued", func() bool { u, _ := r.unsaved(); return u == n })
	if got := store.appendsStarted(); got != 1 {
		t.Fatalf("%d Appends started, want the first one only (stuck)", got)
	}
	open()
	waitFor(t, "the queue to be stored", func() bool { return !r.persisting() })
	if got := store.appendsDone(); got != 2 {
		t.Errorf("%d Appends for %d updates, want 2 (the first, then the merge of the rest)", got, n)
	}
	if got := storedText(t, store.faultStore, "doc"); got != want {
		t.Errorf("stored %q, want %q", got, want)
	}
	if u, b := r.unsaved(); u != 0 || b != 0 {
		t.Errorf("unsaved %d updates, %d bytes after the queue was stored", u, b)
	}
	// The stored document is the room's.
	stored, err := store.inner.Load(t.Context(), "doc")
	if err != nil {
		t.Fatal(err)
	}
	fresh := crdt.NewDoc(crdt.Options{})
	if err := fresh.ApplyUpdate(stored, nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fresh.EncodeStateVector(), h.roomSV("doc")) {
		t.Error("stored state vector differs from the room's")
	}
}

// Past the backlog limit, senders wait for the store: the backlog stays
// bounded, the connection stays up, and everything is stored.
func TestBackpressureBoundsTheBacklog(t *testing.T) {
	store := newSlowStore()
	store.delay = 5 * time.Millisecond
	// Default ping interval: the store is so slow here (8 updates per
	// 5 ms) that the sender's pong, behind its burst in the socket, is
	// read only after most of it.
	h := newHarness(t, Options{Store: store, SendQueue: 8192})
	const limit, batch = 50, 8
	h.srv.maxUnsavedUpdates = limit
	h.srv.maxBatchUpdates = batch
	sender, watcher := h.dial("doc"), h.dial("doc")
	waitFor(t, "two members", func() bool { return h.members("doc") == 2 })
	r := h.roomOf("doc")
	var mu gosync.Mutex
	peak := 0
	store.smu.Lock()
	store.hook = func() {
		u, _ := r.unsaved()
		mu.Lock()
		peak = max(peak, u)
		mu.Unlock()
	}
	store.smu.Unlock()

	const n = 1000
	want := burst(sender, n, 'b')
	waitText(t, want, watcher)
	waitFor(t, "the backlog to be stored", func() bool { return !r.persisting() })
	if got := storedText(t, store.faultStore, "doc"); got != want {
		t.Fatalf("stored %d chars, want %d", len(got), n)
	}
	mu.Lock()
	defer mu.Unlock()
	// One sender: it stops after the update that crossed the limit.
	if peak > limit+1 || peak <= batch {
		t.Errorf("peak backlog of %d updates, want within (%d, %d]", peak, batch, limit+1)
	}
	if st := h.stats(); st.Backpressure == 0 {
		t.Errorf("Stats = %+v: no backpressure", st)
	}
	if got, min := store.appendsStarted(), n/batch; got < min || got > n/2 {
		t.Errorf("%d Appends for %d updates in batches of at most %d", got, n, batch)
	}
	if !sender.isOpen() || !watcher.isOpen() {
		t.Error("a connection was dropped")
	}
	if !h.logs.contains("pausing reads") {
		t.Error("the pause was not logged")
	}
}

// A failed Append of a batch fails the room even with senders waiting for
// the backlog: they are released, every member is closed with 1011, the
// queue is dropped, and the document is reloaded from storage; the client
// gives back what was lost.
func TestQueuedAppendFailure(t *testing.T) {
	store := newSlowStore()
	h := newHarness(t, Options{Store: store, SendQueue: 8192})
	h.srv.maxUnsavedUpdates = 20
	doc := crdt.NewDoc(crdt.Options{})
	sender, watcher := h.dialWith("doc", clientOptions{doc: doc}), h.dial("doc")
	sender.insert("saved ")
	waitFor(t, "the first edit to be stored", func() bool { return store.appendsDone() == 1 })

	open := store.stuck(t)
	want := "saved " + burst(sender, 100, 'l') // the sender waits after 21
	r := h.roomOf("doc")
	waitFor(t, "the backlog to reach the limit", func() bool { u, _ := r.unsaved(); return u > 20 })
	store.set(func(s *faultStore) { s.appendErr = errors.New("disk full") })
	open()

	sender.expectClose(closeInternalError, reasonUnavailable)
	watcher.expectClose(closeInternalError, reasonUnavailable)
	waitFor(t, "the room to be dropped", func() bool { return h.stats().Rooms == 0 && h.stats().Connections == 0 })
	waitFor(t, "the persister to stop", func() bool { return !r.persisting() })
	if !h.logs.contains("disk full") {
		t.Error("the append failure was not logged")
	}
	if got := storedText(t, store.faultStore, "doc"); got != "saved " {
		t.Errorf("stored %q, want %q", got, "saved ")
	}

	store.set(func(s *faultStore) { s.appendErr = nil })
	store.setGate(nil)
	fresh := h.dial("doc")
	waitText(t, "saved ", fresh)
	back := h.dialWith("doc", clientOptions{doc: doc})
	waitText(t, want, back, fresh)
	waitFor(t, "the returned edits to be stored", func() bool { return storedText(t, store.faultStore, "doc") == want })
	if n := store.get(func(s *faultStore) int { return s.loads["doc"] }); n != 2 {
		t.Errorf("%d loads, want 2", n)
	}
}

// Shutdown stores what is queued, then flushes the store.
func TestShutdownStoresTheQueue(t *testing.T) {
	store := newSlowStore()
	h := newHarness(t, Options{Store: store, SendQueue: 8192})
	open := store.stuck(t)
	a := h.dial("doc")
	want := burst(a, 500, 's')
	waitFor(t, "the updates to be queued", func() bool {
		r := h.roomOf("doc") // nil until the server has joined a to it
		if r == nil {
			return false
		}
		u, _ := r.unsaved()
		return u == 500
	})

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- h.srv.Shutdown(ctx)
	}()
	a.expectClose(closeGoingAway, reasonShutdown)
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned (%v) with the queue not stored", err)
	case <-time.After(100 * time.Millisecond):
	}
	open()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := storedText(t, store.faultStore, "doc"); got != want {
		t.Errorf("stored %d chars, want %d", len(got), len(want))
	}
	if op := store.lastOp(); op != "flush" {
		t.Errorf("last store call %q, want the flush after the appends", op)
	}
}

// A store that never finishes an Append makes Shutdown give up at its
// deadline; the persister then ends (its Append is cancelled).
func TestShutdownTimesOutOnStuckQueue(t *testing.T) {
	store := newSlowStore()
	h := newHarness(t, Options{Store: store})
	store.stuck(t) // opens only once the test is over
	a := h.dial("doc")
	a.insert("stuck")
	waitFor(t, "the Append to start", func() bool { return store.appendsStarted() == 1 })
	r := h.roomOf("doc")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := h.srv.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "storing queued updates") {
		t.Errorf("Shutdown: %v, want the context's error while storing", err)
	}
	waitFor(t, "the persister to stop", func() bool { return !r.persisting() })
}

// An idle room is unloaded only once its queue is stored: a reload must
// not miss an update a client sent before leaving.
func TestUnloadWaitsForTheQueue(t *testing.T) {
	store := newSlowStore()
	h := newHarness(t, Options{Store: store, UnloadDelay: 10 * time.Millisecond})
	open := store.stuck(t)
	a := h.dial("doc")
	a.insert("sent before leaving")
	waitFor(t, "the Append to start", func() bool { return store.appendsStarted() == 1 })
	a.close()
	waitFor(t, "no connection", func() bool { return h.stats().Connections == 0 })
	time.Sleep(100 * time.Millisecond) // many UnloadDelays
	if h.roomOf("doc") == nil {
		t.Fatal("unloaded with its queue not stored")
	}
	if n := store.get(func(s *faultStore) int { return s.flushes }); n != 0 {
		t.Errorf("%d flushes before the queue was stored", n)
	}
	open()
	waitFor(t, "the room to unload", func() bool { return h.roomOf("doc") == nil })
	if op := store.lastOp(); op != "flush" {
		t.Errorf("last store call %q, want a flush before unloading", op)
	}
	b := h.dial("doc")
	waitText(t, "sent before leaving", b)
}

// In a busy room, updates applied while a timed broadcast is due are
// stored by that broadcast's goroutine, once its window ends, in one
// Append: not one persister (and Append) per update. They count as
// unsaved all along, and Shutdown waits for them.
func TestTimedBroadcastStoresItsWindow(t *testing.T) {
	const window = 300 * time.Millisecond
	store := newSlowStore()
	h := newHarness(t, Options{Store: store, BroadcastWindow: window, MaxBroadcastWindow: window})
	a := h.dial("doc")
	b := h.dial("doc")
	waitFor(t, "two members", func() bool { return h.members("doc") == 2 })
	r := h.roomOf("doc")

	a.insert("x") // a quiet room: broadcast and stored at once
	waitText(t, "x", b)
	waitFor(t, "the first update to be stored", func() bool { return store.appendsDone() == 1 && !r.persisting() })

	const n = 50
	want := "x" + burst(a, n, 'y')
	waitFor(t, "the burst to be applied", func() bool { u, _ := r.unsaved(); return u == n })
	if !r.persisting() {
		t.Error("the burst waiting for its broadcast does not count as persisting")
	}
	if got := store.appendsStarted(); got != 1 {
		t.Errorf("%d Appends started before the window ended, want 1 (the first update's)", got)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := h.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if got := storedText(t, store.faultStore, "doc"); got != want {
		t.Errorf("stored %q, want %q", got, want)
	}
	if got := store.appendsDone(); got != 2 {
		t.Errorf("%d Appends, want 2: the first update, then the window's %d", got, n)
	}
}
