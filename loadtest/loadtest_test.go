package loadtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quirehq/quire/crdt"
	"github.com/quirehq/quire/internal/leakcheck"
	"github.com/quirehq/quire/storage/bolt"
	"github.com/quirehq/quire/storage/memory"
	"github.com/quirehq/quire/sync"
)

// TestMain fails the run if goroutines outlive the tests: every scenario
// must close its clients, and every test its server.
func TestMain(m *testing.M) { leakcheck.Main(m) }

// quire serves a sync.Server on a loopback port and returns its
// WebSocket URL.
func quire(t *testing.T, store sync.Store) (url string, stop func()) {
	t.Helper()
	srv, err := sync.NewServer(sync.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ws/", srv)
	hs := httptest.NewServer(mux)
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		hs.Close()
	}
	t.Cleanup(stop)
	return "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws", stop
}

func run(t *testing.T, cfg Config) *Result {
	t.Helper()
	cfg.PID = os.Getpid() // the server runs in this process
	r, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	if err := WriteTable(&table, r); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", table.String())
	if r.Errors != 0 {
		t.Fatalf("%d errors, first: %s", r.Errors, r.FirstError)
	}
	if !r.ServerKnown || r.ServerRSS <= 0 || r.WallSec <= 0 {
		t.Errorf("process figures missing: %+v", r)
	}
	if !strings.Contains(table.String(), cfg.Scenario) {
		t.Errorf("table does not name the scenario:\n%s", table.String())
	}
	return r
}

// TestFanOut runs a small fan-out against Quire: every update reaches every
// other member of its room, exactly once, and each delivery has a latency.
func TestFanOut(t *testing.T) {
	url, _ := quire(t, memory.New())
	r := run(t, Config{URL: url, Scenario: FanOut, Rooms: 3, Clients: 4, Senders: 2, Rate: 100, Duration: 300 * time.Millisecond, Awareness: true})
	if want := int64(3 * 2 * 30); r.Sent != want {
		t.Errorf("sent %d updates, want %d", r.Sent, want)
	}
	if r.Expected != 3*r.Sent || r.Delivered != r.Expected || r.Loss != 0 {
		t.Errorf("delivered %d of %d (expected %d = 3 × sent); loss %v", r.Delivered, r.Expected, 3*r.Sent, r.Loss)
	}
	if r.Latency.N != int(r.Delivered) || r.Latency.P50 <= 0 || r.Latency.Max < r.Latency.P99 {
		t.Errorf("latency %+v for %d deliveries", r.Latency, r.Delivered)
	}
	if r.Connections != 12 || r.CPUPerItem <= 0 {
		t.Errorf("connections %d, CPU per delivery %v", r.Connections, r.CPUPerItem)
	}
}

// TestIdle opens idle connections over a few rooms.
func TestIdle(t *testing.T) {
	url, _ := quire(t, memory.New())
	r := run(t, Config{URL: url, Scenario: Idle, Rooms: 5, Clients: 50, Duration: 100 * time.Millisecond, Awareness: true})
	if r.Connections != 50 || r.Latency.N != 50 {
		t.Errorf("%d connections, %d sync times; want 50", r.Connections, r.Latency.N)
	}
}

