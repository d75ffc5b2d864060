package sync

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	gosync "sync"
	"time"

	"github.com/quirehq/quire/crdt"
)

// room is one document in memory and the connections editing it.
//
// Lifecycle: the first connection creates the room and loads the document;
// connections arriving meanwhile wait for that same load (ready). A failed
// load is never cached: the room leaves the index and the next connection
// tries again. Once the last member has left, the store is flushed and,
// UnloadDelay later, the room leaves the index unless someone came back.
// The room is unloaded only once its persistence queue (persist.go) is
// empty. A room whose update could not be stored is failed: it leaves the
// index at once, its members are closed, what it had not stored yet is
// dropped, and the document is reloaded from storage by the next
// connection.
type room struct {
	srv  *Server
	name string
	log  *slog.Logger

	// Guarded by srv.mu.
	refs      int           // connections joined or waiting for the load
	idleStop  chan struct{} // closed to cancel a pending unload
	idleSince time.Time     // when refs last dropped to 0, for evicting the least recently used

	ready   chan struct{} // closed once the load has finished
	loadErr error         // set before ready is closed

	// mu guards everything below, and the document: a crdt.Doc is not safe
	// for concurrent use, and nothing is sent to a member except under mu,
	// so every member sees the room's messages in the order they happened.
	mu  gosync.Mutex
	doc *crdt.Doc // nil while hibernating (hibernate.go)
	// encoded and sv cache the document's encoded state and state vector
	// until it changes (hibernate.go); encoded is the payload of
	// fullStep2, the sync step 2 frame (frame.go) of the whole document,
	// in one buffer. While the room hibernates, encoded is the document, or nil
	// when the store has it all (dormant), loaded back by restoring.
	encoded    []byte
	sv         []byte
	fullStep2  []byte
	cachedAt   time.Time  // when encoded was last built, loaded or sent
	restoring  *restoring // the load of a dormant document under way
	lastChange time.Time  // of the document, for hibernating
	members    map[*conn]struct{}
	awareness  awarenessTable
	failed     bool
	changes    [][]byte // updates of the ApplyUpdate in progress, to persist
	size       int64    // upper bound of the document's encoded size (Limits.DocumentBytes)
	// pendingBytes bounds the bytes of updates held pending (waiting for
	// content the document lacks) since it last had none: pending content
	// is in memory but in neither the encoded state nor the store, and
	// counts against Limits.DocumentBytes too.
	pendingBytes int64

	// The persistence queue (persist.go): updates applied but not yet
	// stored. unsavedBytes and unsavedUpdates count those queued and those
	// being stored.
	queue          [][]byte
	unsavedBytes   int
	unsavedUpdates int
	persisted      chan struct{} // non-nil while updates wait or the persister runs; closed when it stops
	// persisterDue records a persister counted in Server.persisters but
	// not started yet: the pending broadcast runs it (persist.go).
	persisterDue bool
	progress     chan struct{} // closed when the persister stores a batch, if someone waits

	// Update broadcasts (broadcast.go): out is guarded by mu; sendMu is
	// held by the goroutine sending a batch, and guards recipients, its
	// reusable list of members.
	out        outbox
	sendMu     gosync.Mutex
	recipients []*conn
}

func newRoom(s *Server, name string) *room {
	return &room{
		srv:     s,
		name:    name,
		log:     s.log.With("doc", name),
		ready:   make(chan struct{}),
		members: make(map[*conn]struct{}),
	}
}

// load reads the document from the store. It runs once per room, on the
// goroutine of the connection that created it.
func (r *room) load(ctx context.Context) {
	defer close(r.ready)
	defer func() {
		if p := recover(); p != nil {
			r.loadErr = fmt.Errorf("panic loading: %v", p)
		}
		if r.loadErr != nil {
			r.log.Error("document unavailable: load failed", "err", r.loadErr)
		}
	}()
	start := time.Now()
	stored, err := r.srv.store.Load(ctx, r.name)
	if err != nil {
		r.loadErr = fmt.Errorf("%w: loading: %w", errDocumentUnavailable, err)
		return
	}
	doc := crdt.NewDoc(crdt.Options{})
	if len(stored) > 0 {
		if err := doc.ApplyUpdate(stored, nil); err != nil {
			r.loadErr = fmt.Errorf("%w: stored document: %w", errDocumentUnavailable, err)
			return
		}
	}
	if doc.HasPending() {
		// Content waiting for missing dependencies: clients that have
		// them will supply them when they sync.
		r.log.Warn("stored document has pending content")
	}
	// Subscribed after the stored state is in, so that it is not appended
	// again.
	doc.OnUpdate(r.onUpdate)
	r.doc = doc // published to waiters by close(ready)
	r.lastChange = time.Now()
	r.size = int64(len(stored))
	r.log.Debug("document loaded", "bytes", len(stored), "took", time.Since(start))
}

// onUpdate runs inside ApplyUpdate, under mu: the change is queued to be
// broadcast to every member but the one it came from (broadcast.go), which
// then flushes the broadcast, and kept to be queued for persisting once
// ApplyUpdate has succeeded.
func (r *room) onUpdate(update []byte, origin any) {
	from, _ := origin.(*conn)
	if r.queueBroadcast(update, from) {
		if from != nil {
			from.flushAfter = true
		} else {
			go r.flushBroadcasts() // not reached: every update has a sender
		}
	}
	r.changes = append(r.changes, update)
}

