package sync

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestIdleRoomIsUnloaded(t *testing.T) {
	h := newHarness(t, Options{UnloadDelay: 50 * time.Millisecond})
	a := h.dial("doc")
	keep := h.dial("other") // a room that stays in use
	a.insert("kept")
	keep.insert("busy")
	waitFor(t, "the edits to be stored", func() bool { return h.store.get(func(s *faultStore) int { return s.appends }) == 2 })
	a.close()

	waitFor(t, "the room to unload", func() bool { return h.roomOf("doc") == nil })
	if h.store.get(func(s *faultStore) int { return s.flushes }) == 0 {
		t.Error("unloaded without a flush")
	}
	time.Sleep(100 * time.Millisecond)
	if h.roomOf("other") == nil {
		t.Error("a room with a member was unloaded")
	}
	if st := h.stats(); st.Rooms != 1 || st.Connections != 1 {
		t.Errorf("Stats = %+v, want 1 room, 1 connection", st)
	}

	// The next connection loads it from the store again.
	b := h.dial("doc")
	waitText(t, "kept", b)
	if n := h.store.get(func(s *faultStore) int { return s.loads["doc"] }); n != 2 {
		t.Errorf("%d loads, want 2", n)
	}
}

func TestReturningClientCancelsUnload(t *testing.T) {
	h := newHarness(t, Options{UnloadDelay: 300 * time.Millisecond})
	a := h.dial("doc")
	a.insert("x")
	waitFor(t, "a member", func() bool { return h.members("doc") == 1 })
	a.close()
	waitFor(t, "no member", func() bool { return h.members("doc") == 0 && h.stats().Connections == 0 })
	b := h.dial("doc")
	waitText(t, "x", b)
	time.Sleep(500 * time.Millisecond) // past the first unload's delay
	if h.roomOf("doc") == nil {
		t.Fatal("room unloaded under a member")
	}
	if n := h.store.get(func(s *faultStore) int { return s.loads["doc"] }); n != 1 {
		t.Errorf("%d loads, want 1", n)
	}
}

func TestUnloadWaitsForSuccessfulFlush(t *testing.T) {
	store := &flakyFlushStore{faultStore: newFaultStore(), fail: true}
	h := newHarness(t, Options{Store: store, UnloadDelay: 20 * time.Millisecond})
	a := dial(t, h.base, "doc", clientOptions{})
	a.insert("x")
	a.close()
	waitFor(t, "failed flushes", func() bool { return store.failures() >= 2 })
	if h.srv.Stats().Rooms != 1 {
		t.Fatal("unloaded although the flush failed")
	}
	store.setFail(false)
	waitFor(t, "the room to unload", func() bool { return h.srv.Stats().Rooms == 0 })
}

// flakyFlushStore fails Flush while fail is set (except during shutdown,
// which the harness checks).
type flakyFlushStore struct {
	*faultStore
	fail   bool
	failed int
}

func (s *flakyFlushStore) Flush(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		s.failed++
		return errors.New("flush failed")
	}
	return nil
}

func (s *flakyFlushStore) failures() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}

func (s *flakyFlushStore) setFail(v bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = v
}

func TestShutdown(t *testing.T) {
	h := newHarness(t, Options{})
	a, b := h.dial("one"), h.dial("two")
	a.insert("x")
	b.insert("y")
	waitFor(t, "the edits to be stored", func() bool { return h.store.get(func(s *faultStore) int { return s.appends }) == 2 })
	flushes := h.store.get(func(s *faultStore) int { return s.flushes })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	a.expectClose(closeGoingAway, reasonShutdown)
	b.expectClose(closeGoingAway, reasonShutdown)
	if h.store.get(func(s *faultStore) int { return s.flushes }) <= flushes {
		t.Error("Shutdown did not flush the store")
	}
	if st := h.stats(); st.Connections != 0 || st.Rooms != 0 {
		t.Errorf("Stats = %+v after Shutdown", st)
	}
	if got := h.handshakeStatus("/ws/one", nil); got != http.StatusServiceUnavailable {
		t.Errorf("after Shutdown: HTTP %d, want 503", got)
	}
}

func TestShutdownDuringLoad(t *testing.T) {
	h := newHarness(t, Options{})
	h.store.set(func(s *faultStore) { s.loadGate = make(chan struct{}) }) // never opens
	a := h.dial("doc")
	waitFor(t, "the load to start", func() bool { return h.store.get(func(s *faultStore) int { return s.loads["doc"] }) == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	a.expectClose(closeGoingAway, reasonShutdown)
}

func TestShutdownDropsPeersThatDoNotClose(t *testing.T) {
	h := newHarness(t, Options{WriteTimeout: time.Minute})
	h.dialWith("doc", clientOptions{noRead: true}) // never answers the close frame
	waitFor(t, "the member", func() bool { return h.members("doc") == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	if err := h.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("Shutdown took %v", d)
	}
	if h.stats().Connections != 0 {
		t.Error("connection left open")
	}
}

func TestShutdownTimesOut(t *testing.T) {
	store := &blockingFlushStore{faultStore: newFaultStore(), release: make(chan struct{})}
	h := newHarness(t, Options{Store: store})
	h.dial("doc")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := h.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown: %v, want the context's error", err)
	}
	close(store.release)
}

type blockingFlushStore struct {
	*faultStore
	release chan struct{}
}

func (s *blockingFlushStore) Flush(ctx context.Context) error {
	select {
	case <-s.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestIdleMembersGetKeepalives(t *testing.T) {
	h := newHarness(t, Options{PingInterval: 100 * time.Millisecond})
	a := h.dial("doc")
	start := time.Now()
	waitFor(t, "keep-alives", func() bool {
		n := 0
		a.with(func(c *testClient) { n = c.keepalive })
		return n >= 3
	})
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("3 keep-alives within %v at a 100ms interval", d)
	}
	if !a.isOpen() {
		t.Error("connection closed")
	}
}
