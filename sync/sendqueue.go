package sync

import (
	"errors"
	"net"
	gosync "sync"
	"time"
)

// Sending to a client. A conn's messages, framed (frame.go), wait in a
// queue of its own, bounded in messages (Options.SendQueue) and bytes
// (Options.SendQueueBytes), and holding nothing while empty. Whoever finds
// the queue idle becomes its writer (busy) until the queue is empty again,
// so one writer at most writes to a socket at a time and the order is
// kept:
//
//   - A broadcast (sendInline) writes the frame itself, without blocking:
//     a socket with room takes it at once, with no goroutine started. If
//     the socket takes only part of it, the rest goes to a writer
//     goroutine.
//   - Any other send, or one that finds the socket full, starts a writer
//     goroutine, which writes everything waiting in one system call per
//     round, with a deadline of WriteTimeout, and ends once the queue is
//     empty.
//
// So an idle connection has no writer goroutine. Melody's own writer is
// never handed a message, and runs parked with its first, small stack:
// writing through it (melody's write loop, then gorilla's calls) went
// deeper than a goroutine's first 2 KB, so after its first message every
// connection kept a 4 KB stack for its whole life (a stack shrinks only
// while less than a quarter of it is in use, and a writer parked in
// melody's select uses more). Melody's pings are off too: the keep-alive
// loop queues them (Server.pingAll), and the answers to the client's pings
// and close frame are queued as well (onPing, onPeerClose), so that nothing
// else writes to the socket. One exception is gorilla's: a client that
// breaks the protocol or sends a message over MaxMessageBytes gets a close
// frame (1002, 1009) that gorilla writes itself on the reader, and that
// frame may fall between two parts of a frame the socket took only in part;
// the connection ends right after, and its client reconnects either way.

// melodySlots is melody's per-session channel size: none, as the server
// hands melody no message.
const melodySlots = 0

// noMelodyPings is melody's ping period: in effect never, as pings go
// through the send queue.
const noMelodyPings = 1 << 62

// sendQueue holds the frames waiting for a connection's writer.
type sendQueue struct {
	mu gosync.Mutex
	// busy records that a writer is at work (or the connection is over):
	// the next frame waits here.
	busy bool
	// closing records that a close has started: waiting holds the close
	// frame alone, and nothing more is queued.
	closing bool
	waiting [][]byte // frames in order; nil when empty, so an idle conn holds no array
	bytes   int      // the sum of len(waiting[i])
	// closeWritten, if not nil, is closed once the close frame was
	// written or could not be (see onPeerClose).
	closeWritten chan struct{}
}

// send queues frame f (frame.go) for the client without blocking; the
// caller must not modify f, which may be queued to many members. A member
// whose queue is over its bounds is disconnected as a slow consumer: the
// room never waits for it.
func (c *conn) send(f []byte) {
	if c.closing.Load() {
		return
	}
	c.sent.Store(true)
	c.queue(f)
}

// queue queues f, starting a writer goroutine for it if the queue was
// idle.
func (c *conn) queue(f []byte) {
	if c.enqueue(f) {
		c.startWriter(f)
	}
}

// sendInline is send for a caller that holds no lock the connection's
// other work needs (a broadcast): if nothing waits, it writes f to the
// socket itself, as far as the socket takes it without blocking.
func (c *conn) sendInline(f []byte) {
	if c.closing.Load() {
		return
	}
	c.sent.Store(true)
	if !c.enqueue(f) {
		return
	}
	if c.raw == nil {
		c.startWriter(f)
		return
	}
	n, err := tryWrite(c.raw, f)
	switch {
	case err == nil:
		c.writerDone()
	case errors.Is(err, errWriteWouldBlock):
		c.startWriter(f[n:])
	default:
		c.writeFailed(err)
	}
}

// ping queues a WebSocket ping, whose pong extends the connection's read
// deadline (melody's pong handler). Unlike a message it does not count as
// traffic for the keep-alive: y-websocket does not see pings.
func (c *conn) ping() {
	if !c.closing.Load() {
		c.queue(pingFrame)
	}
}

// onPing answers a ping from the client (gorilla's ping handler, on the
// connection's reader) with a pong through the queue.
func (c *conn) onPing(data string) error {
	if !c.closing.Load() {
		c.queue(appendFrame(nil, finPong, []byte(data)))
	}
	return nil
}

// enqueue queues f behind the writer at work and returns false, or, if
// the queue is idle, makes the caller its writer (busy) and returns true:
// the caller must then write f or hand it to startWriter. A frame over the
// queue's bounds is not queued, and the connection is closed as a slow
// consumer. The frame that would go over the bound is refused, not the one
// that reaches it: a single frame larger than SendQueueBytes (a large
// document's sync step 2) still goes out.
func (c *conn) enqueue(f []byte) bool {
	q := &c.out
	q.mu.Lock()
	if !q.busy {
		q.busy = true
		q.mu.Unlock()
		return true
	}
	if q.closing {
		q.mu.Unlock()
		return false
	}
	if len(q.waiting) >= c.srv.sendQueue || q.bytes >= c.srv.sendQueueBytes {
		q.mu.Unlock()
		if !c.sess.IsClosed() { // else a write failed: the session is ending anyway
			c.srv.dropSlowConsumer(c)
		}
		return false
	}
	q.waiting = append(q.waiting, f)
	q.bytes += len(f)
	q.mu.Unlock()
	return false
}

