package sync

import (
	"runtime"
	"time"

	"github.com/quirehq/quire/crdt"
)

// Broadcasting updates: every applied update is queued in the room's
// outbox, and one goroutine at a time (the flusher) takes everything
// queued, merges it into one update (crdt.MergeUpdates, the bytes
// Y.mergeUpdates makes) and sends it once to each member. Updates that
// arrive while a broadcast is under way are merged into the next one, so a
// busy room sends each member one message per broadcast instead of one per
// update, and the flusher's cost per update falls as the load rises; a
// quiet room sends each update on its own at once.
//
// The connection whose update opened an empty outbox becomes its flusher:
// it yields once (so that connections with updates already read can add
// theirs); if the room is busy (it broadcast less than its window ago), a
// timer sends the batch when the window ends (the connection goes on
// reading), else the connection sends it itself. The window adapts: it
// starts at BroadcastWindow, doubles with every batch that had to wait, up
// to MaxBroadcastWindow, and falls back to BroadcastWindow once a whole
// window passes without a broadcast. So a quiet room sends each update at
// once, and a hot one sends few large broadcasts: the cost of a broadcast
// (a write per member) is spread over more updates as the load rises.
// The sender holds the room's sendMu, takes the outbox under mu and sends
// outside mu, so that applying never waits for the sends. Takes
// happen under sendMu, so members receive updates in the order they were
// applied. Update broadcasts may overtake or trail other messages (sync
// step 2 answers, awareness); Yjs updates are idempotent and commute, so
// clients converge all the same.
//
// An update sent on its own (a quiet room) goes to every member but its
// sender; a batch of several goes to every member, its senders included
// (see sendBroadcast).

// outbox holds the updates applied and not yet broadcast. Guarded by the
// room's mu.
type outbox struct {
	updates [][]byte
	origins []*conn // origins[i] sent updates[i]; nil if no member did
	// flusher records that a goroutine (or timer) has committed to taking
	// the outbox: later updates join its batch.
	flusher bool
	// last is when the outbox was last taken.
	last time.Time
	// window is the present broadcast window (see delay); zero until the
	// first batch.
	window time.Duration
	// timer sends a batch that waits for its window's end; created by the
	// first such batch and reused.
	timer *time.Timer
}

// delay returns how long a batch opened at now must wait for the room's
// window to end (0: send at once), and adapts the window: a batch that
// has to wait doubles it, up to longest; a room that broadcast nothing
// for a whole window goes back to shortest.
func (o *outbox) delay(now time.Time, shortest, longest time.Duration) time.Duration {
	since := now.Sub(o.last)
	if since >= o.window {
		o.window = shortest
		return 0
	}
	o.window = min(max(2*o.window, shortest), longest)
	return o.window - since
}

// queueBroadcast adds an update applied on behalf of from to the outbox;
// it reports whether the caller must flush it (flushBroadcasts) once it has
// released mu. Called with mu held.
func (r *room) queueBroadcast(update []byte, from *conn) (flush bool) {
	if _, joined := r.members[from]; len(r.members) == 0 || len(r.members) == 1 && joined {
		return false // nobody else to tell
	}
	r.out.updates = append(r.out.updates, update)
	r.out.origins = append(r.out.origins, from)
	if r.out.flusher {
		return false
	}
	r.out.flusher = true
	return true
}

// flushBroadcasts sends what the outbox holds to the members, now or
// when the broadcast window ends. Called without mu, by the goroutine
// queueBroadcast chose.
func (r *room) flushBroadcasts() {
	runtime.Gosched()
	if win := r.srv.broadcastWin; win > 0 {
		r.mu.Lock()
		wait := r.out.delay(time.Now(), win, r.srv.maxBroadcastWin)
		if wait > 0 {
			if r.out.timer == nil {
				r.out.timer = time.AfterFunc(wait, r.timedBroadcast)
			} else {
				r.out.timer.Reset(wait)
			}
		}
		r.mu.Unlock()
		if wait > 0 {
			return
		}
	}
	r.sendBroadcast()
	if r.takeDuePersister() {
		go r.persist() // this is a connection's read loop
	}
}

// timedBroadcast sends a batch at its window's end, on the timer's
// goroutine, which then stores the room's queue if that waited for the
// broadcast (persist.go).
func (r *room) timedBroadcast() {
	r.sendBroadcast()
	if r.takeDuePersister() {
		r.persist()
	}
}

// sendBroadcast takes the outbox and sends it to the members.
func (r *room) sendBroadcast() {
	r.sendMu.Lock()
	defer r.sendMu.Unlock()

	r.mu.Lock()
	updates, origins := r.out.updates, r.out.origins
	r.out.updates, r.out.origins = nil, nil
	r.out.flusher = false
	r.out.last = time.Now()
	failed := r.failed
	members := r.recipients[:0]
	for m := range r.members {
		members = append(members, m)
	}
	r.mu.Unlock()
	defer func() { r.recipients = members[:0] }() // reused by the next flush, under sendMu
	if failed || len(updates) == 0 {
		return
	}

	if len(updates) > 1 {
		// One message for every member, the senders of the batch included:
		// merging the batch again without each sender's own updates cost
		// more than the writes, and a Yjs client ignores what it already
		// holds (y-websocket's own server echoes every update to its sender).
		merged, err := crdt.MergeUpdates(updates...)
		if err == nil {
			f := syncFrame(syncUpdate, merged)
			for _, m := range members {
				m.sendInline(f)
			}
			return
		}
		// The room's own updates always merge; if they did not, sending
		// them one by one is still right.
		r.log.Error("merging updates to broadcast", "err", err)
	}
	// A lone update goes to every member but its sender.
	for i, u := range updates {
		f := syncFrame(syncUpdate, u)
		for _, m := range members {
			if m != origins[i] {
				m.sendInline(f)
			}
		}
	}
}
