package sync

import (
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingReleaser is a releaser whose releases are counted instead of
// collecting.
func countingReleaser(every time.Duration, surgeMin int, settle time.Duration) (*releaser, *atomic.Int32) {
	var n atomic.Int32
	return &releaser{every: every, surgeMin: surgeMin, settle: settle, free: func() { n.Add(1) }}, &n
}

// TestReleaseAfterSurge: connections arriving over real sockets make a
// surge once there are surgeMin of them; the memory goes back once they
// pause, once, and a later connection alone does not make a new surge.
func TestReleaseAfterSurge(t *testing.T) {
	h := newHarness(t, Options{})
	r, released := countingReleaser(time.Hour, 3, 30*time.Millisecond)
	h.srv.memRelease.mu.Lock()
	h.srv.memRelease.every, h.srv.memRelease.surgeMin = r.every, r.surgeMin
	h.srv.memRelease.settle, h.srv.memRelease.free = r.settle, r.free
	h.srv.memRelease.mu.Unlock()

	a, b := h.dial("doc"), h.dial("doc")
	a.insert("x")
	waitText(t, "x", b)
	time.Sleep(90 * time.Millisecond) // three settle periods
	if n := released.Load(); n != 0 {
		t.Fatalf("released %d times after 2 connections, want 0 (surge is 3)", n)
	}
	h.dial("other")
	waitFor(t, "a release after the third connection", func() bool { return released.Load() == 1 })
	h.dial("doc")
	time.Sleep(90 * time.Millisecond)
	if n := released.Load(); n != 1 {
		t.Fatalf("released %d times, want 1: a fourth connection alone is no surge", n)
	}
}

// TestReleaseWaitsForArrivalsToPause: while connections keep arriving
// within the settle time, nothing is released; the release comes at least
// the settle time after the arrival before it.
func TestReleaseWaitsForArrivalsToPause(t *testing.T) {
	var mu gosync.Mutex
	var arrivals []time.Time
	var releasedAt time.Time
	r := &releaser{every: time.Hour, surgeMin: 2, settle: 40 * time.Millisecond, free: func() {
		mu.Lock()
		releasedAt = time.Now()
		mu.Unlock()
	}}
	defer r.stop()
	for start := time.Now(); time.Since(start) < 200*time.Millisecond; {
		now := time.Now()
		mu.Lock()
		arrivals = append(arrivals, now)
		mu.Unlock()
		r.arrived(now)
		time.Sleep(5 * time.Millisecond)
	}
	waitFor(t, "the release after arrivals paused", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return !releasedAt.IsZero()
	})
	mu.Lock()
	defer mu.Unlock()
	var before time.Time // the last arrival before the release
	for _, a := range arrivals {
		if a.Before(releasedAt) {
			before = a
		}
	}
	if gap := releasedAt.Sub(before); gap < r.settle {
		t.Fatalf("released %v after an arrival, before the settle time %v", gap, r.settle)
	}
	if len(arrivals) < 10 {
		t.Fatalf("only %d arrivals: the test did not make a surge that lasted", len(arrivals))
	}
}

// TestReleaseRateLimit: a surge right after a release waits for the rest
// of the interval; a hibernation sweep's release counts as one too, and
// covers a surge under way.
func TestReleaseRateLimit(t *testing.T) {
	r, released := countingReleaser(150*time.Millisecond, 2, 10*time.Millisecond)
	defer r.stop()
	r.afterSweep(time.Now(), releaseMinBytes-1)
	if released.Load() != 0 {
		t.Fatal("a sweep that freed less than releaseMinBytes released memory")
	}
	r.afterSweep(time.Now(), releaseMinBytes)
	if released.Load() != 1 {
		t.Fatal("a sweep that freed releaseMinBytes did not release memory")
	}
	first := time.Now()
	r.arrived(time.Now())
	r.arrived(time.Now())
	waitFor(t, "the surge's release", func() bool { return released.Load() == 2 })
	if since := time.Since(first); since < r.every-20*time.Millisecond {
		t.Fatalf("second release %v after the first, within the interval %v", since, r.every)
	}
	r.afterSweep(time.Now(), releaseMinBytes)
	if released.Load() != 2 {
		t.Fatal("a sweep released memory within the interval of the last release")
	}

	// A surge arms the timer; a sweep's release, once the interval has
	// passed, covers it: the timer then finds too few arrivals.
	r2, released2 := countingReleaser(20*time.Millisecond, 2, 60*time.Millisecond)
	defer r2.stop()
	r2.arrived(time.Now())
	r2.arrived(time.Now())
	r2.afterSweep(time.Now(), releaseMinBytes)
	time.Sleep(150 * time.Millisecond)
	if n := released2.Load(); n != 1 {
		t.Fatalf("released %d times, want 1: the sweep's release covers the surge", n)
	}
}

// TestReleaseStop: stop disarms a pending surge timer, and a surge after
// stop arms nothing.
func TestReleaseStop(t *testing.T) {
	r, released := countingReleaser(time.Hour, 1, 20*time.Millisecond)
	r.arrived(time.Now())
	r.stop()
	r.arrived(time.Now())
	time.Sleep(80 * time.Millisecond)
	if n := released.Load(); n != 0 {
		t.Fatalf("released %d times after stop", n)
	}
	r.afterSweep(time.Now(), releaseMinBytes)
	if n := released.Load(); n != 0 {
		t.Fatal("a sweep released memory after stop")
	}
}
