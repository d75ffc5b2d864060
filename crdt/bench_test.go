package crdt_test

// Speed and memory benchmarks on real editing traces (testdata/traces,
// CC BY 4.0), mirroring dmonad/crdt-benchmarks' B4 and the Eg-walker
// paper's traces. scripts/bench/crdt-compare.sh runs them next to the same
// scenarios in Yjs (scripts/bench/yjs-bench.mjs).
//
//	go test ./crdt -run '^$' -bench 'B4|Seph|Concurrent' -benchtime 1x -count 3
//
// Traces are parsed and fixtures (per-txn updates, final state) built once
// per process, outside the timed region. Each benchmark checks its result
// against the trace's endContent.
//
// The load, encode and memory benchmarks keep only the final state and the
// text alive (stateFixture), as a server keeps documents, not a trace: Go's
// collector marks the whole live heap on every cycle, and a trace's
// per-transaction updates and parsed patches are hundreds of thousands of
// small objects. Run them in a process of their own, as crdt-compare.sh
// does, for the figures the README gives.

import (
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/quirehq/quire/crdt"
)

// processCPU returns the CPU time (user + system) the process has used so
// far, all threads (GC workers included).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the process CPU time per op since start as
// "cpu-ns/op". On a shared machine it is less sensitive than wall time to
// other processes competing for the cores; crdt-compare.sh shows both.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
}

// benchLocal replays a sequential trace locally, one Transact per txn, with
// an update subscriber keeping every update.
func benchLocal(b *testing.B, name string) {
	tr := loadTrace(b, name)
	updates := make([][]byte, len(tr.Txns))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for i := 0; i < b.N; i++ {
		clear(updates)
		_, t, err := replayLocal(tr, updates)
		if err != nil {
			b.Fatal(err)
		}
		if t.String() != tr.EndContent {
			b.Fatalf("%s: text differs from endContent", name)
		}
	}
	b.StopTimer()
	reportCPU(b, cpu)
	perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perOp/1e3/float64(tr.Patches), "µs/edit")
	b.ReportMetric(float64(traceTotalLen(updates)), "updateB")
}

// benchRemote applies the per-txn updates of a local replay one by one to
// a fresh document.
func benchRemote(b *testing.B, name string) {
	fx := loadSeqFixture(b, name)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for i := 0; i < b.N; i++ {
		_, t, err := traceApplyAll(fx.updates)
		if err != nil {
			b.Fatal(err)
		}
		if t.String() != fx.tr.EndContent {
			b.Fatalf("%s: text differs from endContent", name)
		}
	}
	b.StopTimer()
	reportCPU(b, cpu)
	perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perOp/1e3/float64(len(fx.updates)), "µs/update")
}

// stateFixture is what the load, encode and memory benchmarks use of a
// sequential trace: the final state of a local replay and its text.
type stateFixture struct {
	final      []byte
	endContent string
}

var (
	stateMu       sync.Mutex
	stateFixtures = map[string]*stateFixture{}
)

// loadStateFixture builds the state fixture of trace name once per process
// from a trace parsed for it alone and a replay, and drops both (the
// trace cache and the sequential fixtures are left untouched).
func loadStateFixture(b *testing.B, name string) *stateFixture {
	b.Helper()
	stateMu.Lock()
	defer stateMu.Unlock()
	if fx := stateFixtures[name]; fx != nil {
		return fx
	}
	tr, err := parseTrace(name)
	if err != nil {
		b.Fatal(err)
	}
	d, t, err := replayLocal(tr, nil)
	if err != nil {
		b.Fatal(err)
	}
	if t.String() != tr.EndContent {
		b.Fatalf("%s: local replay: text differs from endContent", name)
	}
	fx := &stateFixture{final: d.EncodeStateAsUpdate(), endContent: tr.EndContent}
	stateFixtures[name] = fx
	runtime.GC() // (the trace and the replayed document are garbage now)
	return fx
}

// benchLoad applies the final state as one update to a fresh document and
// reads the text.
func benchLoad(b *testing.B, name string) {
	fx := loadStateFixture(b, name)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for i := 0; i < b.N; i++ {
		d := crdt.NewDoc(crdt.Options{ClientID: 1})
		t, _ := d.Text("text")
		if err := d.ApplyUpdate(fx.final, nil); err != nil {
			b.Fatal(err)
		}
		if t.String() != fx.endContent {
			b.Fatalf("%s: text differs from endContent", name)
		}
	}
	b.StopTimer()
	reportCPU(b, cpu)
	b.ReportMetric(float64(len(fx.final)), "updateB")
}

