package sync

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/olahol/melody"
	"golang.org/x/time/rate"

	"github.com/quirehq/quire/auth"
	"github.com/quirehq/quire/crdt"
)

// connKey is the melody session key under which a session's *conn comes
// to onConnect, which moves it to the Server's index (Server.sessions).
const connKey = "quire.conn"

// conn is one client connection: a melody session and the room it joined.
//
// Melody runs a session's handlers on one goroutine, in order (connect,
// messages, disconnect), and only they use room, so it needs no lock of its
// own. awareness is guarded by the room's mutex.
type conn struct {
	srv    *Server
	name   string          // the document
	log    *slog.Logger    // the server's, with the connection's attributes (connlog.go)
	id     uint64          // the connection's number, for the logs
	remote string          // the client's address, for the logs
	sess   *melody.Session // set by the connect handler before anyone else sees the conn
	// sock is the plain socket, written to without blocking (sendInline,
	// flushReplies); nil if the connection is not one (socket.go). Set
	// with sess.
	sock *socketConn
	room *room // set (under the room's mutex) when joined; nil if joining failed

	grant   auth.Grant    // what the Authorizer allowed
	ip      string        // client address, for Limits.ConnectionsPerIP
	limiter *rate.Limiter // message rate; nil: unlimited
	expiry  *time.Timer   // closes the connection when grant expires

	// awareness holds the awareness client IDs whose states this
	// connection set last; they are removed when it ends.
	awareness clientSet

	// sent records that something was queued since the keep-alive loop
	// last looked; idle members get keepaliveMessage.
	sent atomic.Bool

	// closing is set once a close has started: nothing more is sent.
	closing atomic.Bool

	// flushAfter is set (under the room's mutex, on the connection's own
	// goroutine) when an update of this connection made it the flusher of
	// the room's outbox (broadcast.go).
	flushAfter bool

	// replying records that c's own goroutine is the send queue's writer,
	// with replies to write once its handler is done (sendqueue.go). Used
	// on that goroutine only.
	replying bool

	// countedIP records that the connection counts in Server.perIP;
	// guarded by the Server's mutex.
	countedIP bool

	// done and ended are guarded by mu (below). The booleans sit together
	// so that they share one word: a conn is kept for every connection.
	done bool // the connection's goroutine is ending: no closer may start
	// ended is set by the disconnect handler; until then a close in
	// progress drops the socket when dropTimer fires.
	ended bool

	out sendQueue // messages waiting for the writer (sendqueue.go)

	// upgraded is closed once the upgrade is done or failed, which lets
	// the HTTP handler return (upgrade.go); nil after that. Used on the
	// connection's own goroutine only.
	upgraded chan struct{}

	mu        gosync.Mutex
	closers   gosync.WaitGroup // the writer goroutine, which the connection's goroutine waits for
	dropTimer *time.Timer
}

// newConn returns the conn of connection number id to document name from
// the client address remote.
func newConn(s *Server, name string, id uint64, remote string) *conn {
	c := &conn{
		srv:    s,
		name:   name,
		id:     id,
		remote: remote,
	}
	c.log = slog.New((*connLog)(c))
	return c
}

// connOf returns the conn of a session; nil once it has ended.
func (s *Server) connOf(sess *melody.Session) *conn {
	s.sessionsMu.RLock()
	c := s.sessions[sess]
	s.sessionsMu.RUnlock()
	return c
}

// setConnOf records c as sess's conn, or forgets sess when c is nil.
func (s *Server) setConnOf(sess *melody.Session, c *conn) {
	s.sessionsMu.Lock()
	if c == nil {
		delete(s.sessions, sess)
	} else {
		s.sessions[sess] = c
	}
	s.sessionsMu.Unlock()
}

// close closes the connection with a close frame of code and reason, at
// most once, without blocking the caller (which may hold a room lock).
// It reports whether this call started the close.
//
// What waits in the send queue is dropped (it no longer matters) and the
// close frame goes out next, after the write under way if any. The peer
// answers with its own close frame, which ends the session; a peer that
// does not, or whose socket takes nothing more, is dropped twice
// WriteTimeout after the close began.
func (c *conn) close(code int, reason string) bool {
	return c.startClose(closeFrame(code, reason), nil)
}

