package interop

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/quirehq/quire/crdt"
	"github.com/quirehq/quire/crdt/lib0"
)

// hostileSecret signs the tokens of the tests in this file: the server
// runs with tokens required, as it would on the open internet.
const hostileSecret = "interop tests' secret, 32 bytes!"

// mintToken runs `quire token` (the binary under test).
func mintToken(t *testing.T, doc, perm, ttl string) string {
	t.Helper()
	out, err := exec.Command(quireBin, "token", "--auth-secret", hostileSecret, "--doc", doc, "--perm", perm, "--ttl", ttl).Output()
	if err != nil {
		t.Fatalf("quire token: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// rawConn is a hand-driven WebSocket connection that sends whatever it is
// told and records how the server closed it.
type rawConn struct {
	ws   *websocket.Conn
	done chan struct{}
	code int // the server's close code; -1 if the connection ended without one
	text string
}

func dialRaw(t *testing.T, srv *quireServer, doc, token string) *rawConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u := srv.wsURL() + "/" + doc + "?token=" + url.QueryEscape(token)
	ws, resp, err := websocket.DefaultDialer.DialContext(ctx, u, nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial: %v (HTTP %d)", err, status)
	}
	c := &rawConn{ws: ws, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				var ce *websocket.CloseError
				if errors.As(err, &ce) {
					c.code, c.text = ce.Code, ce.Text
				} else {
					c.code, c.text = -1, err.Error()
				}
				return
			}
		}
	}()
	t.Cleanup(func() { ws.Close(); <-c.done })
	return c
}

// send writes a message; errors once the server has closed are expected.
func (c *rawConn) send(typ int, msg []byte) error {
	c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.ws.WriteMessage(typ, msg)
}

func (c *rawConn) closed(within time.Duration) bool {
	select {
	case <-c.done:
		return true
	case <-time.After(within):
		return false
	}
}

// hostileClient is the client ID of the content hostile messages carry:
// none of it may ever reach the document.
const hostileClient = 0x0BAD

func hostileUpdate(t *testing.T, s string) []byte {
	t.Helper()
	doc := crdt.NewDoc(crdt.Options{})
	doc.SetClientID(hostileClient)
	text, err := doc.Text("text")
	if err != nil {
		t.Fatal(err)
	}
	var update []byte
	doc.OnUpdate(func(u []byte, _ any) { update = u })
	doc.Transact(nil, func(txn *crdt.Transaction) {
		if err := text.Insert(txn, 0, s, nil); err != nil {
			t.Fatal(err)
		}
	})
	return update
}

func syncMsg(sub uint64, payload []byte) []byte {
	e := lib0.NewEncoder(len(payload) + 12)
	e.WriteVarUint(0)
	e.WriteVarUint(sub)
	e.WriteVarBytes(payload)
	return e.Bytes()
}

