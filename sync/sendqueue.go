package sync

import (
	"bytes"
	"errors"
	"net"
	"slices"
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
//   - A broadcast (update, awareness), a keep-alive or a ping
//     (sendInline, writeInline), sent by a goroutine that holds no room
//     lock, writes the frame itself, without blocking: a socket with room
//     takes it at once, with no goroutine started. If the socket takes
//     only part of it, the rest goes to a writer goroutine.
//   - A reply (reply), which the connection's own goroutine queues while
//     it handles the client's message (a sync step 2, the opening sync
//     step 1 and awareness), is written by that goroutine once the
//     handler is done (flushReplies), the same way, together with
//     whatever queued behind it: answering a client starts no goroutine,
//     and the replies to one message go out in one system call.
//   - A send that finds the socket full, a close, and every send on a
//     connection that is not a plain socket (TLS) start a writer
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
// loop sends them (Server.pingAll), and the answers to the client's pings
// and close frame go through the queue as well (onPing, onPeerClose), so that nothing
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

// sendInline sends frame f (frame.go) to the client without blocking; the
// caller must hold no lock the connection's other work needs, and must not
// modify f, which may go to many members. If nothing waits, it writes f to
// the socket itself, as far as the socket takes it. A member whose queue
// is over its bounds is disconnected as a slow consumer: the room never
// waits for it.
func (c *conn) sendInline(f []byte) {
	if c.closing.Load() {
		return
	}
	c.sent.Store(true)
	c.writeInline(f)
}

// writeInline writes f at once if nothing waits and the socket takes it
// (see sendInline), else queues it.
func (c *conn) writeInline(f []byte) {
	if !c.enqueue(f) {
		return
	}
	if c.sock == nil {
		c.startWriter(f)
		return
	}
	n, err := tryWrite(c.sock.raw, f)
	c.wrote(f[n:], nil, err)
}

// reply is send for a frame queued by c's own goroutine (the one that runs
// melody's handlers for c) while it handles something from the client,
// perhaps under the room's mutex: if the queue is idle, c's goroutine
// becomes its writer, and writes what waits once the handler is done. The
// handler must call flushReplies before it returns.
func (c *conn) reply(f []byte) {
	if c.closing.Load() {
		return
	}
	c.sent.Store(true)
	if !c.replying {
		if !c.enqueue(f) {
			return
		}
		c.replying = true
	}
	// c's goroutine is the writer: f waits for flushReplies, behind what
	// this handler queued before, unless a close has started, which
	// flushReplies then writes.
	q := &c.out
	q.mu.Lock()
	if !q.closing {
		q.waiting = append(q.waiting, f)
		q.bytes += len(f)
	}
	q.mu.Unlock()
}

// flushReplies writes what the handler that ran on c's goroutine queued
// with reply, and what queued behind it, as sendInline would: what the
// socket does not take at once goes to a writer goroutine. The first
// call also writes the answer to the upgrade request ahead of everything
// (see adopt).
func (c *conn) flushReplies() {
	if !c.replying {
		return
	}
	c.replying = false
	if c.sock == nil {
		c.startWriter(nil)
		return
	}
	batch := c.out.take(nil)
	if h := c.sock.takeHandshake(); h != nil {
		batch = slices.Insert(batch, 0, h)
	}
	c.writeNow(batch)
}

// writeNow writes batch without blocking, in one system call when its
// frames fit in a copy buffer together, and then ends the caller's turn as
// the queue's writer (writerDone). If the socket is full, a writer
// goroutine takes over from the first byte it did not take.
func (c *conn) writeNow(batch net.Buffers) {
	if len(batch) > 1 && sizeOf(batch) <= batchCopyMax {
		bp, b := joinFrames(batch)
		n, err := tryWrite(c.sock.raw, b)
		var rest []byte
		if n < len(b) {
			rest = bytes.Clone(b[n:]) // b goes back to the pool
		}
		releaseFrames(bp, b)
		c.wrote(rest, nil, err)
		return
	}
	for i, f := range batch {
		n, err := tryWrite(c.sock.raw, f)
		if err != nil {
			c.wrote(f[n:], batch[i+1:], err)
			return
		}
	}
	c.writerDone()
}

// wrote ends a write without blocking that stopped with err (nil: all
// written): the writer's turn ends, or a writer goroutine goes on with
// rest (the unwritten part of a frame) and then the frames after it,
// which go back to the head of the queue.
func (c *conn) wrote(rest []byte, after [][]byte, err error) {
	switch {
	case err == nil:
		c.writerDone()
	case errors.Is(err, errWriteWouldBlock):
		if len(after) > 0 {
			q := &c.out
			q.mu.Lock()
			if !q.closing { // else only the close frame still matters
				q.waiting = append(slices.Clip(after), q.waiting...)
				q.bytes += sizeOf(after)
			}
			q.mu.Unlock()
		}
		c.startWriter(rest)
	default:
		c.writeFailed(err)
	}
}

// sizeOf returns the number of bytes in frames.
func sizeOf(frames [][]byte) int {
	n := 0
	for _, f := range frames {
		n += len(f)
	}
	return n
}

// ping queues a WebSocket ping, whose pong extends the connection's read
// deadline (melody's pong handler). Unlike a message it does not count as
// traffic for the keep-alive: y-websocket does not see pings.
func (c *conn) ping() {
	if !c.closing.Load() {
		c.writeInline(pingFrame)
	}
}

// onPing answers a ping from the client (gorilla's ping handler, on the
// connection's reader, which holds no lock) with a pong through the queue.
func (c *conn) onPing(data string) error {
	if !c.closing.Load() {
		c.writeInline(appendFrame(nil, finPong, []byte(data)))
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
	c.srv.writersStarted.Add(1)
	go c.write(first)
}

// write is a connection's writer goroutine: it writes first, then takes
// everything that queued meanwhile and writes it in one system call, and so
// on until the queue is empty, each round within WriteTimeout. A failed
// write ends the connection (writeFailed); busy then stays set.
func (c *conn) write(first []byte) {
	defer c.closers.Done()
	nc := c.sess.WebsocketConnection().UnderlyingConn()
	if c.sock != nil {
		// The socket itself: net.Buffers writes with writev only to a
		// net package connection.
		nc = c.sock.Conn
	}
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
	if sizeOf(batch) > batchCopyMax {
		_, err := batch.WriteTo(nc) // writev
		return err
	}
	bp, b := joinFrames(batch)
	_, err := nc.Write(b)
	releaseFrames(bp, b)
	return err
}

// joinFrames copies the frames of batch (at most batchCopyMax bytes) into
// a pooled buffer, for one system call; releaseFrames hands it back.
func joinFrames(batch net.Buffers) (bp *[]byte, b []byte) {
	bp = batchBuffers.Get().(*[]byte)
	b = (*bp)[:0]
	for _, f := range batch {
		b = append(b, f...)
	}
	return bp, b
}

func releaseFrames(bp *[]byte, b []byte) {
	*bp = b[:0]
	batchBuffers.Put(bp)
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