// add makes c a member and sends it the opening messages: the server's
// sync step 1 (so that the client sends what the server lacks) and the
// present awareness states. It returns false if the room has failed.
func (r *room) add(c *conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failed {
		return false
	}
	r.members[c] = struct{}{}
	c.room = r
	sv, err := r.stateVector()
	if err != nil {
		r.log.Error("sending sync step 1", "err", err)
		return false
	}
	c.reply(syncFrame(syncStep1, sv))
	if states := r.awareness.present(); len(states) > 0 {
		c.reply(awarenessFrame(states))
	}
	return true
}

// remove ends c's membership and tells the others that the awareness
// states it controlled are gone.
func (r *room) remove(c *conn) {
	r.mu.Lock()
	if _, ok := r.members[c]; !ok {
		r.mu.Unlock()
		return
	}
	delete(r.members, c)
	var f []byte
	var to []*conn
	if removed := r.awareness.removeOwned(c); len(removed) > 0 && !r.failed {
		f, to = awarenessFrame(removed), r.membersExcept(nil)
	}
	r.mu.Unlock()
	sendAll(to, f)
}

// membersExcept returns the members but except. Called with mu held.
func (r *room) membersExcept(except *conn) []*conn {
	to := make([]*conn, 0, len(r.members))
	for m := range r.members {
		if m != except {
			to = append(to, m)
		}
	}
	return to
}

// sendAll sends frame f to each of to, writing it at once to the sockets
// with room (sendInline). Called without the room's mutex, like the
// update broadcasts (broadcast.go), as the writes are system calls.
// Awareness and keep-alive messages need no order among themselves: an
// awareness state carries its clock, and the client keeps the newest.
func sendAll(to []*conn, f []byte) {
	for _, m := range to {
		m.sendInline(f)
	}
}

// apply merges an update from c into the document and queues what it
// changed (nothing if the update brought nothing new) to be stored. The
// document is unchanged when the update is malformed.
func (r *room) apply(c *conn, update []byte) error {
	if bytes.Equal(update, emptyUpdate) {
		return nil // nothing to apply (hibernate.go)
	}
	if err := r.lockLoaded(); err != nil {
		return err
	}
	defer r.mu.Unlock()
	if r.failed {
		return nil
	}
	if err := r.checkSize(update); err != nil {
		return err
	}
	if err := r.wake(); err != nil {
		return err
	}
	defer func() { r.changes = nil }()
	if err := r.doc.ApplyUpdate(update, c); err != nil {
		return err
	}
	if len(r.changes) > 0 || r.doc.HasPending() {
		// Something changed (pending content is not announced by
		// onUpdate); an update that brought nothing new keeps the
		// caches, e.g. the empty sync step 2 of every joining client.
		r.changed(time.Now())
	}
	r.account(len(update))
	r.enqueue(r.changes)
	return nil
}

// answerStep1 sends c the sync step 2 for its state vector sv: everything
// the client lacks (hibernate.go: from the cached encoded state for an
// empty sv, or while the room hibernates, loading a dormant document
// first). Update broadcasts, sent outside mu (broadcast.go), may
// reach c before or after it; updates are idempotent, so either is right.
func (r *room) answerStep1(c *conn, sv []byte) error {
	if err := r.lockLoaded(); err != nil {
		return err
	}
	defer r.mu.Unlock()
	if r.failed {
		return nil
	}
	msg, err := r.step2(sv)
	if err != nil {
		return err
	}
	c.reply(msg)
	return nil
}

// applyAwareness merges awareness entries from c and forwards those that
// changed something to the other members. An update that would make c
// control too many client IDs is refused whole.
func (r *room) applyAwareness(c *conn, entries []awarenessEntry) error {
	f, to, err := r.mergeAwareness(c, entries)
	sendAll(to, f)
	return err
}

// mergeAwareness merges awareness entries from c and returns the frame to
// forward and the members to forward it to (none if nothing changed).
func (r *room) mergeAwareness(c *conn, entries []awarenessEntry) (f []byte, to []*conn, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failed {
		return nil, nil, nil
	}
	if err := c.checkAwarenessClients(entries); err != nil {
		return nil, nil, err
	}
	if changed := r.awareness.apply(entries, c); len(changed) > 0 {
		return awarenessFrame(changed), r.membersExcept(c), nil
	}
	return nil, nil, nil
}

// sendAwareness answers a query-awareness message with every present
// state (an update of zero clients when there are none).
func (r *room) sendAwareness(c *conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failed {
		return
	}
	c.reply(awarenessFrame(r.awareness.present()))
}

// keepalive sends keepaliveMessage to the members that were sent nothing
// since the previous call. Called every PingInterval/2, it leaves no member
// without a message for longer than about PingInterval: a keep-alive counts
// as traffic, so an idle member gets one every PingInterval.
func (r *room) keepalive() {
	r.mu.Lock()
	var idle []*conn
	for m := range r.members {
		if !m.sent.Swap(false) {
			idle = append(idle, m)
		}
	}
	r.mu.Unlock()
	sendAll(idle, keepaliveFrame)
}

// fail gives up on the room after an update could not be applied safely or
// stored: its document may differ from what is stored, so it must not be
// served again. The room leaves the index, so that the next connection
// reloads the document, and every member is closed with 1011; clients
// reconnect, and their sync sends back whatever the store missed.
func (r *room) fail(cause error) {
	r.mu.Lock()
	if r.failed {
		r.mu.Unlock()
		return
	}
	r.failed = true
	members := slices.Collect(maps.Keys(r.members))
	r.mu.Unlock()

	r.log.Error("document unavailable: closing its connections", "err", cause, "members", len(members))
	r.srv.forget(r)
	for _, m := range members {
		m.close(closeInternalError, reasonUnavailable)
	}
}
