package sync

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/quirehq/quire/crdt"
)

// Limits bound what clients may take from a server. Every field has a
// working zero value (the default, chosen never to get in the way of real
// use); a negative value removes the limit. Each limit refuses with a
// close code and a reason the client can read (see the README's table),
// never silently.
type Limits struct {
	// MessageRate is how many messages per second one connection may
	// send on average, and MessageBurst how many it may send at once
	// (a token bucket). A connection over the limit is closed with 1008
	// "message rate limit exceeded". Zero: 500/s and a burst of 5000.
	// y-websocket sends one message per transaction and per awareness
	// change, so typing and cursor moves cost tens per second; a script
	// that makes thousands of transactions back to back (3000 in the
	// interop tests) spends the burst, which refills in seconds.
	MessageRate  float64
	MessageBurst int

	// ConnectionsPerIP bounds the open connections from one client
	// address; one over is closed with 1013 "too many connections from
	// this address". Zero: 1024 (an office behind one NAT address, each
	// person with a few tabs).
	ConnectionsPerIP int

	// ClientIPHeader names a request header holding the client's address
	// ("X-Real-IP"), set by a reverse proxy in front of the server; its
	// first comma-separated entry is used. Empty: the TCP peer's address.
	// Set it only behind a proxy that overwrites the header, or clients
	// choose their own address.
	ClientIPHeader string

	// ConnectionsPerDocument bounds the connections of one document; one
	// over is closed with 1013 "too many connections to this document".
	// Zero: 10,000.
	ConnectionsPerDocument int

	// Documents bounds the documents held in memory. Opening one more
	// first unloads the least recently used document without connections
	// whose updates are all stored; if there is none, the connection is
	// closed with 1013 "too many documents open". Zero: 10,000.
	Documents int

	// DocumentBytes bounds a document's encoded size, plus the updates
	// it holds pending (waiting for content that may never come). An
	// update that could grow it beyond (its current size plus the
	// update's size) is refused, the document unchanged, and its
	// connection closed with 1009 "document too large". Zero: 32 MiB, the default message size:
	// a document a client can send whole in its sync step 2, and half of
	// storage/bolt's 64 MiB limit, which counts the log as well.
	DocumentBytes int64

	// AwarenessClients bounds the awareness client IDs one connection may
	// set states for; more close it with 1008 "too many awareness
	// clients". y-websocket sets one. Zero: 16.
	AwarenessClients int
}

// Defaults of Limits.
const (
	defaultMessageRate      = 500
	defaultMessageBurst     = 5000
	defaultConnectionsPerIP = 1024
	defaultConnsPerDocument = 10_000
	defaultDocuments        = 10_000
	defaultDocumentBytes    = 32 << 20
	defaultAwarenessClients = 16
)

// Close codes and reasons of the limits.
const (
	closePolicyViolation = 1008 // rate, awareness clients
	closeTooBig          = 1009 // the document (gorilla sends 1009 itself for a message)

	reasonRate             = "message rate limit exceeded"
	reasonAwarenessClients = "too many awareness clients"
	reasonConnsPerIP       = "too many connections from this address"
	reasonConnsPerDocument = "too many connections to this document"
	reasonDocuments        = "too many documents open"
	reasonDocumentTooLarge = "document too large"
)

