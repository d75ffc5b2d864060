package sync

import (
	"fmt"
	"net/http"
	"runtime/debug"

	"github.com/gorilla/websocket"
	"github.com/olahol/melody"
)

// Accepting a connection, and what it holds while idle. Most connections
// are idle most of the time, so what one holds between messages is what
// bounds how many a server carries:
//
//   - Its goroutines. Melody reads a session on the goroutine that called
//     HandleRequestWithKeys. Called from net/http's handler, that would be
//     the connection's HTTP goroutine, whose stack grew while it parsed the
//     request (and net/http's connection state with its buffers would stay
//     reachable from it for the connection's life). So the session is
//     served on a goroutine of its own and the handler returns once the
//     upgrade is done: the connection then costs melody's two goroutines
//     (reader and writer), both with small stacks (melody's writer writes
//     nothing, see sendqueue.go, and keeps its first 2 KB).
//   - Its buffers. Gorilla reuses net/http's 4 KB read and write buffers
//     when the upgrader's sizes are zero; instead, a connection reads
//     through a small buffer of its own (readBufferSize), and gorilla,
//     which writes no message (the server writes its own frames), is given
//     a write buffer pool (the server's writeBuffers) that it never draws
//     from, so no connection holds a write buffer.
//   - What melody keeps in the session for the application: the handshake
//     request, and the keys map that brings the conn to onConnect. Both are
//     dropped once connected (adopt): the conn holds what it needs of the
//     request, and the Server's index (Server.sessions) leads from a
//     session to its conn.

// readBufferSize is the read buffer every connection keeps for its whole
// life. Large messages do not pay for its size: gorilla reads a message's
// payload into the message's own growing slice, and a bufio.Reader whose
// buffer is empty reads a request at least its size straight into the
// caller's slice. Small messages arriving together still share a read
// (a keystroke's update is some 30 to 60 bytes); one larger than the
// buffer costs a second read, as its payload's rest is read straight into
// the message. It must hold a control frame's payload (gorilla raises a
// smaller size to 125 bytes); 128 bytes is the allocation size class that
// holds it.
const readBufferSize = 128

// writeBufferSize is the size of gorilla's pooled write buffers, which
// only a gorilla write of a whole message would take (the server writes
// none).
const writeBufferSize = 4096

// configureUpgrader sets melody's upgrader for small idle connections.
func (s *Server) configureUpgrader(u *websocket.Upgrader) {
	u.ReadBufferSize = readBufferSize
	u.WriteBufferSize = writeBufferSize
	u.WriteBufferPool = &s.writeBuffers
}

// serve upgrades r and serves the connection c on a goroutine of its own,
// counted in s.handlers; it returns once the upgrade is done, or failed
// and answered, so that net/http's goroutine for the request ends.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, c *conn) {
	upgraded := make(chan struct{})
	c.upgraded = upgraded
	go s.serveConn(w, r, c)
	<-upgraded
}

// serveConn runs c's melody session, on the goroutine that then reads
// from it. It is a method rather than a closure on purpose: a parameter
// is dead once the upgrade has used it, where a closure's captured w and
// r would stay reachable for as long as the connection is open, and with
// them net/http's request and response state.
func (s *Server) serveConn(w http.ResponseWriter, r *http.Request, c *conn) {
	defer s.handlers.Done()
	defer c.finish()
	defer c.recoverServe()
	if err := s.m.HandleRequestWithKeys(hijackWriter{w}, r, map[string]any{connKey: c}); err != nil {
		// The upgrader has answered the request; onConnect never ran.
		c.log.Debug("upgrade failed", "err", err)
		c.upgradeDone()
	}
}

// upgradeDone lets the request's handler return: the connection no longer
// needs net/http's response (hijacked, or the refusal written). It is
// called once, on the connection's goroutine.
func (c *conn) upgradeDone() {
	if c.upgraded != nil {
		close(c.upgraded)
		c.upgraded = nil
	}
}

// recoverServe stands in for net/http's recovery of a panicking handler,
// which no longer covers the connection's goroutine: a panic in melody
// (the handlers recover their own) is logged and the socket dropped, which
// ends the writer too.
func (c *conn) recoverServe() {
	p := recover()
	if p == nil {
		return
	}
	c.log.Error("panic serving a connection", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	if c.sess != nil {
		c.sess.WebsocketConnection().Close()
	}
	c.upgradeDone()
}

// adopt returns the conn that serve handed melody for sess, and drops
// what melody keeps in the session that the connection no longer needs:
// the handshake request (melody itself never reads it again) and the keys
// map that brought the conn (Server.sessions finds it from now on).
// Called from onConnect, before the session's writer starts and before
// anything else can see the session.
func adopt(sess *melody.Session) *conn {
	c, _ := sess.Keys[connKey].(*conn)
	c.sess = sess
	sess.Request, sess.Keys = nil, nil
	ws := sess.WebsocketConnection()
	// Only a plain socket is written to without the net.Conn: a TLS
	// connection (a Server behind http.ListenAndServeTLS) or any other
	// wrapper must see every byte.
	c.sock, _ = ws.UnderlyingConn().(*socketConn)
	if c.sock != nil && c.sock.handshake != nil {
		// Gorilla's answer to the upgrade request waits in the socket
		// (socket.go): c's goroutine takes the writer's turn before
		// anyone else can queue a frame, and writes the answer ahead of
		// the opening messages when onConnect is done (flushReplies).
		c.out.busy = true
		c.replying = true
	}
	// The answers to the client's pings go through the send queue, as the
	// server writes nothing else outside it (sendqueue.go).
	ws.SetPingHandler(c.onPing)
	return c
}
