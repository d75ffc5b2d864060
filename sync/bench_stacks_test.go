package sync

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/olahol/melody"
)

// BenchmarkConnectionStacks measures the goroutine stacks an idle
// connection holds once it has been sent a message (README, "Memory per
// idle connection"), reported as stackKB/conn:
//
//	go test ./sync -run '^$' -bench ConnectionStacks -benchtime 1x
//
// melody-writer is a bare melody server that writes its message through
// melody's writer goroutine, as the server did before it wrote its own
// frames: that writer's stack grows to 4 KB for good. quire is the Server,
// answering each client's sync step 1 (a sync step 1 and step 2 written
// back). Clients here run no goroutines, so every stack counted is the
// server's.
func BenchmarkConnectionStacks(b *testing.B) {
	const conns = 300
	b.Run("melody-writer", func(b *testing.B) {
		m := melody.New()
		m.Config.MessageBufferSize = 1
		m.Upgrader.ReadBufferSize = readBufferSize
		m.Upgrader.WriteBufferSize = writeBufferSize
		written := make(chan struct{}, conns)
		m.HandleConnect(func(s *melody.Session) {
			close(s.Keys["upgraded"].(chan struct{}))
			s.WriteBinary([]byte{messageAwareness, 1, 0})
		})
		m.HandleSentMessageBinary(func(*melody.Session, []byte) { written <- struct{}{} })
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// The session on a goroutine of its own, as Server.serve does.
			upgraded := make(chan struct{})
			go m.HandleRequestWithKeys(w, r, map[string]any{"upgraded": upgraded})
			<-upgraded
		}))
		defer hs.Close()
		defer m.Close()
		url := "ws" + strings.TrimPrefix(hs.URL, "http")
		reportStacks(b, conns, func(ws *websocket.Conn) {}, url, func() {
			for range conns {
				<-written
			}
		})
	})
	b.Run("quire", func(b *testing.B) {
		// Logging at info, as `quire serve` does: formatting a debug
		// record on the reader would grow its stack.
		h := newHarness(b, Options{Logger: slog.New(slog.DiscardHandler)})
		reportStacks(b, conns, func(ws *websocket.Conn) {
			if err := ws.WriteMessage(websocket.BinaryMessage, syncMessage(syncStep1, []byte{0})); err != nil {
				b.Fatal(err)
			}
		}, h.base+"/ws/doc", func() {
			waitFor(b, "the answers to be written", func() bool {
				for _, g := range goroutineStacks() {
					if strings.Contains(g, "sync.(*conn).write(") {
						return false
					}
				}
				return h.members("doc") == conns
			})
		})
	})
}

// reportStacks opens conns connections to url, greets each with hello,
// waits for the server's writes (settled), and reports the growth of the
// process's stack memory per connection.
func reportStacks(b *testing.B, conns int, hello func(*websocket.Conn), url string, settled func()) {
	var sum float64
	for range b.N {
		before := stackInuse()
		var open []*websocket.Conn
		for range conns {
			ws, _, err := websocket.DefaultDialer.Dial(url, nil)
			if err != nil {
				b.Fatal(err)
			}
			hello(ws)
			open = append(open, ws)
		}
		settled()
		time.Sleep(100 * time.Millisecond) // HTTP handlers return
		sum += float64(stackInuse()-before) / float64(conns) / 1024
		for _, ws := range open {
			ws.Close()
		}
		// The sessions end, and their stacks go, before the next count.
		waitFor(b, "the sessions to end", func() bool {
			for _, g := range goroutineStacks() {
				if strings.Contains(g, "melody.(*Session)") {
					return false
				}
			}
			return true
		})
	}
	b.ReportMetric(sum/float64(b.N), "stackKB/conn")
}

// stackInuse is the stack memory in use after two collections (which
// shrink the stacks that can shrink).
func stackInuse() int64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return int64(ms.StackInuse)
}
