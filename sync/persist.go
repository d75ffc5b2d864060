package sync

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/quirehq/quire/crdt"
)

// Persistence: each room has a queue of the updates applied to its
// document that are not stored yet. Connections queue their changes and go
// on reading; the room's persister, a goroutine that runs while the queue
// is not empty, takes everything queued, merges it into one update
// (crdt.MergeUpdates, at the byte level) and stores it with one
// Store.Append, as many times as it takes to empty the queue. A client
// sending faster than the disk commits therefore costs one commit per batch
// instead of one per message, and its pongs are never stuck behind the
// disk.
//
// An update queued while the room's next broadcast is already due
// (broadcast.go) does not start the persister: the broadcast does, once
// its sends are done, on its own goroutine when it ran from the window's
// timer. A hot room, whose broadcasts each carry a window's updates, thus
// starts one persister per window rather than one goroutine per update
// (with a fast store, each of those stored one update and ended), and
// stores a window's updates in one Append. The persister still runs
// within a window of the update, and the update counts as unsaved
// (persisting, waitPersisted, the limits below) from the moment it is
// queued.
//
// The queue is bounded: while a room's unsaved updates (queued or being
// stored) exceed maxUnsavedBytes or maxUnsavedUpdates, the connections that
// send to it wait after each update until the persister has caught up:
// backpressure on the senders rather than memory without bound. A wait
// lasts about one or two commits, far below the read deadline.
//
// Yjs updates commute and applying one twice is harmless, so batches need
// no particular order. A failed Append fails the room (room.fail): its
// members are closed with 1011, what is still queued is dropped, and the
// next connection reloads the document from storage. A room is unloaded
// only once its queue is empty, and Shutdown waits for every queue before
// it flushes the store.

// Defaults of the persistence limits (Server fields of the same names).
const (
	// defaultMaxUnsavedBytes and defaultMaxUnsavedUpdates bound a room's
	// unsaved updates before its senders wait.
	defaultMaxUnsavedBytes   = 64 << 20
	defaultMaxUnsavedUpdates = 10_000

	// defaultMaxBatchBytes and defaultMaxBatchUpdates bound one batch
	// (one Append); a batch holds at least one update, however large.
	// The bytes bound keeps a merged batch well below a store's limit on
	// one document (64 MiB for storage/bolt and storage/memory).
	defaultMaxBatchBytes   = 16 << 20
	defaultMaxBatchUpdates = 4096
)

// enqueue queues updates to be stored and starts the persister if it is
// not running. Called with r.mu held.
func (r *room) enqueue(updates [][]byte) {
	if len(updates) == 0 || r.failed {
		return
	}
	for _, u := range updates {
		r.queue = append(r.queue, u)
		r.unsavedBytes += len(u)
	}
	r.unsavedUpdates += len(updates)
	if r.persisted == nil {
		r.persisted = make(chan struct{})
		// Counted now, even when the broadcast starts it: no Wait on
		// persisters can be under way while a handler runs (Shutdown
		// waits for them only after every connection handler, hence
		// every enqueue, has returned), and the broadcast runs whether
		// or not the server is shutting down.
		r.srv.persisters.Add(1)
		if r.out.flusher {
			r.persisterDue = true
		} else {
			go r.persist()
		}
	}
}

// takeDuePersister reports whether a persister is due (see enqueue) and
// makes the caller responsible for running it.
func (r *room) takeDuePersister() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	due := r.persisterDue
	r.persisterDue = false
	return due
}

// persist is the room's persister: it stores batches of the queue until
// the queue is empty (or the room has failed), then closes r.persisted.
// It is counted in Server.persisters by enqueue.
func (r *room) persist() {
	defer r.srv.persisters.Done()
	for {
		r.mu.Lock()
		if r.failed || len(r.queue) == 0 {
			r.stopPersisting()
			r.mu.Unlock()
			return
		}
		batch, size := r.takeBatch()
		r.mu.Unlock()

		err := r.store(batch)

		r.mu.Lock()
		r.unsavedBytes -= size
		r.unsavedUpdates -= len(batch)
		r.progressed()
		r.mu.Unlock()
		if err != nil {
			r.fail(fmt.Errorf("storing an update: %w", err))
		}
	}
}