// TestHostileFrames: two real y-websocket clients edit one room of a
// server that requires tokens, while hand-driven connections (with valid
// tokens) send every kind of hostile traffic. Each hostile connection is
// closed with the code for what it sent; the editors are never
// disconnected and converge with every marker exactly once; no hostile
// content reaches the document; and the server goes on accepting new
// connections.
func TestHostileFrames(t *testing.T) {
	t.Parallel()
	budget(t, 150*time.Second)
	srv := startServer(t, serverOptions{args: []string{"--auth-secret", hostileSecret}})
	const doc = "hostile"
	token := mintToken(t, doc, "write", "1h")
	a1 := startAgent(t, "a1", srv.wsURL())
	a2 := startAgent(t, "a2", srv.wsURL())
	e1, e2 := a1.openWithToken("e1", doc, token), a2.openWithToken("e2", doc, token)
	e1.waitSynced()
	e2.waitSynced()
	e1.edit(10, 2000, 5)
	e2.edit(10, 2000, 0)

	valid := hostileUpdate(t, "HOSTILE CONTENT")
	rng := rand.New(rand.NewPCG(seed, 0x4057))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	fiveMB := make([]byte, 5<<20)
	copy(fiveMB, syncMsg(2, random(5<<20-8))) // a framed "update" of 5 MB of noise

	kinds := []struct {
		name  string
		codes []int // any of these
		send  func(c *rawConn) error
	}{
		{"text frame", []int{1003}, func(c *rawConn) error { return c.send(websocket.TextMessage, []byte(`{"type":"sync"}`)) }},
		{"random bytes", []int{1003, 1007}, func(c *rawConn) error {
			// Until one is refused: some random messages are harmless
			// (a valid query-awareness, say).
			for range 500 {
				if err := c.send(websocket.BinaryMessage, random(1+rng.IntN(64))); err != nil {
					return err
				}
				if c.closed(5 * time.Millisecond) {
					return nil
				}
			}
			return nil
		}},
		{"truncated update", []int{1007}, func(c *rawConn) error { return c.send(websocket.BinaryMessage, syncMsg(2, valid[:len(valid)-3])) }},
		{"truncated step 2", []int{1007}, func(c *rawConn) error { return c.send(websocket.BinaryMessage, syncMsg(1, valid[:len(valid)/2])) }},
		{"wrong message type", []int{1003}, func(c *rawConn) error { return c.send(websocket.BinaryMessage, []byte{7, 0, 3, 1, 2, 3}) }},
		{"wrong sync sub-type", []int{1007}, func(c *rawConn) error { return c.send(websocket.BinaryMessage, []byte{0, 5, 0}) }},
		{"auth message from a client", []int{1003}, func(c *rawConn) error { return c.send(websocket.BinaryMessage, []byte{2, 0, 1, 'x'}) }},
		{"huge varint length", []int{1007}, func(c *rawConn) error {
			return c.send(websocket.BinaryMessage, []byte{0, 2, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2})
		}},
		{"update claiming 2^35 structs", []int{1007}, func(c *rawConn) error {
			return c.send(websocket.BinaryMessage, syncMsg(2, []byte{1, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xad, 0x17, 0}))
		}},
		{"awareness claiming 2^32 clients", []int{1007}, func(c *rawConn) error {
			return c.send(websocket.BinaryMessage, []byte{1, 6, 0xff, 0xff, 0xff, 0xff, 0x0f, 0})
		}},
		{"5 MB frame", []int{1007}, func(c *rawConn) error { return c.send(websocket.BinaryMessage, fiveMB) }},
		{"frame over the 32 MiB message limit", []int{1009}, func(c *rawConn) error {
			return c.send(websocket.BinaryMessage, make([]byte, 32<<20+1))
		}},
		{"burst of 30000 messages", []int{1008}, func(c *rawConn) error {
			for range 30000 {
				if err := c.send(websocket.BinaryMessage, []byte{1, 1, 0}); err != nil {
					return nil // closed by the server mid-burst
				}
			}
			return nil
		}},
	}
	for _, k := range kinds {
		c := dialRaw(t, srv, doc, token)
		// A send fails once the server has closed; the close is what
		// is checked.
		_ = k.send(c)
		if !c.closed(20 * time.Second) {
			t.Fatalf("%s: connection still open", k.name)
		}
		ok := false
		for _, code := range k.codes {
			ok = ok || c.code == code
		}
		if !ok {
			t.Errorf("%s: closed with %d %q, want one of %v", k.name, c.code, c.text, k.codes)
		} else {
			t.Logf("%s: closed with %d %q", k.name, c.code, c.text)
		}
	}
	time.Sleep(300 * time.Millisecond) // the editors go on meanwhile
	e1.stop()
	e2.stop()

	// A new connection is accepted and syncs; everyone converges.
	probe := startAgent(t, "probe", srv.wsURL()).openWithToken("probe", doc, token)
	probe.waitSynced()
	snaps := waitConverged(t, convergeWithin, e1, e2, probe)
	live, inserted := expectedMarkers(snaps[:2])
	checkMarkers(t, snaps[2], live, inserted)
	noServerCloses(t, e1, e2)
	if strings.Contains(snaps[2].Text, "HOSTILE") {
		t.Error("hostile content reached the document")
	}
	sv, err := base64.StdEncoding.DecodeString(snaps[2].SV)
	if err != nil {
		t.Fatal(err)
	}
	if clients := decodeSVClients(t, sv); clients[hostileClient] {
		t.Errorf("the document has structs of the hostile client: %v", clients)
	}
	h, err := srv.health()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("after the hostile traffic: %+v; %d markers converged", h, len(live))
}

