package sync

import (
	"errors"
	"time"

	"github.com/olahol/melody"
)

// The melody handlers: melody calls them on the goroutine that serves the
// session, in order: onConnect, then the message handlers, then
// onDisconnect. onError hears of the reader's errors; the server's own
// writers handle theirs (sendqueue.go), and melody's writer is never
// handed a message.

// onConnect runs when a session is upgraded, before melody starts reading
// from or writing to it. It joins the room, waiting for the document to
// load: the client's first messages stay unread meanwhile, and nothing is
// sent before the server's sync step 1.
func (s *Server) onConnect(sess *melody.Session) {
	c := adopt(sess)
	defer c.flushReplies() // last, even after a panic: adopt may have queued
	s.setConnOf(sess, c)
	c.upgradeDone() // the HTTP handler may return (upgrade.go)
	defer c.recoverPanic("connecting")
	if err := s.register(c); err != nil {
		var ce *closeError
		if errors.As(err, &ce) {
			c.refuse(ce, "refused")
		} else {
			c.close(closeGoingAway, reasonShutdown)
		}
		return
	}
	err := s.join(c)
	var ce *closeError
	switch {
	case err == nil:
		c.watchExpiry()
		c.log.Debug("connected", "permission", c.grant.Permission)
	case errors.As(err, &ce): // refused by a limit
		c.refuse(ce, "refused")
	case s.ctx.Err() != nil: // the load was cut short by Shutdown
		c.close(closeGoingAway, reasonShutdown)
	default:
		c.close(closeInternalError, reasonUnavailable)
	}
}

// onDisconnect runs once the session has ended.
func (s *Server) onDisconnect(sess *melody.Session) {
	c := s.connOf(sess)
	defer s.setConnOf(sess, nil)
	defer c.sessionEnded()
	defer c.recoverPanic("disconnecting")
	c.stopExpiry()
	if r := c.room; r != nil {
		r.remove(c)
		s.release(r)
	}
	s.mu.Lock()
	delete(s.conns, c)
	s.releaseIP(c)
	s.mu.Unlock()
	c.log.Debug("disconnected")
}

// onClose answers the client's close frame (see conn.onPeerClose).
func (s *Server) onClose(sess *melody.Session, code int, text string) error {
	if c := s.connOf(sess); c != nil {
		return c.onPeerClose(code, text)
	}
	return nil
}

func (s *Server) onBinary(sess *melody.Session, msg []byte) {
	s.connOf(sess).handleMessage(msg)
}

// onText refuses text frames: y-protocols messages are binary, and a text
// frame means a client that speaks something else.
func (s *Server) onText(sess *melody.Session, _ []byte) {
	c := s.connOf(sess)
	c.log.Warn("closing connection after a text frame", "code", closeUnsupported)
	c.close(closeUnsupported, reasonTextFrame)
}

// onError hears of melody's errors: the reader's, which precede the end
// of the session. Melody's writer is never handed a message, so it
// reports none of its own.
func (s *Server) onError(sess *melody.Session, err error) {
	c := s.connOf(sess)
	if c == nil {
		return // the session has ended
	}
	c.log.Debug("connection error", "err", err)
}

// register adds c to the connections Shutdown will close, unless its
// client address has too many connections already.
func (s *Server) register(c *conn) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return errShuttingDown
	}
	s.conns[c] = struct{}{}
	if err := s.admitIP(c); err != nil {
		return err
	}
	s.memRelease.arrived(time.Now())
	return nil
}
