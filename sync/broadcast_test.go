package sync

import (
	"testing"
	"time"
)

// TestBroadcastMergesUpdates holds a broadcast in progress (the room's
// sendMu) while two members send updates: those queue in the outbox and go
// out together, as one merged message per member (their senders get it
// too), and every member converges.
func TestBroadcastMergesUpdates(t *testing.T) {
	h := newHarness(t, Options{})
	a, b, c := h.dial("doc"), h.dial("doc"), h.dial("doc")
	count := func(cl *testClient) int {
		cl.mu.Lock()
		defer cl.mu.Unlock()
		return cl.messages
	}
	// Every client has its sync step 2, sent after the server's step 1:
	// the opening messages are all in.
	waitFor(t, "the initial syncs", func() bool {
		for _, cl := range []*testClient{a, b, c} {
			cl.mu.Lock()
			n := cl.step2
			cl.mu.Unlock()
			if n == 0 {
				return false
			}
		}
		return true
	})
	a.insert("a1")
	waitText(t, "a1", a, b, c)
	before := map[*testClient]int{a: count(a), b: count(b), c: count(c)}

	r := h.roomOf("doc")
	r.sendMu.Lock()
	b.insert("b1")
	c.insert("c1")
	queued := func() int {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.out.updates)
	}
	waitFor(t, "both updates in the outbox", func() bool { return queued() == 2 })
	r.sendMu.Unlock()

	want := "a1b1c1"
	if got := waitConverged(t, []string{"a1", "b1", "c1"}, a, b, c); len(got) != len(want) {
		t.Fatalf("text %q", got)
	}
	// One merged message each.
	for cl, name := range map[*testClient]string{a: "a", b: "b", c: "c"} {
		if got := count(cl) - before[cl]; got != 1 {
			t.Errorf("%s received %d messages, want 1", name, got)
		}
	}
	if q := queued(); q != 0 {
		t.Errorf("%d updates left in the outbox", q)
	}
}

// TestBroadcastWindow: an update to a quiet room goes out at once; updates
// that follow within BroadcastWindow wait for the window's end and go out
// together, as one message.
func TestBroadcastWindow(t *testing.T) {
	h := newHarness(t, Options{BroadcastWindow: 400 * time.Millisecond})
	a, b := h.dial("doc"), h.dial("doc")
	waitFor(t, "the initial syncs", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.step2 > 0
	})
	a.insert("x")
	waitText(t, "x", b) // the first broadcast leaves the room quiet no longer
	b.mu.Lock()
	before := b.messages
	b.mu.Unlock()
	a.insert("y")
	a.insert("z")
	waitFor(t, "both updates in the outbox", func() bool {
		r := h.roomOf("doc")
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.out.updates) == 2
	})
	waitText(t, "xyz", b)
	b.mu.Lock()
	got := b.messages - before
	b.mu.Unlock()
	if got != 1 {
		t.Errorf("b received %d messages for two updates in one window, want 1", got)
	}
}

// TestBroadcastWindowAdapts: the window doubles with each batch that has
// to wait, up to the longest, and falls back to the shortest after a
// window without a broadcast.
func TestBroadcastWindowAdapts(t *testing.T) {
	const shortest, longest = time.Millisecond, 8 * time.Millisecond
	var o outbox
	now := time.Unix(1000, 0)
	step := func(after time.Duration, wantDelay, wantWindow time.Duration) {
		t.Helper()
		now = now.Add(after)
		d := o.delay(now, shortest, longest)
		if d != wantDelay || o.window != wantWindow {
			t.Fatalf("after %v: delay %v window %v, want %v and %v", after, d, o.window, wantDelay, wantWindow)
		}
		o.last = now.Add(d) // the batch goes out when its delay ends
		now = o.last
	}
	step(0, 0, shortest) // a quiet room: at once
	step(100*time.Microsecond, 1900*time.Microsecond, 2*time.Millisecond)
	step(100*time.Microsecond, 3900*time.Microsecond, 4*time.Millisecond)
	step(100*time.Microsecond, 7900*time.Microsecond, longest)
	step(100*time.Microsecond, 7900*time.Microsecond, longest) // capped
	step(longest, 0, shortest)                                 // a quiet window: back to at once
	step(500*time.Microsecond, 1500*time.Microsecond, 2*time.Millisecond)
}