// traceLoadFinal returns a document loaded from the final state of a trace.
func traceLoadFinal(b *testing.B, fx *stateFixture) *crdt.Doc {
	d := crdt.NewDoc(crdt.Options{ClientID: 1})
	if err := d.ApplyUpdate(fx.final, nil); err != nil {
		b.Fatal(err)
	}
	return d
}

// benchEncode encodes the whole state of a loaded document.
func benchEncode(b *testing.B, name string) {
	fx := loadStateFixture(b, name)
	d := traceLoadFinal(b, fx)
	if got := d.EncodeStateAsUpdate(); !slices.Equal(got, fx.final) {
		b.Fatalf("%s: re-encoded state (%d bytes) differs from the loaded one (%d bytes)", name, len(got), len(fx.final))
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	var out []byte
	for i := 0; i < b.N; i++ {
		out = d.EncodeStateAsUpdate()
	}
	b.StopTimer()
	reportCPU(b, cpu)
	b.ReportMetric(float64(len(out)), "updateB")
}

// benchMemory reports the heap retained by a document loaded from the final
// state: HeapAlloc after a GC, with the document alive, minus HeapAlloc
// after a GC before loading. The update is copied inside the measured
// window and dropped, so a document that kept the update buffer alive
// would be charged for it. ns/op is meaningless here (it includes GCs).
// With edited, one unit in the middle of the text is deleted after the load
// and before the measurement: the first edit that splits a loaded item
// gives its client's list a slot per struct (see structList).
func benchMemory(b *testing.B, name string, edited bool) {
	fx := loadStateFixture(b, name)
	var sum float64
	for i := 0; i < b.N; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&before)
		buf := slices.Clone(fx.final)
		d := crdt.NewDoc(crdt.Options{ClientID: 1})
		t, _ := d.Text("text")
		if err := d.ApplyUpdate(buf, nil); err != nil {
			b.Fatal(err)
		}
		buf = nil
		want := traceUTF16Len(fx.endContent)
		if edited {
			if err := t.Delete(nil, want/2, 1); err != nil {
				b.Fatal(err)
			}
			want--
		}
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&after)
		if t.Len() != want {
			b.Fatalf("%s: %d units, want %d", name, t.Len(), want)
		}
		runtime.KeepAlive(d)
		sum += float64(int64(after.HeapAlloc) - int64(before.HeapAlloc))
	}
	b.ReportMetric(sum/float64(b.N)/1e6, "MB")
}

// benchConcurrent replays a concurrent trace with one document per agent
// and merges them all at the end.
func benchConcurrent(b *testing.B, name string) {
	tr := loadTrace(b, name)
	s := loadSchedule(b, tr)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for i := 0; i < b.N; i++ {
		_, texts, _, err := replayConcurrent(tr, s)
		if err != nil {
			b.Fatal(err)
		}
		for a, t := range texts {
			if t.String() != tr.EndContent {
				b.Fatalf("%s: agent %d: text differs from endContent", name, a)
			}
		}
	}
	b.StopTimer()
	reportCPU(b, cpu)
	perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perOp/1e3/float64(len(tr.Txns)), "µs/txn")
}

// B4: automerge-paper, 259,778 single-character edits, one txn each.

func BenchmarkB4Local(b *testing.B)  { benchLocal(b, "automerge-paper") }
func BenchmarkB4Remote(b *testing.B) { benchRemote(b, "automerge-paper") }
func BenchmarkB4Load(b *testing.B)   { benchLoad(b, "automerge-paper") }
func BenchmarkB4Encode(b *testing.B) { benchEncode(b, "automerge-paper") }
func BenchmarkB4Memory(b *testing.B) { benchMemory(b, "automerge-paper", false) }

// BenchmarkB4MemoryEdited is B4Memory after one deleted character.
func BenchmarkB4MemoryEdited(b *testing.B) { benchMemory(b, "automerge-paper", true) }

// seph-blog1: 137,154 txns (some with several patches), 368,209 events.

func BenchmarkSephLocal(b *testing.B)  { benchLocal(b, "seph-blog1") }
func BenchmarkSephRemote(b *testing.B) { benchRemote(b, "seph-blog1") }
func BenchmarkSephLoad(b *testing.B)   { benchLoad(b, "seph-blog1") }
func BenchmarkSephEncode(b *testing.B) { benchEncode(b, "seph-blog1") }
func BenchmarkSephMemory(b *testing.B) { benchMemory(b, "seph-blog1", false) }

// Concurrent traces: friendsforever (2 agents, 26,078 txns) and clownschool
// (3 agents, 23,136 txns).

func BenchmarkConcurrentFriendsForever(b *testing.B) { benchConcurrent(b, "friendsforever") }
func BenchmarkConcurrentClownSchool(b *testing.B)    { benchConcurrent(b, "clownschool") }
