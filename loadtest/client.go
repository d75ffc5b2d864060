package loadtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	gosync "sync"
	"time"

	"github.com/gorilla/websocket"
)

// ErrDenied is returned when a Hocuspocus server refuses the auth token.
var ErrDenied = errors.New("loadtest: permission denied by the server")

// client is one simulated provider connected to one document. It answers
// the server's sync step 1 with an empty step 2 (it holds no document),
// hands each step 2 to step2s and each update to onUpdate, and ignores
// everything else.
type client struct {
	proto Protocol
	doc   string
	ws    *websocket.Conn

	wmu gosync.Mutex // one writer at a time: the sender and the reader's replies

	started  bool                               // the reader runs (start); set before anyone else sees the client
	onUpdate func(payload []byte, at time.Time) // called on the reader goroutine
	step2s   chan []byte                        // every step 2 received, in order
	done     chan struct{}                      // closed when the reader returns
	err      error                              // why the reader stopped; read after done
}

var dialer = &websocket.Dialer{
	HandshakeTimeout: 30 * time.Second,
	ReadBufferSize:   4096,
	WriteBufferSize:  4096,
	// Clients write a few small messages each: a buffer is theirs only
	// while they write, not for the life of the connection.
	WriteBufferPool: &gosync.Pool{},
}

// readBuffers holds the buffers messages are read into, shared by every
// client: a client holds one only while it handles a message, so a storm
// of clients each receiving a large sync step 2 grows a few buffers, not
// one per client (which made the load generator's own page faults and
// copying a large part of every join's measured time).
var readBuffers = gosync.Pool{New: func() any { return new(bytes.Buffer) }}

// docURL is where the client of doc connects: y-websocket names the
// document in the path, Hocuspocus in its messages.
func docURL(base string, p Protocol, doc string) string {
	if p == Hocuspocus {
		return base
	}
	return strings.TrimSuffix(base, "/") + "/" + url.PathEscape(doc)
}

// dial connects a client to doc and starts the exchange a provider starts:
// (Hocuspocus: the auth token,) sync step 1 with an empty state vector, and
// an awareness state when awareness is non-zero. Nothing reads from the
// connection until the caller calls sync or start.
func dial(ctx context.Context, base string, p Protocol, doc string, awareness uint64, onUpdate func([]byte, time.Time)) (*client, error) {
	ws, _, err := dialer.DialContext(ctx, docURL(base, p, doc), nil)
	if err != nil {
		return nil, err
	}
	c := &client{proto: p, doc: doc, ws: ws, onUpdate: onUpdate, step2s: make(chan []byte, 4), done: make(chan struct{})}
	if p == Hocuspocus {
		if err := c.send(authMessage("bench")); err != nil {
			c.close()
			return nil, err
		}
	}
	if err := c.send(syncMessage(syncStep1, []byte{0})); err != nil {
		c.close()
		return nil, err
	}
	if awareness != 0 {
		if err := c.send(awarenessMessage(awareness, `{"user":{"name":"bench","color":"#30bced"}}`)); err != nil {
			c.close()
			return nil, err
		}
	}
	return c, nil
}

// start starts the client's reader.
func (c *client) start() {
	c.started = true
	go c.read()
}

// sync reads on the calling goroutine until the server's sync step 2
// arrives (answering the server's sync step 1 meanwhile), returns its
// update, and starts the reader for what follows. A join timed this way
// has no hand-off between goroutines in it: on a load generator with one
// core, the reader goroutine of each new connection (its start, its stack
// growing as it first reads, the wake-up of the waiting dialer) was a
// large part of every join's measured time. If sync fails, the connection
// is closed.
func (c *client) sync(ctx context.Context) ([]byte, error) {
	if d, ok := ctx.Deadline(); ok {
		c.ws.SetReadDeadline(d)
	}
	for {
		step2, err := c.readOne()
		if err != nil {
			c.err = err
			c.ws.Close()
			close(c.done)
			return nil, fmt.Errorf("connection ended before sync: %w", err)
		}
		if step2 != nil {
			c.ws.SetReadDeadline(time.Time{})
			c.start()
			return step2, nil
		}
	}
}

func (c *client) send(msg []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.ws.SetWriteDeadline(time.Now().Add(30 * time.Second))
	return c.ws.WriteMessage(websocket.BinaryMessage, frame(c.proto, c.doc, msg))
}

// awaitStep2 waits for the next sync step 2 and returns its update.
func (c *client) awaitStep2(ctx context.Context) ([]byte, error) {
	select {
	case u := <-c.step2s:
		return u, nil
	case <-c.done:
		return nil, fmt.Errorf("connection ended before sync: %w", c.err)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *client) read() {
	defer close(c.done)
	for {
		step2, err := c.readOne()
		if err != nil {
			c.err = err
			c.ws.Close()
			return
		}
		if step2 != nil {
			select {
			case c.step2s <- step2:
			default: // nobody waits for this one
			}
		}
	}
}

// readOne reads and handles one message; it returns a copy of the update
// if the message was a sync step 2.
func (c *client) readOne() (step2 []byte, err error) {
	_, r, err := c.ws.NextReader()
	if err != nil {
		return nil, err
	}
	buf := readBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	if _, err = buf.ReadFrom(r); err == nil {
		step2, err = c.handle(buf.Bytes(), time.Now())
	}
	readBuffers.Put(buf)
	return step2, err
}

// handle handles message b; it returns a copy of the update if b was a
// sync step 2.
func (c *client) handle(b []byte, at time.Time) (step2 []byte, err error) {
	msg, err := unframe(c.proto, b)
	if err != nil {
		return nil, err
	}
	m, err := decodeInbound(msg)
	if err != nil {
		return nil, fmt.Errorf("malformed message from the server: %w", err)
	}
	switch {
	case m.kind == msgAuth && m.sub == authDenied:
		return nil, ErrDenied
	case m.kind != msgSync && m.kind != msgSyncReply:
		return nil, nil
	case m.sub == syncStep1:
		return nil, c.send(syncMessage(syncStep2, []byte(emptyUpdateV1)))
	case m.sub == syncStep2:
		if c.onUpdate != nil {
			c.onUpdate(m.payload, at)
		}
		return bytes.Clone(m.payload), nil // the payload aliases the read buffer
	case m.sub == syncUpdate:
		if c.onUpdate != nil {
			c.onUpdate(m.payload, at)
		}
	}
	return nil, nil
}

// close ends the connection with a close handshake, waiting briefly for the
// server's answer.
func (c *client) close() {
	if !c.started {
		select {
		case <-c.done: // sync failed and closed it
		default:
			c.ws.Close()
			close(c.done)
		}
		return
	}
	c.wmu.Lock()
	c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	c.wmu.Unlock()
	select {
	case <-c.done:
	case <-time.After(2 * time.Second):
	}
	c.ws.Close()
	<-c.done
}

// closeAll closes clients concurrently, a few at a time.
func closeAll(cs []*client) {
	var wg gosync.WaitGroup
	sem := make(chan struct{}, 64)
	for _, c := range cs {
		if c == nil {
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c.close()
		})
	}
	wg.Wait()
}

// countDropped counts the clients whose connection the server ended
// before the scenario did (a slow consumer closed, a crash).
func countDropped(cs []*client, errs *errorCount) {
	for _, c := range cs {
		if c == nil {
			continue
		}
		select {
		case <-c.done:
			errs.add(fmt.Errorf("connection to %q ended early: %v", c.doc, c.err))
		default:
		}
	}
}
