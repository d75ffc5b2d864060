package sync

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/olahol/melody"

	"github.com/quirehq/quire/crdt"
	"github.com/quirehq/quire/crdt/lib0"
)

// TestIdleConnectionHasNoWriter checks that a connection's writer runs
// only while something waits to be written: once a member has synced and
// been sent everything, no goroutine of the server is in conn.write, and
// melody's writer, never handed a message, is parked in its loop.
func TestIdleConnectionHasNoWriter(t *testing.T) {
	h := newHarness(t, Options{})
	// Melody calls this after each binary message its writer wrote.
	var melodyWrote atomic.Int32
	h.srv.m.HandleSentMessageBinary(func(*melody.Session, []byte) { melodyWrote.Add(1) })
	a, b := h.dial("doc"), h.dial("doc")
	a.insert("typed by a, so that b is sent an update")
	waitText(t, "typed by a, so that b is sent an update", b)

	var writers, melodyWriters int
	waitFor(t, "the writers to end", func() bool {
		writers, melodyWriters = 0, 0
		for _, g := range goroutineStacks() {
			if strings.Contains(g, "sync.(*conn).write(") {
				writers++
			}
			if strings.Contains(g, "melody.(*Session).writePump") {
				melodyWriters++
				if strings.Contains(g, "websocket.(*Conn).WriteMessage") {
					t.Fatalf("melody's writer is writing:\n%s", g)
				}
			}
		}
		return writers == 0
	})
	if melodyWriters < 2 {
		t.Errorf("%d melody writers for 2 connections", melodyWriters)
	}
	// A new message starts a writer again.
	b.insert(", and b answers")
	waitText(t, "typed by a, so that b is sent an update, and b answers", a, b)
	if n := melodyWrote.Load(); n != 0 {
		t.Errorf("melody's writer wrote %d messages", n)
	}
}

