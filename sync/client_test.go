package sync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	gosync "sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/quirehq/quire/crdt"
	"github.com/quirehq/quire/crdt/lib0"
)

// testClient is a y-websocket client in Go: it speaks y-protocols with its
// own crdt.Doc the way WebsocketProvider does (sync step 1 on open, step 2
// in answer to the server's step 1, local changes sent as updates), and
// records what it receives. Its decoding is written against lib0 directly
// rather than with the server's helpers, so that a framing bug on one side
// is not mirrored on the other.
type testClient struct {
	t    testing.TB
	name string
	ws   *websocket.Conn
	wmu  gosync.Mutex // one writer at a time, as gorilla requires

	mu        gosync.Mutex
	doc       *crdt.Doc
	text      *crdt.Text
	unsub     func()
	messages  int               // messages received, of any kind
	keepalive int               // empty awareness updates received
	step2     int               // sync step 2 messages received
	awareness map[uint64]string // present states by client ID
	clocks    map[uint64]uint64 // last clock heard per client ID
	awUpdates [][]awarenessEntry
	denied    []string // reasons of the permission-denied auth messages received

	reading   bool
	done      chan struct{}
	closeCode int // 0 while open; -1 when the connection ended without a close frame
	closeText string
}

// remoteOrigin marks changes that came from the server, which must not be
// sent back.
type remoteOrigin struct{}

type clientOptions struct {
	doc    *crdt.Doc   // the client's document; nil: a new one
	header http.Header // handshake headers, e.g. Origin
	noRead bool        // never read: a slow consumer
	silent bool        // do not send sync step 1 on open
}

// dial connects a client to document name on the server at base
// ("ws://host:port"). It fails the test if the handshake fails.
func dial(t testing.TB, base, name string, opts clientOptions) *testClient {
	t.Helper()
	c, resp, err := tryDial(t, base, name, opts)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %q: %v (HTTP %d)", name, err, status)
	}
	return c
}

func tryDial(t testing.TB, base, name string, opts clientOptions) (*testClient, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, resp, err := websocket.DefaultDialer.DialContext(ctx, base+"/ws/"+name, opts.header)
	if err != nil {
		return nil, resp, err
	}
	doc := opts.doc
	if doc == nil {
		doc = crdt.NewDoc(crdt.Options{})
	}
	text, err := doc.Text("text")
	if err != nil {
		t.Fatal(err)
	}
	c := &testClient{
		t: t, name: name, ws: ws, doc: doc, text: text,
		awareness: make(map[uint64]string),
		clocks:    make(map[uint64]uint64),
		done:      make(chan struct{}),
	}
	c.unsub = doc.OnUpdate(func(update []byte, origin any) {
		if _, ok := origin.(remoteOrigin); !ok {
			c.write(syncMessage(syncUpdate, update))
		}
	})
	if !opts.silent {
		c.write(syncMessage(syncStep1, doc.EncodeStateVector()))
	}
	if !opts.noRead {
		c.startReading()
	}
	t.Cleanup(c.close)
	return c, resp, nil
}

func syncMessage(sub uint64, payload []byte) []byte {
	e := lib0.NewEncoder(len(payload) + 8)
	e.WriteVarUint(0)
	e.WriteVarUint(sub)
	e.WriteVarBytes(payload)
	return e.Bytes()
}

func awarenessMessage(entries ...awarenessEntry) []byte {
	inner := lib0.NewEncoder(64)
	inner.WriteVarUint(uint64(len(entries)))
	for _, e := range entries {
		inner.WriteVarUint(e.client)
		inner.WriteVarUint(e.clock)
		inner.WriteVarString(e.state)
	}
	e := lib0.NewEncoder(64)
	e.WriteVarUint(1)
	e.WriteVarBytes(inner.Bytes())
	return e.Bytes()
}

// write sends a binary message; errors after the connection closed are
// expected in some tests and ignored.
func (c *testClient) write(msg []byte) {
	c.writeType(websocket.BinaryMessage, msg)
}

func (c *testClient) writeType(typ int, msg []byte) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_ = c.ws.WriteMessage(typ, msg)
}

// startReading starts the reader (of a client dialed with noRead, late).
func (c *testClient) startReading() {
	c.mu.Lock()
	c.reading = true
	c.mu.Unlock()
	go c.readLoop()
}

func (c *testClient) readLoop() {
	defer close(c.done)
	for {
		typ, msg, err := c.ws.ReadMessage()
		if err != nil {
			c.mu.Lock()
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				c.closeCode, c.closeText = ce.Code, ce.Text
			} else {
				c.closeCode = -1
				c.closeText = err.Error()
			}
			c.mu.Unlock()
			return
		}
		if typ != websocket.BinaryMessage {
			c.t.Errorf("%s: server sent message type %d", c.name, typ)
			continue
		}
		if err := c.handle(msg); err != nil {
			c.t.Errorf("%s: bad message from server %x: %v", c.name, msg, err)
		}
	}
}

