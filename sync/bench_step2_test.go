package sync

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/quirehq/quire/crdt"
	"github.com/quirehq/quire/storage/memory"
)

// BenchmarkSyncStep2 measures answering a client's sync step 1 with an
// empty state vector (a client that has nothing: a first load) for a
// document of about 1 MB: encode the whole state (or take the cached
// encoding), frame it, queue it, write it; timing ends when the client has
// read the whole message over its loopback socket.
func BenchmarkSyncStep2(b *testing.B) {
	doc := crdt.NewDoc(crdt.Options{})
	text, _ := doc.Text("text")
	rng := rand.New(rand.NewPCG(1, 2))
	for text.Len() < 1<<20 {
		chunk := strings.Repeat(string(rune('a'+rng.IntN(26))), 64+rng.IntN(1024))
		doc.Transact(nil, func(txn *crdt.Transaction) { text.Insert(txn, rng.IntN(text.Len()+1), chunk, nil) })
	}
	state := doc.EncodeStateAsUpdate()
	store := memory.New()
	if err := store.Append(context.Background(), "big", state); err != nil {
		b.Fatal(err)
	}
	h := newHarness(b, Options{Store: store})
	ws, _, err := websocket.DefaultDialer.Dial(h.base+"/ws/big", nil)
	if err != nil {
		b.Fatal(err)
	}
	got := make(chan int, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			_, msg, err := ws.ReadMessage()
			if err != nil {
				return
			}
			if len(msg) > 1 && msg[0] == messageSync && msg[1] == syncStep2 {
				got <- len(msg)
			}
		}
	}()
	b.Cleanup(func() {
		ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		select {
		case <-done:
		case <-time.After(2 * time.Second):
		}
		ws.Close()
	})
	c := h.soleMember("big")
	r := h.roomOf("big")

	step1 := encodeSync(syncStep1, []byte{0})
	// encode: the document changed since the last answer (the first
	// client after an edit); cached: it did not (every other client
	// holding nothing is answered with the same encoding, hibernate.go).
	for _, cached := range []bool{false, true} {
		name := map[bool]string{false: "encode", true: "cached"}[cached]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(state)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if !cached {
					r.mu.Lock()
					r.changed(time.Now())
					r.mu.Unlock()
				}
				c.handleMessage(step1)
				if n := <-got; n < len(state) {
					b.Fatalf("step 2 of %d bytes for a state of %d", n, len(state))
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(len(state)), "doc-bytes")
		})
	}
}