// TestPingsKeepAReadingClient checks the server's own pings: a client that
// reads answers them (gorilla answers a ping while reading), which keeps
// extending its read deadline, so it stays connected for many times the
// deadline; a client that never reads sends no pong and is dropped once
// the deadline passes. Without pings both would be dropped.
func TestPingsKeepAReadingClient(t *testing.T) {
	const ping, writeTimeout = 50 * time.Millisecond, 100 * time.Millisecond
	pongWait := 2*ping + writeTimeout
	h := newHarness(t, Options{PingInterval: ping, WriteTimeout: writeTimeout})
	reading := h.dialWith("reading", clientOptions{noRead: true})
	var pings atomic.Int32
	reading.ws.SetPingHandler(func(data string) error {
		pings.Add(1)
		return reading.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	reading.startReading()
	h.dialWith("silent", clientOptions{noRead: true})
	waitFor(t, "both members", func() bool { return h.members("reading") == 1 && h.members("silent") == 1 })

	time.Sleep(8 * pongWait)
	if !reading.isOpen() || h.members("reading") != 1 {
		t.Fatalf("a client answering pings was dropped after %v (read deadline %v)", 8*pongWait, pongWait)
	}
	if got := pings.Load(); got < 4 {
		t.Errorf("%d pings in %v at one per %v", got, 8*pongWait, ping)
	}
	waitFor(t, "the silent client to be dropped", func() bool { return h.members("silent") == 0 })
}

// TestFrameHeaders checks the frames the server writes against RFC 6455's
// three length forms, at each form's edges; TestLargeFramesReachClients
// has gorilla's client read them.
func TestFrameHeaders(t *testing.T) {
	for _, tc := range []struct {
		n    int
		head []byte
	}{
		{0, []byte{0x82, 0}},
		{125, []byte{0x82, 125}},
		{126, []byte{0x82, 126, 0, 126}},
		{0xffff, []byte{0x82, 126, 0xff, 0xff}},
		{0x10000, []byte{0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
	} {
		msg := bytes.Repeat([]byte{7}, tc.n)
		f := binaryFrame(msg)
		if !bytes.HasPrefix(f, tc.head) || len(f) != len(tc.head)+tc.n || len(f) != frameSize(tc.n) || !bytes.Equal(f[len(tc.head):], msg) {
			t.Errorf("%d bytes: frame starts % x (length %d), want % x", tc.n, f[:min(len(f), 10)], len(f), tc.head)
		}
	}
	if f := closeFrame(4001, "bye"); !bytes.Equal(f, []byte{0x88, 5, 0x0f, 0xa1, 'b', 'y', 'e'}) {
		t.Errorf("close frame % x", f)
	}
	if f := closeFrame(websocket.CloseNoStatusReceived, ""); !bytes.Equal(f, []byte{0x88, 0}) {
		t.Errorf("close frame without status % x", f)
	}
}

// TestLargeFramesReachClients sends messages of every frame length form
// through the server to a member that does not read for a while, so that
// the broadcasts' writes without blocking meet its full socket and hand
// the rest of a frame over to a writer goroutine, then lets it read.
func TestLargeFramesReachClients(t *testing.T) {
	h := newHarness(t, Options{})
	a := h.dial("doc")
	b := h.dialWith("doc", clientOptions{noRead: true})
	waitFor(t, "both members", func() bool { return h.members("doc") == 2 })
	// Small socket buffers (no autotuning) on the way to b.
	if err := b.ws.UnderlyingConn().(*net.TCPConn).SetReadBuffer(8 << 10); err != nil {
		t.Fatal(err)
	}
	r := h.roomOf("doc")
	r.mu.Lock()
	for m := range r.members {
		if err := m.sock.Conn.(*net.TCPConn).SetWriteBuffer(8 << 10); err != nil {
			t.Error(err)
		}
	}
	r.mu.Unlock()
	want := ""
	for i, n := range []int{10, 200, 70_000, 300_000} {
		part := strings.Repeat(string(rune('a'+i)), n)
		a.insert(part)
		want += part
		waitText(t, want, a)
	}
	waitFor(t, "a writer blocked on b's full socket", func() bool {
		for _, g := range goroutineStacks() {
			if strings.Contains(g, "sync.(*conn).write(") {
				return true
			}
		}
		return false
	})
	b.startReading()
	waitText(t, want, b)
	late := h.dial("doc") // its sync step 2 holds the whole text in one frame
	waitText(t, want, late)
}

// TestClientPingAndClose checks the answers to a client's control frames,
// which the server writes through its send queue: a pong with the ping's
// payload, and a close frame with the client's close code.
func TestClientPingAndClose(t *testing.T) {
	h := newHarness(t, Options{})
	c := h.dialWith("doc", clientOptions{noRead: true})
	pongs := make(chan string, 1)
	c.ws.SetPongHandler(func(data string) error { pongs <- data; return nil })
	if err := c.ws.WriteControl(websocket.PingMessage, []byte("are you there"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	readErr := make(chan error, 1)
	go func() {
		for {
			if _, _, err := c.ws.ReadMessage(); err != nil {
				readErr <- err
				return
			}
		}
	}()
	select {
	case got := <-pongs:
		if got != "are you there" {
			t.Errorf("pong %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no pong")
	}
	if err := c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4001, "leaving"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-readErr:
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != 4001 {
			t.Errorf("read ended with %v, want the server's close frame with code 4001", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no close frame")
	}
	waitFor(t, "the session to end", func() bool { return h.members("doc") == 0 })
}

// TestTLSConnectionsGoThroughTheConn checks a Server behind TLS: the
// socket must never be written to directly (that would bypass the
// encryption), so every frame goes through the net.Conn, broadcasts
// included, and clients still sync and receive large frames.
func TestTLSConnectionsGoThroughTheConn(t *testing.T) {
	srv, err := NewServer(Options{Store: newFaultStore(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ws/", srv)
	hs := httptest.NewTLSServer(mux)
	defer hs.Close()
	defer srv.Shutdown(t.Context())
	dialer := websocket.Dialer{TLSClientConfig: hs.Client().Transport.(*http.Transport).TLSClientConfig}
	base := "wss" + strings.TrimPrefix(hs.URL, "https")
	read := func(ws *websocket.Conn, want int) {
		t.Helper()
		ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			_, msg, err := ws.ReadMessage()
			if err != nil {
				t.Fatalf("reading: %v", err)
			}
			if len(msg) >= want {
				return
			}
		}
	}
	a, _, err := dialer.Dial(base+"/ws/doc", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, _, err := dialer.Dial(base+"/ws/doc", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	waitFor(t, "both members", func() bool {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		r := srv.rooms["doc"]
		if r == nil {
			return false
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		for m := range r.members {
			if m.sock != nil {
				t.Fatal("a TLS connection is written to below TLS")
			}
		}
		return len(r.members) == 2
	})
	// A 100 KB insert from a reaches b through the broadcast.
	doc := crdt.NewDoc(crdt.Options{ClientID: 7})
	text, err := doc.Text("text")
	if err != nil {
		t.Fatal(err)
	}
	var update []byte
	unsub := doc.OnUpdate(func(u []byte, _ any) { update = u })
	doc.Transact(nil, func(txn *crdt.Transaction) {
		if err := text.Insert(txn, 0, strings.Repeat("x", 100_000), nil); err != nil {
			t.Fatal(err)
		}
	})
	unsub()
	if err := a.WriteMessage(websocket.BinaryMessage, syncMessage(syncUpdate, update)); err != nil {
		t.Fatal(err)
	}
	read(b, 100_000)
}

// TestMessageFrames checks the frames built in one piece (syncFrame,
// awarenessFrame) against the messages encoded with lib0 and then framed,
// for payloads whose lengths take varuints and frame headers of every
// size.
func TestMessageFrames(t *testing.T) {
	for _, n := range []int{0, 1, 121, 122, 125, 127, 128, 200, 65_000, 65_531, 65_532, 70_000, 2_100_000} {
		payload := bytes.Repeat([]byte{3}, n)
		for _, sub := range []uint64{syncStep1, syncStep2, syncUpdate} {
			if got, want := syncFrame(sub, payload), binaryFrame(encodeSync(sub, payload)); !bytes.Equal(got, want) {
				t.Fatalf("syncFrame(%d, %d bytes) = % x…, want % x…", sub, n, got[:min(len(got), 12)], want[:min(len(want), 12)])
			}
		}
		entries := []awarenessEntry{{client: 1, clock: 2, state: string(payload)}, {client: 1 << 40, clock: 0, state: "null"}}
		e := lib0.NewEncoder(0)
		e.WriteVarUint(messageAwareness)
		e.WriteVarBytes(encodeAwarenessUpdate(entries))
		if got, want := awarenessFrame(entries), binaryFrame(e.Bytes()); !bytes.Equal(got, want) {
			t.Fatalf("awarenessFrame with a state of %d bytes = % x…, want % x…", n, got[:min(len(got), 12)], want[:min(len(want), 12)])
		}
	}
	if h, want := step2Header(70_000), syncFrame(syncStep2, make([]byte, 70_000))[:len(step2Header(70_000))]; !bytes.Equal(h, want) || len(h) > step2Headroom {
		t.Errorf("step2Header(70000) = % x, want % x within %d bytes", h, want, step2Headroom)
	}
}

// TestRepliesAndBroadcastsStartNoWriter checks that a connection's own
// goroutine writes its replies (the opening messages of a join, a sync
// step 2, an answer to query-awareness) and that awareness broadcasts are
// written inline: none of them starts a writer goroutine while the
// sockets have room.
func TestRepliesAndBroadcastsStartNoWriter(t *testing.T) {
	h := newHarness(t, Options{})
	a := h.dial("doc")
	a.insert("hello")
	b := h.dial("doc")
	waitText(t, "hello", b)
	a.write(awarenessMessage(awarenessEntry{client: 11, clock: 1, state: `{"user":"ann"}`}))
	waitFor(t, "b to see ann", func() bool { _, _, ok := b.awarenessOf(11); return ok })
	before := b.updatesAbout(11)
	b.write([]byte{messageQueryAwareness})
	waitFor(t, "the query's answer", func() bool { return b.updatesAbout(11) > before })
	b.insert(", world")
	waitText(t, "hello, world", a, b)
	if n := h.srv.writersStarted.Load(); n != 0 {
		t.Errorf("%d writer goroutines started", n)
	}
}

// TestOpeningMessagesShareTheHandshakeWrite checks that the answer to the
// upgrade request, which the socket holds (socket.go), goes out first,
// with the server's opening sync step 1 right behind it: a client joining
// a loaded document finds both in its first read. (That they went in one
// write, TestSocketConnHoldsTheFirstWrite checks: a client reading late
// finds both either way. A client whose document must be loaded first
// gets the answer before the load.)
func TestOpeningMessagesShareTheHandshakeWrite(t *testing.T) {
	h := newHarness(t, Options{})
	h.dial("doc") // loads it
	nc, err := net.Dial("tcp", strings.TrimPrefix(h.base, "ws://"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	req := "GET /ws/doc HTTP/1.1\r\nHost: quire.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := nc.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, err := nc.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	got := buf[:n]
	if !bytes.HasPrefix(got, []byte("HTTP/1.1 101 ")) {
		t.Fatalf("first read %q, want the 101 answer", got)
	}
	end := bytes.Index(got, []byte("\r\n\r\n"))
	if end < 0 {
		t.Fatalf("first read %q holds part of the answer", got)
	}
	frames := got[end+4:]
	// An unmasked binary frame: [messageSync, syncStep1, state vector].
	if len(frames) < 4 || frames[0] != finBinary || frames[2] != messageSync || frames[3] != syncStep1 {
		t.Fatalf("first read after the answer %x, want the sync step 1 frame", frames)
	}
}