// TestJoinStormAndColdLoad seeds rooms, storms them, then stores them in a
// bbolt file, restarts the server and loads them cold: every client's sync
// step 2 must hold the whole document.
func TestJoinStormAndColdLoad(t *testing.T) {
	url, _ := quire(t, memory.New())
	r := run(t, Config{URL: url, Scenario: JoinStorm, Rooms: 4, Clients: 20})
	if r.Connections != 20 || r.Latency.N != 20 {
		t.Errorf("%d clients synced, want 20", r.Connections)
	}

	path := filepath.Join(t.TempDir(), "quire.db")
	store, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	url, stop := quire(t, store)
	run(t, Config{URL: url, Scenario: Seed, Rooms: 3, Prefix: "cold"})
	stop()
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	store, err = bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	url, _ = quire(t, store)
	r = run(t, Config{URL: url, Scenario: ColdLoad, Rooms: 3, Clients: 9, Prefix: "cold"})
	if r.Connections != 9 {
		t.Errorf("%d clients synced, want 9", r.Connections)
	}
	// Rooms that were never seeded fail the check.
	r, err = Run(context.Background(), Config{URL: url, Scenario: ColdLoad, Rooms: 1, Clients: 2, Prefix: "never-seeded"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Errors != 2 || !strings.Contains(r.FirstError, errIncomplete.Error()) {
		t.Errorf("cold-load of empty rooms: %d errors (%s), want 2 incomplete", r.Errors, r.FirstError)
	}
}

// TestClockEnds checks the receivers' reading of updates: a merge of
// several senders' updates (as a server that batches sends it) reveals
// every sender's highest clock.
func TestClockEnds(t *testing.T) {
	f, err := loadFixtures()
	if err != nil {
		t.Fatal(err)
	}
	if len(f.streams) < 2 || f.docEnd.end == 0 {
		t.Fatalf("fixtures: %d streams, document end %d", len(f.streams), f.docEnd.end)
	}
	a, b := f.streams[0], f.streams[1]
	merged, err := crdt.MergeUpdates(a.updates[0], a.updates[1], a.updates[2], b.updates[0])
	if err != nil {
		t.Fatal(err)
	}
	got, err := clockEnds(merged)
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint64]uint64{a.client: a.ends[2], b.client: b.ends[0]}
	if len(got) != 2 || want[got[0].client] != got[0].end || want[got[1].client] != got[1].end {
		t.Errorf("clockEnds = %+v, want %v", got, want)
	}
	// The fixture's updates are real Yjs typing: a document takes them.
	doc := crdt.NewDoc(crdt.Options{})
	for _, u := range a.updates[:100] {
		if err := doc.ApplyUpdate(u, nil); err != nil {
			t.Fatal(err)
		}
	}
	text, _ := doc.Text("text")
	if uint64(text.Len()) != a.ends[99] {
		t.Errorf("text length %d after 100 updates, want %d", text.Len(), a.ends[99])
	}
	if _, err := clockEnds(merged[:len(merged)-3]); err == nil {
		t.Error("a truncated update decoded")
	}
}

// TestConfigErrors: bad configurations are refused before anything runs.
func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{Scenario: FanOut},
		{URL: "ws://127.0.0.1:1/ws", Scenario: "nope"},
		{URL: "ws://127.0.0.1:1/ws", Scenario: FanOut, Protocol: "other"},
		{URL: "ws://127.0.0.1:1/ws", Scenario: FanOut, Senders: 17, Clients: 20},
		{URL: "ws://127.0.0.1:1/ws", Scenario: Idle, Rooms: -1},
	} {
		if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "invalid config") {
			t.Errorf("%+v: err = %v, want a config error", cfg, err)
		}
	}
}

// The server's CPU time comes from the threads' schedstat, to the
// nanosecond, where the kernel keeps it: it grows with work done, by far
// less than a 10 ms tick for a little work.
func TestSchedCPU(t *testing.T) {
	before, ok := schedCPU(os.Getpid())
	if !ok {
		t.Skip("this kernel keeps no /proc/PID/task/*/schedstat (CONFIG_SCHED_INFO)")
	}
	sum := 0
	for deadline := time.Now().Add(20 * time.Millisecond); time.Now().Before(deadline); {
		for i := range 1000 {
			sum += i
		}
	}
	after, ok := schedCPU(os.Getpid())
	if !ok {
		t.Fatal("schedstat readable once, then not")
	}
	if d := after - before; d < 10*time.Millisecond || d > 10*time.Second {
		t.Errorf("20 ms of work measured as %v (sum %d)", d, sum)
	}
	s, err := sampleProc(os.Getpid())
	if err != nil || s.schedCPU < after {
		t.Errorf("sampleProc: %+v, %v; want schedCPU ≥ %v", s, err, after)
	}
}