// handle applies one message from the server.
func (c *testClient) handle(msg []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.messages++
	d := lib0.NewDecoder(msg)
	kind, err := d.ReadVarUint()
	if err != nil {
		return err
	}
	switch kind {
	case 0:
		sub, err := d.ReadVarUint()
		if err != nil {
			return err
		}
		payload, err := d.ReadVarBytes()
		if err != nil {
			return err
		}
		switch sub {
		case syncStep1:
			diff, err := c.doc.EncodeDiff(payload)
			if err != nil {
				return err
			}
			c.write(syncMessage(syncStep2, diff))
		case syncStep2, syncUpdate:
			if sub == syncStep2 {
				c.step2++
			}
			if err := c.doc.ApplyUpdate(payload, remoteOrigin{}); err != nil {
				return err
			}
		default:
			return fmt.Errorf("sync sub-type %d", sub)
		}
	case 1:
		payload, err := d.ReadVarBytes()
		if err != nil {
			return err
		}
		if bytes.Equal(payload, []byte{0}) {
			c.keepalive++
		}
		entries, err := decodeAwarenessUpdate(payload)
		if err != nil {
			return err
		}
		c.awUpdates = append(c.awUpdates, entries)
		for _, e := range entries {
			c.clocks[e.client] = e.clock
			if e.state == "null" {
				delete(c.awareness, e.client)
			} else {
				c.awareness[e.client] = e.state
			}
		}
	case 2:
		reason, err := decodePermissionDenied(msg)
		if err != nil {
			return err
		}
		c.denied = append(c.denied, reason)
		return nil
	default:
		return fmt.Errorf("message type %d", kind)
	}
	if d.Remaining() != 0 {
		return fmt.Errorf("%d trailing bytes", d.Remaining())
	}
	return nil
}

// decodePermissionDenied decodes y-protocols' auth message as
// y-websocket does: type 2, then the auth sub-type, 0 for permission
// denied, followed by the reason.
func decodePermissionDenied(msg []byte) (string, error) {
	d := lib0.NewDecoder(msg)
	kind, err := d.ReadVarUint()
	if err != nil {
		return "", err
	}
	if kind != 2 {
		return "", fmt.Errorf("message type %d, want 2", kind)
	}
	sub, err := d.ReadVarUint()
	if err != nil {
		return "", err
	}
	if sub != 0 {
		return "", fmt.Errorf("auth sub-type %d, want 0 (permission denied)", sub)
	}
	reason, err := d.ReadVarString()
	if err != nil {
		return "", err
	}
	if d.Remaining() != 0 {
		return "", fmt.Errorf("%d trailing bytes", d.Remaining())
	}
	return reason, nil
}

// insert appends s to the client's text; the change goes to the server.
func (c *testClient) insert(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.doc.Transact(nil, func(txn *crdt.Transaction) {
		if err := c.text.Insert(txn, c.text.Len(), s, nil); err != nil {
			c.t.Error(err)
		}
	})
}

func (c *testClient) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.text.String()
}

// setBlob writes round and blob to the client's map "blobs": a large
// update that is cheap to apply.
func (c *testClient) setBlob(round int, blob []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, err := c.doc.Map("blobs")
	if err != nil {
		c.t.Fatal(err)
	}
	c.doc.Transact(nil, func(txn *crdt.Transaction) {
		if _, err := m.Set(txn, "blob", blob); err != nil {
			c.t.Error(err)
		}
		if _, err := m.Set(txn, "round", round); err != nil {
			c.t.Error(err)
		}
	})
}

// blobRound returns the round of the last blob received.
func (c *testClient) blobRound() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, err := c.doc.Map("blobs")
	if err != nil {
		c.t.Fatal(err)
	}
	v, _ := m.Get("round")
	switch v := v.(type) {
	case float64:
		return int(v)
	case int64:
		return int(v)
	case int:
		return v
	}
	return 0
}

// with runs fn with the client's state locked.
func (c *testClient) with(fn func(c *testClient)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fn(c)
}

// closed waits for the server to end the connection and returns the close
// code and reason it sent.
func (c *testClient) closed(timeout time.Duration) (int, string) {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(timeout):
		c.t.Fatalf("%s: connection still open after %v", c.name, timeout)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeCode, c.closeText
}

func (c *testClient) isOpen() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// expectClose fails the test unless the server closes the connection with
// code.
func (c *testClient) expectClose(code int, reason string) {
	c.t.Helper()
	got, text := c.closed(10 * time.Second)
	if got != code || (reason != "" && text != reason) {
		c.t.Fatalf("%s: closed with %d %q, want %d %q", c.name, got, text, code, reason)
	}
}

// close ends the connection cleanly (close handshake) and stops reading.
func (c *testClient) close() {
	c.wmu.Lock()
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	c.wmu.Unlock()
	c.mu.Lock()
	reading := c.reading
	c.mu.Unlock()
	if reading {
		select {
		case <-c.done:
		case <-time.After(2 * time.Second):
		}
	}
	c.ws.Close()
	c.mu.Lock()
	c.unsub()
	c.mu.Unlock()
}

// waitFor polls cond until it holds, failing the test after a timeout.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitText waits until every client's text equals want.
func waitText(t testing.TB, want string, clients ...*testClient) {
	t.Helper()
	waitFor(t, fmt.Sprintf("text %q", want), func() bool {
		return !slices.ContainsFunc(clients, func(c *testClient) bool { return c.String() != want })
	})
}

// waitConverged waits until all clients hold the same non-empty text, which
// contains every part, and returns it.
func waitConverged(t testing.TB, parts []string, clients ...*testClient) string {
	t.Helper()
	var text string
	waitFor(t, "convergence", func() bool {
		text = clients[0].String()
		for _, p := range parts {
			if !bytes.Contains([]byte(text), []byte(p)) {
				return false
			}
		}
		for _, c := range clients[1:] {
			if c.String() != text {
				return false
			}
		}
		return true
	})
	return text
}
