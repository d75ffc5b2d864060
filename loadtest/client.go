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
// an awareness state when awareness is non-zero.
func dial(ctx context.Context, base string, p Protocol, doc string, awareness uint64, onUpdate func([]byte, time.Time)) (*client, error) {
	ws, _, err := dialer.DialContext(ctx, docURL(base, p, doc), nil)
	if err != nil {
		return nil, err
	}
	c := &client{proto: p, doc: doc, ws: ws, onUpdate: onUpdate, step2s: make(chan []byte, 4), done: make(chan struct{})}
	go c.read()
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
		_, r, err := c.ws.NextReader()
		if err != nil {
			c.err = err
			return
		}
		buf := readBuffers.Get().(*bytes.Buffer)
		buf.Reset()
		if _, err = buf.ReadFrom(r); err == nil {
			err = c.handle(buf.Bytes(), time.Now())
		}
		readBuffers.Put(buf)
		if err != nil {
			c.err = err
			c.ws.Close()
			return
		}
	}
}

func (c *client) handle(b []byte, at time.Time) error {
	msg, err := unframe(c.proto, b)
	if err != nil {
		return err
	}
	m, err := decodeInbound(msg)
	if err != nil {
		return fmt.Errorf("malformed message from the server: %w", err)
	}
	switch {
	case m.kind == msgAuth && m.sub == authDenied:
		return ErrDenied
	case m.kind != msgSync && m.kind != msgSyncReply:
		return nil
	case m.sub == syncStep1:
		return c.send(syncMessage(syncStep2, []byte(emptyUpdateV1)))
	case m.sub == syncStep2:
		// The payload aliases the read buffer.
		select {
		case c.step2s <- bytes.Clone(m.payload):
		default: // nobody waits for this one
		}
		if c.onUpdate != nil {
			c.onUpdate(m.payload, at)
		}
	case m.sub == syncUpdate:
		if c.onUpdate != nil {
			c.onUpdate(m.payload, at)
		}
	}
	return nil
}

// close ends the connection with a close handshake, waiting briefly for the
// server's answer.
func (c *client) close() {
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
