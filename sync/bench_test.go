package sync

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/quirehq/quire/crdt"
	"github.com/quirehq/quire/crdt/lib0"
)

// discardStore stores nothing: the benchmark measures the room, not the
// storage (see storage's own benchmarks).
type discardStore struct{}

func (discardStore) Load(context.Context, string) ([]byte, error) { return nil, nil }
func (discardStore) Append(context.Context, string, []byte) error { return nil }
func (discardStore) Flush(context.Context) error                  { return nil }

// BenchmarkRoomBroadcast measures handling one incoming update in a room of
// n members: decode the message, apply the update, encode the broadcast
// once and queue it to the n-1 other members; timing ends when every member
// has received every update over its loopback socket, so the writers' work
// counts too. The update is one typed character, the common case.
func BenchmarkRoomBroadcast(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) { benchmarkBroadcast(b, n) })
	}
}

func benchmarkBroadcast(b *testing.B, n int) {
	const window = 1024 // updates in flight at most, well within SendQueue
	// No message rate limit: the sender sends b.N updates back to back.
	// The window stays at 1 ms: the timing is wall time, and every
	// waitDelivered would otherwise wait for a grown window to end (the
	// adaptive window's gain is measured by servers-compare.sh, in CPU).
	h := newHarness(b, Options{
		Store: discardStore{}, SendQueue: 4 * window, MaxBroadcastWindow: time.Millisecond,
		Limits: Limits{MessageRate: -1},
	})
	readers := make([]*countingReader, n)
	for i := range readers {
		readers[i] = dialCounting(b, h.base+"/ws/bench")
	}
	waitFor(b, "the members", func() bool { return h.members("bench") == n })
	// The sender is one member's server side; match readers to theirs by
	// address.
	r := h.roomOf("bench")
	byAddr := make(map[string]*conn)
	r.mu.Lock()
	for c := range r.members {
		byAddr[c.sess.RemoteAddr().String()] = c
	}
	r.mu.Unlock()
	for _, rd := range readers {
		rd.conn = byAddr[rd.ws.LocalAddr().String()]
	}
	from := readers[0].conn

	// One keystroke per update, prepared beforehand.
	doc := crdt.NewDoc(crdt.Options{})
	text, _ := doc.Text("text")
	msgs := make([][]byte, 0, b.N)
	doc.OnUpdate(func(u []byte, _ any) { msgs = append(msgs, encodeSync(syncUpdate, u)) })
	for range b.N {
		doc.Transact(nil, func(txn *crdt.Transaction) { text.Insert(txn, text.Len(), "x", nil) })
	}
	// slowest returns how many updates the member furthest behind has
	// received; the sender's own reader receives none and is skipped.
	slowest := func() int64 {
		least := int64(-1)
		for _, r := range readers {
			if r.conn == from {
				continue
			}
			if u := r.updates.Load(); least < 0 || u < least {
				least = u
			}
		}
		return least
	}
	waitDelivered := func(want int64) {
		if n == 1 {
			return
		}
		deadline := time.Now().Add(time.Minute)
		for slowest() < want {
			if time.Now().After(deadline) || h.stats().SlowConsumers != 0 {
				b.Fatalf("a member received %d of %d updates; Stats = %+v", slowest(), want, h.stats())
			}
			time.Sleep(50 * time.Microsecond)
		}
	}

	b.ReportAllocs()
	b.ResetTimer()
	for i, m := range msgs {
		from.handleMessage(m)
		if i%window == window-1 {
			// Keep every queue within a window, far below SendQueue.
			waitDelivered(int64(i + 1 - window))
		}
	}
	waitDelivered(int64(b.N))
	b.StopTimer()
}

// updatesIn returns how many of the benchmark's updates a sync update
// message holds. Each is one item of the sending client, and merging never
// fuses items, so the struct count of the update's one client entry is
// the number of updates merged into it.
func updatesIn(msg []byte) int {
	d := lib0.NewDecoder(msg[2:])
	if _, err := d.ReadVarUint(); err != nil { // the update's length
		return 0
	}
	if clients, err := d.ReadVarUint(); err != nil || clients != 1 {
		return 0
	}
	n, err := d.ReadVarUint()
	if err != nil {
		return 0
	}
	return int(n)
}

// countingReader is a member that only counts the sync updates it
// receives, so that the clients cost next to nothing.
type countingReader struct {
	ws      *websocket.Conn
	conn    *conn // its connection on the server
	updates atomic.Int64
	done    chan struct{}
}

func dialCounting(tb testing.TB, url string) *countingReader {
	tb.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	r := &countingReader{ws: ws, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for {
			_, msg, err := ws.ReadMessage()
			if err != nil {
				return
			}
			if len(msg) > 1 && msg[0] == messageSync && msg[1] == syncUpdate {
				r.updates.Add(int64(updatesIn(msg)))
			}
		}
	}()
	tb.Cleanup(func() {
		ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		select {
		case <-r.done:
		case <-time.After(2 * time.Second):
		}
		ws.Close()
	})
	return r
}
