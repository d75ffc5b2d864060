package sync

import (
	gosync "sync"
	"time"
)

// Returning memory to the operating system. The Go runtime collects
// garbage when the program allocates, lets the heap grow to twice what is
// live between collections (GOGC=100), and keeps the pages it frees for
// later allocations, giving back only what lies beyond that allowance, and
// slowly. Two moments leave a server holding megabytes it no longer needs
// while it allocates too little for the runtime to act:
//
//   - a hibernation sweep let live documents go (their Docs are several
//     times the size of their encoded state);
//   - a surge of connections settled. Every WebSocket handshake allocates
//     far more than the connection keeps (net/http's request and buffers,
//     the upgrade's); when thousands of clients arrive at once (a deploy,
//     a network blip: every client reconnects), their handshakes leave
//     about 3 KB of free heap per connection behind.
//
// After either, the server collects and returns the free pages at once
// (debug.FreeOSMemory: one full collection), at most every releaseEvery.
// Under traffic the heap grows back to the collector's allowance; an idle
// server stays at what is live.
const (
	// releaseMinBytes: a sweep that let documents of fewer encoded bytes
	// hibernate frees too little to be worth a collection.
	releaseMinBytes = 256 << 10
	// releaseEvery bounds how often the server returns memory.
	releaseEvery = 30 * time.Second
	// surgeMinConns connections arriving since the last release make a
	// surge; fewer leave too little behind to be worth a collection.
	surgeMinConns = 1000
	// surgeSettle is how long arrivals must pause before a surge counts
	// as over: returning pages while clients still arrive would only
	// hand them back to the runtime at once.
	surgeSettle = time.Second
)

// releaser decides when the server returns memory. Its methods are safe
// for concurrent use.
type releaser struct {
	mu          gosync.Mutex
	last        time.Time // of the last release
	arrivals    int       // connections accepted since the last release
	lastArrival time.Time
	timer       *time.Timer // armed from a surge until it settles
	stopped     bool

	// inFlight counts an armed timer or a running callback, so that
	// stop can wait for a collection under way.
	inFlight gosync.WaitGroup

	// Fixed at construction (releaseEvery, surgeMinConns, surgeSettle);
	// tests lower them.
	every    time.Duration
	surgeMin int
	settle   time.Duration
	free     func() // debug.FreeOSMemory
}

// arrived records an accepted connection, and arms the surge timer when
// the arrivals since the last release reach surgeMin.
func (r *releaser) arrived(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.arrivals++
	r.lastArrival = now
	if r.arrivals >= r.surgeMin && r.timer == nil && !r.stopped {
		r.inFlight.Add(1)
		r.timer = time.AfterFunc(r.settle, r.settled)
	}
}

// settled runs on the surge timer: once arrivals have paused for settle,
// and no release happened within releaseEvery, it returns memory;
// otherwise it waits for whichever comes later.
func (r *releaser) settled() {
	r.mu.Lock()
	if r.stopped || r.arrivals < r.surgeMin {
		// Stopped, or a sweep's release came first and covered the surge.
		r.timer = nil
		r.mu.Unlock()
		r.inFlight.Done()
		return
	}
	now := time.Now()
	wait := r.settle - now.Sub(r.lastArrival)
	if w := r.every - now.Sub(r.last); !r.last.IsZero() && w > wait {
		wait = w
	}
	if wait > 0 {
		r.timer.Reset(wait) // still in flight
		r.mu.Unlock()
		return
	}
	r.timer = nil
	r.last, r.arrivals = now, 0
	r.mu.Unlock()
	r.free()
	r.inFlight.Done()
}

// afterSweep runs after a hibernation sweep that let documents of slept
// encoded bytes hibernate. Called by the keep-alive loop only.
func (r *releaser) afterSweep(now time.Time, slept int) {
	if slept < releaseMinBytes {
		return
	}
	r.mu.Lock()
	if r.stopped || (!r.last.IsZero() && now.Sub(r.last) < r.every) {
		r.mu.Unlock()
		return
	}
	r.last, r.arrivals = now, 0
	r.mu.Unlock()
	r.free()
}

// stop disarms the surge timer and waits for a release under way.
func (r *releaser) stop() {
	r.mu.Lock()
	r.stopped = true
	if r.timer != nil && r.timer.Stop() {
		r.timer = nil
		r.inFlight.Done()
	}
	r.mu.Unlock()
	r.inFlight.Wait()
}