// writerDone ends a turn as the queue's writer: the queue goes idle, or a
// writer goroutine takes what queued meanwhile.
func (c *conn) writerDone() {
	q := &c.out
	q.mu.Lock()
	if len(q.waiting) == 0 && !q.closing {
		q.busy = false
		q.mu.Unlock()
		return
	}
	q.mu.Unlock()
	c.startWriter(nil)
}

// startWriter starts the goroutine that writes first (which may be empty)
// and then whatever queues behind it; the caller is the queue's writer and
// hands that role over. The connection's goroutine waits for it (finish);
// once that has begun, nothing more goes out, and busy stays set.
func (c *conn) startWriter(first []byte) {
	c.mu.Lock()
	if c.done {
		c.mu.Unlock()
		return
	}
	c.closers.Add(1)
	c.mu.Unlock()
	go c.write(first)
}

// write is a connection's writer goroutine: it writes first, then takes
// everything that queued meanwhile and writes it in one system call, and so
// on until the queue is empty, each round within WriteTimeout. A failed
// write ends the connection (writeFailed); busy then stays set.
func (c *conn) write(first []byte) {
	defer c.closers.Done()
	nc := c.sess.WebsocketConnection().UnderlyingConn()
	var batch net.Buffers
	if len(first) > 0 {
		batch = append(batch, first)
	}
	for {
		for len(batch) > 0 {
			nc.SetWriteDeadline(time.Now().Add(c.srv.writeTimeout))
			err := writeBatch(nc, batch)
			if err != nil {
				c.writeFailed(err)
				return
			}
			batch = c.out.take(batch[:0])
		}
		// A write without blocking (sendInline) must not meet this
		// round's deadline once it has passed.
		nc.SetWriteDeadline(time.Time{})
		if batch = c.out.takeOrIdle(batch[:0]); len(batch) == 0 {
			return
		}
	}
}

// batchCopyMax is the largest batch of several frames that is copied
// into one buffer for its write; a larger one is written with writev.
// Small batches (a joining client's sync step 1 and awareness) are the
// common case, and writev would leave an iovec array cached on the
// socket for the connection's life.
const batchCopyMax = 16 << 10

// batchBuffers holds the buffers small batches are copied into.
var batchBuffers = gosync.Pool{New: func() any { b := make([]byte, 0, batchCopyMax); return &b }}

// writeBatch writes the frames of batch to nc in one system call.
func writeBatch(nc net.Conn, batch net.Buffers) error {
	if len(batch) == 1 {
		_, err := nc.Write(batch[0])
		return err
	}
	size := 0
	for _, f := range batch {
		size += len(f)
	}
	if size > batchCopyMax {
		_, err := batch.WriteTo(nc) // writev
		return err
	}
	bp := batchBuffers.Get().(*[]byte)
	b := (*bp)[:0]
	for _, f := range batch {
		b = append(b, f...)
	}
	_, err := nc.Write(b)
	*bp = b[:0]
	batchBuffers.Put(bp)
	return err
}

// take appends to batch the frames waiting (the close frame alone, once a
// close has started) and removes them from the queue.
func (q *sendQueue) take(batch net.Buffers) net.Buffers {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.takeLocked(batch)
}

// takeOrIdle is take, but with nothing waiting the queue goes idle (busy
// cleared) and the writer ends; after the close frame, it stays busy.
func (q *sendQueue) takeOrIdle(batch net.Buffers) net.Buffers {
	q.mu.Lock()
	defer q.mu.Unlock()
	batch = q.takeLocked(batch)
	if len(batch) == 0 && !q.closing {
		q.busy = false
	}
	return batch
}

func (q *sendQueue) takeLocked(batch net.Buffers) net.Buffers {
	if q.closing && len(q.waiting) == 0 && q.closeWritten != nil {
		close(q.closeWritten) // the close frame was taken, and written
		q.closeWritten = nil
	}
	for i, f := range q.waiting {
		batch = append(batch, f)
		q.waiting[i] = nil
	}
	q.waiting, q.bytes = nil, 0
	return batch
}

// writeFailed ends a connection whose socket refused a write (the peer is
// gone, or did not read for WriteTimeout), unless a close is already under
// way. The queue stays busy, so no new writer starts.
func (c *conn) writeFailed(err error) {
	q := &c.out
	q.mu.Lock()
	q.waiting, q.bytes = nil, 0
	if q.closeWritten != nil {
		close(q.closeWritten)
		q.closeWritten = nil
	}
	q.mu.Unlock()
	if c.closing.Load() {
		return // conn.close's drop timer ends the socket in time
	}
	c.log.Debug("write failed", "err", err)
	c.abort()
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
