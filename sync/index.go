package sync

import (
	"context"
	"time"
)

// The Server's index of rooms (Server.rooms): one room per document in
// memory. Every connection holds a reference to its room from join to
// release; a room without references is unloaded once its persistence
// queue is stored, after a flush and UnloadDelay, and a room that failed to
// load, or failed, leaves the index at once so that the next connection
// loads the document afresh.

// join makes c a member of its document's room (c.room), creating and
// loading the room if it is not in memory. The first connection loads;
// others wait for that load.
func (s *Server) join(c *conn) error {
	s.mu.Lock()
	if err := s.admitRoom(c.name); err != nil {
		s.mu.Unlock()
		return err
	}
	r := s.rooms[c.name]
	first := r == nil
	if first {
		r = newRoom(s, c.name)
		s.rooms[c.name] = r
	}
	r.refs++
	if r.idleStop != nil {
		close(r.idleStop)
		r.idleStop = nil
	}
	s.mu.Unlock()

	if first {
		// The client gets the answer to its upgrade while the document
		// loads, rather than after (flushReplies).
		c.flushReplies()
		r.load(s.ctx)
		if r.loadErr != nil {
			s.forget(r)
		}
	} else {
		select {
		case <-r.ready:
		default:
			c.flushReplies()
			<-r.ready
		}
	}
	if r.loadErr != nil {
		s.release(r)
		return r.loadErr
	}
	if !r.add(c) {
		s.release(r)
		return errDocumentUnavailable
	}
	return nil
}

// release drops a reference to r. When the last goes, the room is
// unloaded once its updates are stored, after a flush and UnloadDelay.
func (s *Server) release(r *room) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.refs--
	if r.refs > 0 || s.closing || s.rooms[r.name] != r {
		return
	}
	stop := make(chan struct{})
	r.idleStop = stop
	r.idleSince = time.Now()
	s.bg.Add(1)
	go s.unloadWhenIdle(r, stop)
}

// forget removes r from the index, so that the next connection to its
// document creates a new room and loads it again.
func (s *Server) forget(r *room) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rooms[r.name] == r {
		delete(s.rooms, r.name)
	}
	if r.idleStop != nil {
		close(r.idleStop)
		r.idleStop = nil
	}
}

// unloadWhenIdle waits for r's persistence queue to be stored, flushes the
// store, waits UnloadDelay and removes r from the index if it is still
// unused; stop is closed when a connection comes back first. A failed flush
// is retried after UnloadDelay: the room stays while its changes may not be
// durable.
func (s *Server) unloadWhenIdle(r *room, stop <-chan struct{}) {
	defer s.bg.Done()
	for {
		// Nothing is queued without a member, so that the queue stays
		// empty once stored; the check below makes sure.
		if !r.waitPersisted(s.ctx, stop) {
			return
		}
		for {
			err := s.store.Flush(s.ctx)
			if err == nil {
				break
			}
			if s.ctx.Err() == nil {
				r.log.Warn("flush before unloading failed; will retry", "err", err)
			}
			if !sleep(s.ctx, stop, s.unloadDelay) {
				return
			}
		}
		if !sleep(s.ctx, stop, s.unloadDelay) {
			return
		}
		if s.unload(r, stop) {
			return
		}
	}
}

// unload removes r from the index unless it is in use again, or has
// updates to store (then it returns false: the caller waits for them).
func (s *Server) unload(r *room, stop <-chan struct{}) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.idleStop != stop || r.refs != 0 || s.rooms[r.name] != r {
		return true
	}
	if r.persisting() {
		return false
	}
	delete(s.rooms, r.name)
	r.idleStop = nil
	r.log.Debug("room unloaded")
	return true
}

// sleep waits d and reports whether neither ctx nor stop ended first.
func sleep(ctx context.Context, stop <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-stop:
	case <-ctx.Done():
	}
	return false
}