// decodeSVClients returns the client IDs of a v1 state vector.
func decodeSVClients(t *testing.T, sv []byte) map[uint64]bool {
	t.Helper()
	d := lib0.NewDecoder(sv)
	n, err := d.ReadVarUint()
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[uint64]bool)
	for range n {
		client, err1 := d.ReadVarUint()
		_, err2 := d.ReadVarUint()
		if err1 != nil || err2 != nil {
			t.Fatalf("bad state vector %x", sv)
		}
		out[client] = true
	}
	return out
}

// TestReadOnlyAndExpiryWithYWebsocket: over a server that requires tokens,
// real y-websocket clients: one with a read-only token receives the
// writer's edits while its own never reach anyone (and it is not
// disconnected for trying); one whose token expires is closed with 4401;
// a token for another document, or none, never connects.
func TestReadOnlyAndExpiryWithYWebsocket(t *testing.T) {
	t.Parallel()
	budget(t, 90*time.Second)
	srv := startServer(t, serverOptions{args: []string{"--auth-secret", hostileSecret}})
	const doc = "readonly"
	a := startAgent(t, "a", srv.wsURL())
	w := a.openWithToken("w", doc, mintToken(t, doc, "write", "1h"))
	r := a.openWithToken("r", doc, mintToken(t, "read*", "read", "1h"))
	w.waitSynced()
	r.waitSynced()
	w.insert(20)
	r.insert(20) // refused by the server: stays local to r
	w.insert(5)
	deadline := time.Now().Add(convergeWithin)
	for {
		ws, rs := w.snapshot(true), r.snapshot(true)
		got := 0
		for _, m := range ws.Inserted {
			if strings.Contains(rs.Text, m) {
				got++
			}
		}
		if got == 25 {
			for _, m := range rs.Inserted {
				if strings.Contains(ws.Text, m) {
					t.Errorf("the reader's marker %s reached the writer", m)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the reader has %d of the writer's 25 markers", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	noServerCloses(t, w, r)
	// A fresh client sees the writer's document, without the reader's edits.
	fresh := a.openWithToken("fresh", doc, mintToken(t, doc, "read", "1h"))
	fresh.waitSynced()
	if f, ws := fresh.snapshot(false), w.snapshot(false); f.Text != ws.Text {
		t.Errorf("fresh reader has %q, writer %q", f.Text, ws.Text)
	}

	// Expiry mid-session: a two-second token.
	x := a.openWithToken("x", doc, mintToken(t, doc, "write", "2s"))
	x.waitSynced()
	deadline = time.Now().Add(10 * time.Second)
	for {
		cl := x.serverCloses()
		if len(cl) > 0 {
			if *cl[0].Code != 4401 || cl[0].Reason != "token expired" {
				t.Errorf("expired client closed with %v", cl[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the client with an expired token is still connected")
		}
		time.Sleep(50 * time.Millisecond)
	}
	x.destroy()

	// Refused handshakes: y-websocket sees the socket fail and retries.
	for _, tok := range []string{mintToken(t, "other", "write", "1h"), "garbage"} {
		bad := a.openWithToken("bad"+tok[:3], doc, tok)
		time.Sleep(500 * time.Millisecond)
		if s := bad.snapshot(false); s.Connected || s.Synced {
			t.Errorf("a client with token %.10s… connected", tok)
		}
		bad.destroy()
	}
	if !bytes.Contains([]byte(srv.logs.String()), []byte("refused: not authorized")) {
		t.Error("refused handshakes were not logged")
	}
}
