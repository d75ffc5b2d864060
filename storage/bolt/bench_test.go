package bolt

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/quirehq/quire/crdt"
	"github.com/quirehq/quire/storage/storetest"
)

// BenchmarkGroupCommit measures appends from many goroutines at once (to
// 64 documents), as a busy server makes them. Each append returns only
// once fsynced, so appends/s is bounded by commits/s times the appends
// each commit carries.
func BenchmarkGroupCommit(b *testing.B) {
	for _, writers := range []int{1, 16, 128, 1024} {
		for _, delay := range []struct {
			name string
			d    Options
		}{{"delay=2ms", Options{}}, {"delay=0", Options{CommitDelay: -1}}} {
			b.Run(fmt.Sprintf("writers=%d/%s", writers, delay.name), func(b *testing.B) {
				benchGroupCommit(b, writers, delay.d)
			})
		}
	}
}

func benchGroupCommit(b *testing.B, writers int, opts Options) {
	ctx := context.Background()
	s := openT(b, opts)
	// Updates are made up front: the benchmark measures the store. A
	// writer that runs out (writers do not share the work evenly) starts
	// over: storing an update again costs the same and changes nothing.
	perWriter := min(b.N/writers+1, 1000)
	updates := make([][][]byte, writers)
	for w := range writers {
		e := storetest.NewEditor(b, uint64(w+1))
		rng := newRand(w)
		for range perWriter {
			u, err := e.Random(rng)
			if err != nil {
				b.Fatal(err)
			}
			updates[w] = append(updates[w], u)
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for w := range writers {
		wg.Go(func() {
			name := fmt.Sprint("doc-", w%64)
			for i := 0; next.Add(1) <= int64(b.N); i++ {
				if err := s.Append(ctx, name, updates[w][i%perWriter]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	st := s.Stats()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
	b.ReportMetric(float64(st.Commits), "commits")
	b.ReportMetric(float64(st.Appends)/float64(max(st.Commits, 1)), "appends/commit")
}

// BenchmarkLoad loads a document of 10,000 edits stored as a snapshot
// plus a log of 0 to 500 entries (the compaction threshold).
func BenchmarkLoad(b *testing.B) {
	for _, logLen := range []int{0, 100, 500} {
		b.Run(fmt.Sprintf("log=%d", logLen), func(b *testing.B) {
			ctx := context.Background()
			s := openT(b, Options{CompactCount: 1 << 20, CompactBytes: 1 << 40})
			e := storetest.NewEditor(b, 1)
			rng := newRand(1)
			for range 10_000 {
				if _, err := e.Random(rng); err != nil {
					b.Fatal(err)
				}
			}
			// The reference is a replica that received every update: the
			// editor itself may differ where its edits split a surrogate
			// pair (Yjs sends the halves as U+FFFD).
			snapshot := e.Doc.EncodeStateAsUpdate()
			want, _ := storetest.DocFrom(b, snapshot)
			if err := s.Append(ctx, "d", snapshot); err != nil {
				b.Fatal(err)
			}
			var wg sync.WaitGroup
			for range logLen {
				u, err := e.Random(rng)
				if err != nil {
					b.Fatal(err)
				}
				if err := want.ApplyUpdate(u, nil); err != nil {
					b.Fatal(err)
				}
				wg.Go(func() {
					if err := s.Append(ctx, "d", u); err != nil {
						b.Error(err)
					}
				})
			}
			wg.Wait()
			u, err := s.Load(ctx, "d")
			if err != nil {
				b.Fatal(err)
			}
			storetest.CheckSame(b, want, u)
			b.SetBytes(int64(len(u)))
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.Load(ctx, "d"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAppendLargeSnapshot appends small edits, one at a time, to a
// document whose snapshot is 0, 1 MiB or 4 MiB: what an append costs
// must not depend on the size of the snapshot it does not touch.
// wbytes/op is what the process wrote to the file per append (Linux).
func BenchmarkAppendLargeSnapshot(b *testing.B) {
	for _, size := range []int{0, 1 << 20, 4 << 20} {
		b.Run(fmt.Sprintf("snapshot=%dKiB", size>>10), func(b *testing.B) {
			ctx := context.Background()
			path := filepath.Join(b.TempDir(), "quire.db")
			e := storetest.NewEditor(b, 1)
			if size > 0 {
				// Compacted into a snapshot right away, then reopened with
				// thresholds the benchmark never reaches.
				s, err := Open(path, Options{CompactCount: 1, CompactBytes: 1})
				if err != nil {
					b.Fatal(err)
				}
				big := e.Append(b, strings.Repeat("x", size))
				if err := s.Append(ctx, "d", big); err != nil {
					b.Fatal(err)
				}
				if err := s.Append(ctx, "d", e.Append(b, "y")); err != nil {
					b.Fatal(err)
				}
				waitCompacted(b, s, 1)
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
			}
			s := openPath(b, path, Options{CompactCount: 1 << 30, CompactBytes: 1 << 40})
			if n, snap := logLen(b, s, "d"); size > 0 && (n > 1 || !snap) {
				b.Fatalf("%d log entries, snapshot %v; want a snapshot", n, snap)
			}
			updates := make([][]byte, 1000)
			for i := range updates {
				updates[i] = e.Append(b, "z")
			}
			w0 := writtenBytes()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				// Once the prepared updates run out, they are stored
				// again: an idempotent append that costs the same.
				if err := s.Append(ctx, "d", updates[i%len(updates)]); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if w0 >= 0 {
				b.ReportMetric(float64(writtenBytes()-w0)/float64(b.N), "wbytes/op")
			}
		})
	}
}

// writtenBytes returns the bytes this process has passed to write calls
// (wchar of /proc/self/io), or -1 where that is not available.
func writtenBytes() int64 {
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "wchar: "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}

// BenchmarkCompact builds a snapshot from a snapshot of 10,000 random
// edits plus a log of 500 (the default CompactCount): by applying them to
// a document, as compaction does, or by merging their bytes, as it did.
// snapshot-bytes/op is the size of the result.
func BenchmarkCompact(b *testing.B) {
	e := storetest.NewEditor(b, 1)
	rng := newRand(1)
	for range 10_000 {
		if _, err := e.Random(rng); err != nil {
			b.Fatal(err)
		}
	}
	parts := [][]byte{e.Doc.EncodeStateAsUpdate()}
	for range 500 {
		u, err := e.Random(rng)
		if err != nil {
			b.Fatal(err)
		}
		parts = append(parts, u)
	}
	for _, c := range []struct {
		name string
		fn   func(...[]byte) ([]byte, error)
	}{
		{"apply", func(parts ...[]byte) ([]byte, error) { return compactUpdates(parts) }},
		{"merge", crdt.MergeUpdates},
	} {
		b.Run(c.name, func(b *testing.B) {
			var out []byte
			for b.Loop() {
				var err error
				if out, err = c.fn(parts...); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(out)), "snapshot-bytes/op")
		})
	}
}