// limitOf returns v, def for zero, and 0 (no limit) for a negative v.
func limitOf[T int | int64 | float64](v, def T) T {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// resolve returns l with defaults filled in; a limit of 0 means none.
func (l Limits) resolve() Limits {
	return Limits{
		MessageRate:            limitOf(l.MessageRate, defaultMessageRate),
		MessageBurst:           limitOf(l.MessageBurst, defaultMessageBurst),
		ConnectionsPerIP:       limitOf(l.ConnectionsPerIP, defaultConnectionsPerIP),
		ClientIPHeader:         l.ClientIPHeader,
		ConnectionsPerDocument: limitOf(l.ConnectionsPerDocument, defaultConnsPerDocument),
		Documents:              limitOf(l.Documents, defaultDocuments),
		DocumentBytes:          limitOf(l.DocumentBytes, defaultDocumentBytes),
		AwarenessClients:       limitOf(l.AwarenessClients, defaultAwarenessClients),
	}
}

// limitError is a closeError for a limit, counted in Stats.LimitRefusals.
func limitError(code int, reason string) *closeError {
	return &closeError{code: code, reason: reason, limit: true}
}

// clientIP returns the address connections are counted under.
func (s *Server) clientIP(r *http.Request) string {
	if h := s.limits.ClientIPHeader; h != "" {
		if v := r.Header.Get(h); v != "" {
			first, _, _ := strings.Cut(v, ",")
			return strings.TrimSpace(first)
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// newLimiter returns a connection's message rate limiter, nil if there is
// no limit.
func (s *Server) newLimiter() *rate.Limiter {
	if s.limits.MessageRate == 0 {
		return nil
	}
	burst := s.limits.MessageBurst
	if burst == 0 {
		burst = int(max(s.limits.MessageRate, 1))
	}
	return rate.NewLimiter(rate.Limit(s.limits.MessageRate), burst)
}

// allowMessage takes one message from c's bucket.
func (c *conn) allowMessage() error {
	if c.limiter == nil || c.limiter.Allow() {
		return nil
	}
	return limitError(closePolicyViolation, reasonRate)
}

// admitIP counts c under its client address, refusing it if that address
// has too many connections. Called with s.mu held.
func (s *Server) admitIP(c *conn) error {
	max := s.limits.ConnectionsPerIP
	if max > 0 && s.perIP[c.ip] >= max {
		return limitError(closeTryAgainLater, reasonConnsPerIP)
	}
	s.perIP[c.ip]++
	c.countedIP = true
	return nil
}

// releaseIP undoes admitIP. Called with s.mu held.
func (s *Server) releaseIP(c *conn) {
	if !c.countedIP {
		return
	}
	c.countedIP = false
	if s.perIP[c.ip]--; s.perIP[c.ip] <= 0 {
		delete(s.perIP, c.ip)
	}
}

// admitRoom checks the room limits for a connection to document name,
// before a reference to its room is taken: the room's connections, and,
// when the document is not in memory, the number of documents (making
// room by unloading the least recently used idle one). Called with s.mu
// held.
func (s *Server) admitRoom(name string) error {
	if r := s.rooms[name]; r != nil {
		if max := s.limits.ConnectionsPerDocument; max > 0 && r.refs >= max {
			return limitError(closeTryAgainLater, reasonConnsPerDocument)
		}
		return nil
	}
	max := s.limits.Documents
	if max == 0 || len(s.rooms) < max {
		return nil
	}
	if victim := s.leastRecentlyUsedIdle(); victim != nil {
		s.evict(victim)
		return nil
	}
	return limitError(closeTryAgainLater, reasonDocuments)
}

// leastRecentlyUsedIdle returns the room without connections, all of
// whose updates are stored, that was left longest ago; nil if none.
// Called with s.mu held.
func (s *Server) leastRecentlyUsedIdle() *room {
	var victim *room
	for _, r := range s.rooms {
		if r.refs != 0 || r.idleStop == nil {
			continue // in use, loading, or failed
		}
		if victim != nil && !r.idleSince.Before(victim.idleSince) {
			continue
		}
		if r.persisting() {
			continue
		}
		victim = r
	}
	return victim
}

// evict unloads an idle room at once, cancelling its pending unload.
// Its updates are all stored (Append returns once they are durable).
// Called with s.mu held.
func (s *Server) evict(r *room) {
	delete(s.rooms, r.name)
	close(r.idleStop)
	r.idleStop = nil
	s.evictions.Add(1)
	r.log.Debug("room unloaded to make room for another document", "idle", time.Since(r.idleSince).Round(time.Millisecond))
}

// checkAwarenessClients refuses an awareness update that would make c set
// states for more client IDs than allowed. Called with the room's mutex
// held (it guards c.awareness).
func (c *conn) checkAwarenessClients(entries []awarenessEntry) error {
	max := c.srv.limits.AwarenessClients
	if max == 0 {
		return nil
	}
	n := c.awareness.len()
	for i, e := range entries {
		if e.state == nullState {
			continue
		}
		if c.awareness.has(e.client) {
			continue
		}
		// Count each new ID once, however often the update repeats it.
		dup := false
		for _, prev := range entries[:i] {
			if prev.client == e.client && prev.state != nullState {
				dup = true
				break
			}
		}
		if !dup {
			n++
		}
		if n > max {
			return limitError(closePolicyViolation, reasonAwarenessClients)
		}
	}
	return nil
}

// checkSize refuses an update that could grow the document beyond the
// limit. r.size is an upper bound of the document's encoded size (the
// stored size at load plus every change since); only when the update's
// length would cross the limit are the exact figures computed: the
// document's encoded size, and what the update adds to it — its diff
// against the document's state vector, which drops the structs the
// document already has. So a client that re-sends known content near the
// limit (every reconnecting client's sync step 2 does) is not refused.
// Called with r.mu held.
func (r *room) checkSize(update []byte) error {
	max := r.srv.limits.DocumentBytes
	if max == 0 || r.size+r.pendingBytes+int64(len(update)) <= max {
		return nil
	}
	state, err := r.snapshot()
	if err != nil {
		return err
	}
	r.size = int64(len(state))
	if r.size+r.pendingBytes+int64(len(update)) <= max {
		return nil
	}
	sv, err := r.stateVector()
	if err != nil {
		return err
	}
	added, err := crdt.DiffUpdate(update, sv)
	if err != nil {
		return invalidPayload("malformed update", err)
	}
	if r.size+r.pendingBytes+int64(len(added)) <= max {
		return nil
	}
	return limitError(closeTooBig, reasonDocumentTooLarge)
}

// account adds what an applied update of n bytes added to the document's
// size bounds: the changes it produced, and, while the document holds
// pending content, the part of the update that produced no change (an
// upper bound of what is held pending). Pending content is never encoded
// nor stored, so without this an update whose dependencies never come
// could grow the room's memory without limit. Called with r.mu held.
func (r *room) account(n int) {
	var changed int
	for _, u := range r.changes {
		changed += len(u)
	}
	r.size += int64(changed)
	if !r.doc.HasPending() {
		r.pendingBytes = 0
	} else if held := n - changed; held > 0 {
		r.pendingBytes += int64(held)
	}
}

// String describes the limits for the startup log.
func (l Limits) String() string {
	return fmt.Sprintf("rate=%g/s burst=%d conns/ip=%d conns/doc=%d docs=%d doc-bytes=%d awareness-clients=%d",
		l.MessageRate, l.MessageBurst, l.ConnectionsPerIP, l.ConnectionsPerDocument, l.Documents, l.DocumentBytes, l.AwarenessClients)
}
