package sync

import (
	gosync "sync"

	"github.com/olahol/melody"
)

// Sending to a client. Melody gives every session a channel of
// Config.MessageBufferSize envelopes (48 bytes each), allocated at the
// upgrade and held for the connection's whole life: a queue deep enough for
// a busy room (512) cost 24 KB per connection, most of what an idle
// connection held. So melody's channel holds one message (melodySlots),
// and each conn keeps the messages waiting behind it in a queue of its
// own that holds nothing while empty and is bounded in messages
// (Options.SendQueue) and bytes (Options.SendQueueBytes). The session's
// writer hands melody the next message once it has written the previous
// one (onSent, melody's sent-message handler), so the order is kept and at
// most one message of a connection is in melody's hands at a time.

// melodySlots is melody's per-session channel size: one message being
// written; the rest wait in the conn's sendQueue.
const melodySlots = 1

// sendQueue holds the messages waiting for a connection's writer.
type sendQueue struct {
	mu gosync.Mutex
	// busy records that a message is in melody's channel or being
	// written: the next one waits here.
	busy    bool
	waiting [][]byte // in order; nil when empty, so an idle conn holds no array
	bytes   int      // the sum of len(waiting[i])
}

// send queues msg for the client without blocking. A member whose queue
// is over its bounds is disconnected as a slow consumer: the room never
// waits for it.
func (c *conn) send(msg []byte) {
	if c.closing.Load() {
		return
	}
	c.sent.Store(true)
	q := &c.out
	q.mu.Lock()
	if !q.busy {
		q.busy = true
		q.mu.Unlock()
		c.handOver(msg)
		return
	}
	// The message that would go over the bound is refused, not the one
	// that reaches it: a single message larger than SendQueueBytes (a
	// large document's sync step 2) still goes out.
	if len(q.waiting) >= c.srv.sendQueue || q.bytes >= c.srv.sendQueueBytes {
		q.mu.Unlock()
		if !c.sess.IsClosed() { // else the writer failed: the session is ending anyway
			c.srv.dropSlowConsumer(c)
		}
		return
	}
	q.waiting = append(q.waiting, msg)
	q.bytes += len(msg)
	q.mu.Unlock()
}

// handOver gives msg to melody's writer. Only one goroutine at a time
// calls it for a conn: the one that set busy, or the writer in onSent.
func (c *conn) handOver(msg []byte) {
	_ = c.sess.WriteBinary(msg) // only fails once the session is closed
}

// onSent runs on a session's writer after each message it wrote: it hands
// over the next waiting message, if any.
func (s *Server) onSent(sess *melody.Session, _ []byte) {
	c := s.connOf(sess)
	if c == nil {
		return // the session has ended: nothing more goes out
	}
	q := &c.out
	q.mu.Lock()
	if len(q.waiting) == 0 || c.closing.Load() {
		// A closing connection's close frame goes out directly (conn.close):
		// what waits no longer matters.
		q.busy = false
		q.waiting, q.bytes = nil, 0
		q.mu.Unlock()
		return
	}
	next := q.waiting[0]
	q.waiting[0] = nil
	q.waiting = q.waiting[1:]
	if len(q.waiting) == 0 {
		q.waiting = nil
	}
	q.bytes -= len(next)
	q.mu.Unlock()
	c.handOver(next)
}

// dropSlowConsumer closes c, whose client does not read what it is sent
// fast enough, with 1013; its client reconnects and catches up with one
// sync step 2.
func (s *Server) dropSlowConsumer(c *conn) {
	if c.close(closeTryAgainLater, reasonSlow) {
		s.slowConsumers.Add(1)
		c.log.Warn("disconnected a slow consumer", "queue_messages", s.sendQueue, "queue_bytes", s.sendQueueBytes)
	}
}