// startClose is close with the frame f; written, if not nil, is closed
// once f was written or could not be.
func (c *conn) startClose(f []byte, written chan struct{}) bool {
	if !c.closing.CompareAndSwap(false, true) {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	q := &c.out
	q.mu.Lock()
	q.closing = true
	q.closeWritten = written
	q.waiting, q.bytes = [][]byte{f}, len(f) // what waited no longer matters
	start := !q.busy && !c.done
	q.busy = true
	q.mu.Unlock()
	if c.done {
		if written != nil {
			close(written)
		}
		return true
	}
	if start {
		c.closers.Add(1)
		go c.write(nil)
	}
	if !c.ended {
		ws := c.sess.WebsocketConnection()
		c.dropTimer = time.AfterFunc(2*c.srv.writeTimeout, func() { ws.Close() })
	}
	return true
}

// onPeerClose answers the client's close frame (gorilla's close handler,
// on the connection's reader) with one of the same code, unless the server
// started the close, and waits up to closeReplyWait for it to be written:
// the reader's error then ends the session and closes the socket.
func (c *conn) onPeerClose(code int, _ string) error {
	written := make(chan struct{})
	if !c.startClose(closeFrame(code, ""), written) {
		return nil
	}
	t := time.NewTimer(closeReplyWait)
	defer t.Stop()
	select {
	case <-written:
	case <-t.C:
	}
	return nil
}

// closeReplyWait bounds how long the reader waits for the answer to the
// client's close frame to be written, as gorilla's own close handler does.
const closeReplyWait = time.Second

// sessionEnded records that the session has ended (onDisconnect): a close
// in progress need not drop it.
func (c *conn) sessionEnded() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ended = true
	if c.dropTimer != nil {
		c.dropTimer.Stop()
	}
}

// abort drops the connection without a close handshake: the socket is
// closed, which ends melody's reader and writer at once.
func (c *conn) abort() {
	c.closing.Store(true)
	c.sess.WebsocketConnection().Close()
}

// finish waits for a close in progress; the connection's goroutine calls
// it last (upgrade.go) so that no goroutine of the connection outlives it.
func (c *conn) finish() {
	c.mu.Lock()
	c.done = true
	c.mu.Unlock()
	c.closers.Wait()
}

// handleMessage handles one binary message from the client. A message the
// protocol does not allow closes this connection only.
func (c *conn) handleMessage(b []byte) {
	defer c.flushReplies() // last, even after a panic
	defer c.recoverPanic("handling a message")
	r := c.room
	if r == nil || c.closing.Load() {
		return // not joined (the close is under way), or closing
	}
	err := c.allowMessage()
	if err == nil {
		err = c.dispatch(r, b)
	}
	if err == nil {
		return
	}
	var ce *closeError
	if errors.As(err, &ce) {
		c.refuse(ce, "closing connection after a bad message")
		return
	}
	// Anything else means the document can no longer be trusted or
	// stored: every member is closed and the next one reloads it.
	r.fail(err)
}

func (c *conn) dispatch(r *room, b []byte) error {
	m, err := decodeMessage(b)
	if err != nil {
		return err
	}
	switch m.kind {
	case messageSync:
		switch m.sub {
		case syncStep1:
			return r.answerStep1(c, m.payload)
		case syncStep2, syncUpdate:
			if !c.grant.CanWrite() {
				c.refuseWrite()
				return nil
			}
			return c.applyUpdate(r, m.payload)
		}
	case messageAwareness:
		entries, err := decodeAwarenessUpdate(m.payload)
		if err != nil {
			return invalidPayload("malformed awareness update", err)
		}
		return r.applyAwareness(c, entries)
	case messageQueryAwareness:
		r.sendAwareness(c)
	default:
		// messageAuth flows from server to client only, and y-websocket
		// sends no other type: this peer speaks another protocol.
		return &closeError{code: closeUnsupported, reason: reasonUnknownType, err: fmt.Errorf("message type %d", m.kind)}
	}
	return nil
}

// applyUpdate applies a client's update and queues what it changed to be
// stored by the room's persister (persist.go): the connection goes on
// reading without waiting for the disk, unless the room's unsaved updates
// are over their limit. The update reaches the other members at once. If
// storing fails they hold it anyway, and give it back on reconnect when
// the reloaded room's sync step 1 shows it missing.
func (c *conn) applyUpdate(r *room, update []byte) error {
	if err := r.apply(c, update); err != nil {
		var ce *closeError
		if errors.As(err, &ce) {
			return err // refused by a limit, the document unchanged
		}
		if errors.Is(err, crdt.ErrMalformedUpdate) {
			return invalidPayload("malformed update", err)
		}
		return fmt.Errorf("applying an update: %w", err)
	}
	if c.flushAfter {
		c.flushAfter = false
		r.flushBroadcasts()
	}
	r.waitBacklog(c)
	return nil
}

// refuse closes c with the code and reason of ce, counting the refusal
// if a limit made it.
func (c *conn) refuse(ce *closeError, msg string) {
	if !c.close(ce.code, ce.reason) {
		return
	}
	if ce.limit {
		c.srv.limitRefusals.Add(1)
		c.log.Warn("closing connection: limit reached", "code", ce.code, "reason", ce.reason)
		return
	}
	c.log.Warn(msg, "code", ce.code, "err", ce)
}

// recoverPanic is the last resort of a handler: a bug must not take the
// process down nor leave melody's cleanup undone. The connection is closed;
// its room, whose document may be half-changed, is failed and reloaded.
func (c *conn) recoverPanic(what string) {
	p := recover()
	if p == nil {
		return
	}
	c.log.Error("panic "+what, "panic", p, "stack", string(debug.Stack()))
	if c.room != nil {
		c.room.fail(fmt.Errorf("panic %s: %v", what, p))
	}
	c.close(closeInternalError, reasonInternal)
}