// stopPersisting marks the persister stopped: the queue is empty, or
// dropped after a failure. Called with r.mu held.
func (r *room) stopPersisting() {
	r.queue = nil
	r.unsavedBytes, r.unsavedUpdates = 0, 0
	close(r.persisted)
	r.persisted = nil
	r.progressed()
}

// takeBatch removes the next batch from the queue: everything queued, up to
// the batch limits, and at least one update. Called with r.mu held.
func (r *room) takeBatch() (batch [][]byte, size int) {
	n := 0
	for n < len(r.queue) && n < r.srv.maxBatchUpdates {
		if n > 0 && size+len(r.queue[n]) > r.srv.maxBatchBytes {
			break
		}
		size += len(r.queue[n])
		n++
	}
	batch = r.queue[:n:n]
	if n == len(r.queue) {
		r.queue = nil
	} else {
		// A copy, so that the stored batch's array can be collected.
		r.queue = append([][]byte(nil), r.queue[n:]...)
	}
	return batch, size
}

// store merges batch into one update and appends it. A panic (a bug in
// crdt or in the Store) is returned as an error, which fails the room.
func (r *room) store(batch [][]byte) (err error) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("panic storing updates", "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	start := time.Now()
	update := batch[0]
	if len(batch) > 1 {
		merged, err := crdt.MergeUpdates(batch...)
		if err != nil {
			// The updates came out of the room's document: this is a bug
			// in crdt. Storing them one by one loses nothing.
			r.log.Error("merging updates failed; storing them one by one", "updates", len(batch), "err", err)
			for _, u := range batch {
				if err := r.srv.store.Append(r.srv.persistCtx, r.name, u); err != nil {
					return err
				}
			}
			return nil
		}
		update = merged
	}
	if err := r.srv.store.Append(r.srv.persistCtx, r.name, update); err != nil {
		return err
	}
	r.log.Debug("updates stored", "updates", len(batch), "bytes", len(update), "took", time.Since(start))
	return nil
}

// progressed wakes the connections waiting for the backlog to shrink.
// Called with r.mu held.
func (r *room) progressed() {
	if r.progress != nil {
		close(r.progress)
		r.progress = nil
	}
}

// overLimit reports whether the room's unsaved updates exceed the limits.
// Called with r.mu held.
func (r *room) overLimit() bool {
	return r.unsavedBytes > r.srv.maxUnsavedBytes || r.unsavedUpdates > r.srv.maxUnsavedUpdates
}

// waitBacklog is the backpressure on a sender: it returns once the room's
// unsaved updates are within the limits, or the room has failed. The
// persister makes progress on its own (a hung Store is cut short when
// Shutdown gives up), so the wait is bounded by the store's speed.
func (r *room) waitBacklog(c *conn) {
	waited := false
	var start time.Time
	for {
		r.mu.Lock()
		if r.failed || !r.overLimit() {
			r.mu.Unlock()
			if waited {
				c.log.Debug("resumed reading: the store caught up", "waited", time.Since(start))
			}
			return
		}
		if !waited {
			waited, start = true, time.Now()
			r.srv.backpressure.Add(1)
			c.log.Debug("pausing reads: too many unsaved updates", "updates", r.unsavedUpdates, "bytes", r.unsavedBytes)
		}
		if r.progress == nil {
			r.progress = make(chan struct{})
		}
		ch := r.progress
		r.mu.Unlock()
		select {
		case <-ch:
		case <-r.srv.persistCtx.Done():
			return // Shutdown gave up: the Store calls are being cancelled
		}
	}
}

// waitPersisted waits until the room's queue is empty and stored (or
// dropped after a failure). It reports false if ctx or stop ended first.
func (r *room) waitPersisted(ctx context.Context, stop <-chan struct{}) bool {
	r.mu.Lock()
	done := r.persisted
	r.mu.Unlock()
	if done == nil {
		return true
	}
	select {
	case <-done:
		return true
	case <-stop:
	case <-ctx.Done():
	}
	return false
}

// persisting reports whether the room has updates not yet stored.
func (r *room) persisting() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.persisted != nil
}
