package sync

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// goroutineStacks returns the stack of every goroutine.
func goroutineStacks() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Split(string(buf[:n]), "\n\n")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// soleMember waits for document name's room to have one member and
// returns it.
func (h *harness) soleMember(name string) *conn {
	h.t.Helper()
	waitFor(h.t, "the member", func() bool { return h.members(name) == 1 })
	r := h.roomOf(name)
	r.mu.Lock()
	defer r.mu.Unlock()
	for m := range r.members {
		return m
	}
	return nil
}

// TestReaderDoesNotRunOnHTTPGoroutine checks that once a connection is
// up, melody's reader runs on a goroutine of its own, not on net/http's
// goroutine for the connection (whose stack grew while serving the
// request, and which would keep net/http's state reachable), and that no
// handler call remains.
func TestReaderDoesNotRunOnHTTPGoroutine(t *testing.T) {
	h := newHarness(t, Options{})
	h.dial("doc")
	h.dial("doc")
	waitFor(t, "both members", func() bool { return h.members("doc") == 2 })

	var readers, handlers int
	waitFor(t, "the HTTP handlers to return", func() bool {
		readers, handlers = 0, 0
		for _, g := range goroutineStacks() {
			if strings.Contains(g, "melody.(*Session).readPump") {
				readers++
				if strings.Contains(g, "net/http.(*conn).serve") {
					t.Fatalf("melody's reader runs on net/http's goroutine:\n%s", g)
				}
			}
			if strings.Contains(g, "sync.(*Server).ServeHTTP") {
				handlers++
			}
		}
		return handlers == 0
	})
	// The test clients run no melody: these readers are servers'.
	if readers < 2 {
		t.Errorf("%d melody readers for 2 connections", readers)
	}
}

// TestIdleConnectionHoldsNoWriteBuffer checks what an idle connection's
// gorilla Conn holds: no write buffer (gorilla writes no message; it has
// a pool it never draws from) and a read buffer of readBufferSize, not net/http's
// 4 KB ones. It reads gorilla's unexported fields (gorilla is pinned in
// go.mod): a gorilla that renames them fails here, not silently.
func TestIdleConnectionHoldsNoWriteBuffer(t *testing.T) {
	h := newHarness(t, Options{})
	cl := h.dial("doc")
	cl.insert("some text, so that the member is sent something")
	c := h.soleMember("doc")
	ws := reflect.ValueOf(c.sess.WebsocketConnection()).Elem()
	field := func(name string) reflect.Value {
		f := ws.FieldByName(name)
		if !f.IsValid() {
			t.Fatalf("gorilla's Conn has no field %q: update this test to the gorilla version in go.mod", name)
		}
		return f
	}
	// Wait for the messages of the join (sync step 1 and 2) to be written.
	waitFor(t, "the join's messages to be written, with no write buffer", func() bool {
		c.out.mu.Lock()
		busy := c.out.busy
		c.out.mu.Unlock()
		return !busy && field("writeBuf").Len() == 0
	})
	br := field("br")
	if br.IsNil() {
		t.Fatal("no read buffer")
	}
	if n := br.Elem().FieldByName("buf").Len(); n != readBufferSize {
		t.Errorf("read buffer of %d bytes, want %d", n, readBufferSize)
	}
	// The pool's buffers still work: the connection goes on syncing.
	other := h.dial("doc")
	cl.insert(", and more")
	waitText(t, cl.String(), cl, other)
}

// TestFailedUpgradeIsAnswered checks that a request the upgrader refuses
// (here: no WebSocket handshake headers) still gets its answer from the
// connection's goroutine, and that the server does not count or wait for
// it.
func TestFailedUpgradeIsAnswered(t *testing.T) {
	h := newHarness(t, Options{})
	resp, err := h.hs.Client().Get(h.hs.URL + "/ws/doc")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("got %d, want 400 from the upgrader", resp.StatusCode)
	}
	if !h.logs.contains("upgrade failed") {
		t.Error("no upgrade failure logged")
	}
	if st := h.stats(); st.Connections != 0 {
		t.Errorf("%d connections counted", st.Connections)
	}
	// Shutdown waits for every connection's goroutine: it must not wait
	// for this one.
	start := time.Now()
	h.shutdown()
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("shutdown took %v", took)
	}
}

// BenchmarkReceiveLargeMessage measures reading a 1 MB message (a large
// sync step 2) through gorilla over loopback with the upgrader as the
// server sets it (upgrade.go: a small read buffer of the connection's own)
// and as it was (net/http's 4 KB buffers reused).
func BenchmarkReceiveLargeMessage(b *testing.B) {
	for _, tc := range []struct {
		name      string
		configure func(s *Server, u *websocket.Upgrader)
	}{
		{fmt.Sprintf("own-%dB-buffer", readBufferSize), func(s *Server, u *websocket.Upgrader) { s.configureUpgrader(u) }},
		{"http-4KB-buffers", func(_ *Server, u *websocket.Upgrader) {}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := &Server{}
			u := &websocket.Upgrader{}
			tc.configure(s, u)
			got := make(chan int, 1)
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ws, err := u.Upgrade(w, r, nil)
				if err != nil {
					return
				}
				defer ws.Close()
				ws.SetReadLimit(defaultMaxMessageBytes)
				for {
					_, msg, err := ws.ReadMessage()
					if err != nil {
						return
					}
					got <- len(msg)
				}
			}))
			defer hs.Close()
			ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(hs.URL, "http")+"/", nil)
			if err != nil {
				b.Fatal(err)
			}
			defer ws.Close()
			msg := bytes.Repeat([]byte{1, 2, 3, 4}, 1<<18)
			b.SetBytes(int64(len(msg)))
			b.ResetTimer()
			for range b.N {
				if err := ws.WriteMessage(websocket.BinaryMessage, msg); err != nil {
					b.Fatal(err)
				}
				if n := <-got; n != len(msg) {
					b.Fatalf("read %d bytes of %d", n, len(msg))
				}
			}
		})
	}
}
