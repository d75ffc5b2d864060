package sync

import (
	gosync "sync"
	"time"

	"github.com/gorilla/websocket"
)

// Sending to a client. A conn's messages wait in a queue of its own,
// bounded in messages (Options.SendQueue) and bytes
// (Options.SendQueueBytes), and holding nothing while empty. A writer
// goroutine drains it: started by the send that finds the queue idle, it
// writes the waiting messages in order on the gorilla connection and ends
// once the queue is empty. So one writer at most runs per conn (gorilla
// allows one), the order is kept, and an idle connection has no writer.
//
// Why not melody's writer: melody gives every session a writer goroutine
// that lives as long as the connection. Writing a message through it
// (melody's write loop, then gorilla's and the socket's calls) goes deeper
// than a goroutine's first 2 KB stack, so after its first message every
// writer holds a 4 KB stack for the rest of the connection's life: a
// stack shrinks only while less than a quarter of it is in use, and a
// writer parked in melody's select uses more. A writer started for a
// burst runs the same calls from a shallow frame, fits in 2 KB, and
// leaves nothing behind when it ends. Melody's writer still runs, parked
// and never grown: the server never hands it a message, and its pings are
// off (Server.pingAll sends them through this queue instead, so that they
// too are written by the one writer gorilla allows). Close frames go out
// with gorilla's WriteControl (conn.close), which may run alongside.

// melodySlots is melody's per-session channel size: none, as the server
// hands melody no message.
const melodySlots = 0

// noMelodyPings is melody's ping period: in effect never, as pings go
// through the send queue (see above).
const noMelodyPings = 1 << 62

// pingMarker stands in the queue for a WebSocket ping: the writer sends a
// ping frame where it finds this slice (by identity, not content).
var pingMarker = []byte{0}

// sendQueue holds the messages waiting for a connection's writer.
type sendQueue struct {
	mu gosync.Mutex
	// busy records that a writer is running (or has failed, when the
	// connection is over): the next message waits here.
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
	c.enqueue(msg)
}

// ping queues a WebSocket ping, whose pong extends the connection's read
// deadline (melody's pong handler). Unlike send it does not count as
// traffic for the keep-alive: y-websocket does not see pings.
func (c *conn) ping() {
	if c.closing.Load() {
		return
	}
	c.enqueue(pingMarker)
}

func (c *conn) enqueue(msg []byte) {
	q := &c.out
	q.mu.Lock()
	if !q.busy {
		q.busy = true
		q.mu.Unlock()
		c.startWriter(msg)
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

// startWriter starts the goroutine that writes first and then whatever
// queues behind it. The connection's goroutine waits for it (finish); once
// that has begun, nothing more goes out, and busy stays set.
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

// write is a connection's writer: it writes msg and then each message
// that queued meanwhile, and ends when the queue is empty. A failed write
// ends the connection (the socket is closed, which ends melody's reader
// and so the session); busy then stays set and the queue is dropped.
func (c *conn) write(msg []byte) {
	defer c.closers.Done()
	ws := c.sess.WebsocketConnection()
	for msg != nil {
		var err error
		deadline := time.Now().Add(c.srv.writeTimeout)
		if len(msg) == 1 && &msg[0] == &pingMarker[0] {
			err = ws.WriteControl(websocket.PingMessage, nil, deadline)
		} else {
			ws.SetWriteDeadline(deadline)
			err = ws.WriteMessage(websocket.BinaryMessage, msg)
		}
		if err != nil {
			c.writeFailed(err)
			return
		}
		msg = c.out.next(c)
	}
}

// next takes the message after the one just written; nil (and busy
// cleared) once none waits, or when the connection is closing: a closing
// connection's close frame goes out directly (conn.close), and what waits
// no longer matters.
func (q *sendQueue) next(c *conn) []byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.waiting) == 0 || c.closing.Load() {
		q.busy = false
		q.waiting, q.bytes = nil, 0
		return nil
	}
	msg := q.waiting[0]
	q.waiting[0] = nil
	q.waiting = q.waiting[1:]
	if len(q.waiting) == 0 {
		q.waiting = nil
	}
	q.bytes -= len(msg)
	return msg
}

// writeFailed ends a connection whose socket refused a write (the peer
// is gone, or did not read for WriteTimeout), unless a close is already
// under way. The queue stays busy, so no new writer starts.
func (c *conn) writeFailed(err error) {
	c.out.mu.Lock()
	c.out.waiting, c.out.bytes = nil, 0
	c.out.mu.Unlock()
	if c.closing.Load() {
		return // a close is under way (conn.close), and ends the socket in time
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
