package loadtest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"time"
)

// errIncomplete is counted when a client's sync lacks the room's document.
var errIncomplete = errors.New("sync step 2 lacks the seeded document")

// holdsDoc reports whether update contains the whole seeded document.
func holdsDoc(f *fixtures, update []byte) bool {
	ranges, err := clockEnds(update)
	if err != nil {
		return false
	}
	for _, cr := range ranges {
		if cr.client == f.docEnd.client && cr.end >= f.docEnd.end {
			return true
		}
	}
	return false
}

// seedRoom connects to room, writes the ~20 KB document into it and waits
// until the server has applied it: the answer to a sync step 1 sent after
// the update must hold it, since servers handle a connection's messages in
// order.
func seedRoom(ctx context.Context, cfg Config, f *fixtures, room string) (*client, error) {
	c, err := dial(ctx, cfg.URL, cfg.Protocol, room, 0, nil)
	if err != nil {
		return nil, err
	}
	c.start()
	err = func() error {
		ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		if _, err := c.awaitStep2(ctx); err != nil {
			return err
		}
		if err := c.send(syncMessage(syncUpdate, f.doc)); err != nil {
			return err
		}
		if err := c.send(syncMessage(syncStep1, []byte{0})); err != nil {
			return err
		}
		u, err := c.awaitStep2(ctx)
		if err != nil {
			return err
		}
		if !holdsDoc(f, u) {
			return errIncomplete
		}
		return nil
	}()
	if err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// runSeed stores the document in Rooms rooms and disconnects, for a
// cold-load after the server restarts.
func runSeed(ctx context.Context, cfg Config, f *fixtures, r *Result) error {
	errs := &errorCount{}
	m := startMeter(cfg.PID)
	seeders := seedAll(ctx, cfg, f, errs)
	closeAll(seeders)
	r.Connections = cfg.Rooms - errs.n
	r.record(m.stop())
	r.ConnectSec = r.WallSec
	errs.fill(r)
	if r.Connections == 0 {
		return fmt.Errorf("loadtest: no room could be seeded: %s", r.FirstError)
	}
	return nil
}

func seedAll(ctx context.Context, cfg Config, f *fixtures, errs *errorCount) []*client {
	seeders := make([]*client, cfg.Rooms)
	sem := make(chan struct{}, cfg.Dialers)
	done := make(chan struct{})
	for i := range cfg.Rooms {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; done <- struct{}{} }()
			c, err := seedRoom(ctx, cfg, f, cfg.room(i))
			if err != nil {
				errs.add(fmt.Errorf("seeding room %d: %w", i, err))
				return
			}
			seeders[i] = c
		}()
	}
	for range cfg.Rooms {
		<-done
	}
	return seeders
}

// pauseGC turns the load generator's garbage collector off until the
// returned function is called, unless its heap reaches stormHeapLimit: a
// collection during a storm would count, on the load generator's core, in
// the times it measures. What a storm allocates is bounded by Clients
// times the document, a few MB.
func pauseGC() (restore func()) {
	limit := debug.SetMemoryLimit(stormHeapLimit)
	percent := debug.SetGCPercent(-1)
	return func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	}
}

// stormHeapLimit bounds the load generator's heap while its collector is
// paused.
const stormHeapLimit = 1 << 30

// stormHeapWarm is what warmHeap warms beyond what the clients' documents
// take: the connections' buffers and state.
const stormHeapWarm = 16 << 20

// warmHeap has the heap take and touch size bytes and free them again:
// what a storm allocates while the collector is paused then lands on
// pages the kernel has mapped already, instead of faulting each new page
// in on the load generator's clock (a seventh of its time in a storm).
// The runtime keeps freed pages while the collector is off.
func warmHeap(size int) {
	const chunk, page = 64 << 10, 4 << 10
	hold := make([][]byte, 0, size/chunk)
	for range size / chunk {
		b := make([]byte, chunk)
		for i := 0; i < len(b); i += page {
			b[i] = 1
		}
		hold = append(hold, b)
	}
	runtime.KeepAlive(hold)
	runtime.GC()
}

// runJoin has Clients clients join Rooms rooms (client i joins room
// i % Rooms) all at once, and times each until its sync step 2 holds the
// room's document. With seed, the rooms are first given the document by
// one connection each, which stays open (servers that keep documents only
// in memory drop a room its last member leaves); the memory that took is
// reported per room, and per document: less what as many rooms without a
// document, one connection each, took. Without, the rooms must hold it already (cold-load:
// seeded before a restart).
func runJoin(ctx context.Context, cfg Config, f *fixtures, r *Result, seed bool) error {
	errs := &errorCount{}
	if seed {
		// The baseline: as many rooms without a document, one
		// connection each.
		m := startMeter(cfg.PID)
		blank := cfg
		blank.Prefix += "blank-"
		blanks, _, _ := connectSynced(ctx, cfg.Rooms, cfg.Dialers, errs, false, func(i int) (*client, error) {
			return dial(ctx, cfg.URL, cfg.Protocol, blank.room(i), 0, nil)
		})
		defer func() { closeAll(blanks) }()
		time.Sleep(time.Second)
		base := m.stop()

		m = startMeter(cfg.PID)
		seeders := seedAll(ctx, cfg, f, errs)
		defer closeAll(seeders)
		// Let the documents be idle, and a garbage-collected server
		// settle, before its memory is read.
		time.Sleep(cfg.Settle)
		p := m.stop()
		if errs.n > 0 {
			errs.fill(r)
			return fmt.Errorf("loadtest: seeding failed: %s", r.FirstError)
		}
		if p.Measured {
			r.BytesPerRoom = p.ServerRSSGrew / int64(cfg.Rooms)
			r.BytesPerDoc = (p.ServerRSSGrew - base.ServerRSSGrew) / int64(cfg.Rooms)
		}
	}
	warmHeap(stormHeapWarm + cfg.Clients*len(f.doc)*4)
	m := startMeter(cfg.PID)
	restoreGC := pauseGC()
	clients, took, step2s := connectSynced(ctx, cfg.Clients, cfg.Clients, errs, true, func(i int) (*client, error) {
		return dial(ctx, cfg.URL, cfg.Protocol, cfg.room(i%cfg.Rooms), awarenessID(cfg, i), nil)
	})
	restoreGC()
	r.ConnectSec = time.Since(m.start).Seconds()
	r.record(m.stop())
	defer func() { closeAll(clients) }()
	// Checked after the clock (and the CPU meters) stopped.
	for i, u := range step2s {
		if clients[i] != nil && !holdsDoc(f, u) {
			errs.add(fmt.Errorf("connection %d: %w", i, errIncomplete))
			clients[i].close()
			clients[i] = nil
		}
	}
	r.Latency = quantiles(synced(clients, took))
	r.Connections = r.Latency.N
	countDropped(clients, errs)
	errs.fill(r)
	return nil
}
