package bolt

import (
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quirehq/quire/storage/storetest"
	bolt "go.etcd.io/bbolt"
)

// waitCompacted waits until the store has swapped in at least n
// compactions.
func waitCompacted(t testing.TB, s *Store, n uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().Compactions < n {
		if time.Now().After(deadline) {
			t.Fatalf("no compaction after 10s: %+v", s.Stats())
		}
		// A swap rides on the next commit or gets its own.
		time.Sleep(time.Millisecond)
	}
}

func TestCompactionByCount(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "quire.db")
	const count = 10
	s := openPath(t, path, Options{CompactCount: count, CommitDelay: -1})
	e := storetest.NewEditor(t, 1)
	for i := range count {
		if err := s.Append(ctx, "d", e.Append(t, fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	if n, snap := logLen(t, s, "d"); n != count || snap {
		t.Fatalf("at the threshold: %d entries, snapshot %v; want %d, false", n, snap, count)
	}
	if err := s.Append(ctx, "d", e.Append(t, "!")); err != nil {
		t.Fatal(err)
	}
	waitCompacted(t, s, 1)
	if n, snap := logLen(t, s, "d"); n != 0 || !snap {
		t.Fatalf("after compaction: %d entries, snapshot %v; want 0, true", n, snap)
	}
	u, err := s.Load(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	storetest.CheckSame(t, e.Doc, u)

	// Appends after the snapshot go to the log, and load with it.
	if err := s.Append(ctx, "d", e.Append(t, "after")); err != nil {
		t.Fatal(err)
	}
	if n, _ := logLen(t, s, "d"); n != 1 {
		t.Fatalf("%d log entries after one more append; want 1", n)
	}
	want, err := s.Load(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	storetest.CheckSame(t, e.Doc, want)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openPath(t, path, Options{})
	got, err := s.Load(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	storetest.CheckSame(t, e.Doc, got)
}

func TestCompactionByBytes(t *testing.T) {
	ctx := t.Context()
	s := openT(t, Options{CompactCount: 1 << 20, CompactBytes: 1000, CommitDelay: -1})
	e := storetest.NewEditor(t, 1)
	for s.Stats().Compactions == 0 {
		if s.Stats().Appends > 1000 {
			t.Fatal("no compaction after 1000 appends")
		}
		if err := s.Append(ctx, "d", e.Append(t, "0123456789012345678901234567890123456789")); err != nil {
			t.Fatal(err)
		}
	}
	u, err := s.Load(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	storetest.CheckSame(t, e.Doc, u)
	var logBytes int64
	s.db.View(func(tx *bolt.Tx) error {
		logBytes = scanDoc(openDoc(tx, "d")).logBytes
		return nil
	})
	if logBytes > 1000 {
		t.Fatalf("%d bytes of log remain after compaction", logBytes)
	}
}

// TestCompactionConcurrent appends to a few documents from many
// goroutines with thresholds so low that compactions overlap the appends
// constantly; deletes and recreations of documents join in. Every
// document must end as its replicas.
func TestCompactionConcurrent(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "quire.db")
	s := openPath(t, path, Options{CompactCount: 5, CompactBytes: 512})
	const docs, writers, edits = 3, 6, 60
	var mu sync.Mutex
	sent := map[string][][]byte{}
	// acked[w] is the clock of writer w's edits that are acknowledged.
	var acked [writers]atomic.Uint64
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			name := fmt.Sprint("doc-", w%docs)
			e := storetest.NewEditor(t, uint64(w+1))
			rng := newRand(w)
			for range edits {
				u, err := e.Random(rng)
				if err == nil {
					err = s.Append(ctx, name, u)
				}
				if err != nil {
					t.Error(err)
					return
				}
				acked[w].Store(e.Doc.StateVector()[uint64(w+1)])
				mu.Lock()
				sent[name] = append(sent[name], u)
				mu.Unlock()
			}
		})
	}
	// A reader loads doc-0 all along: each load must be complete, holding
	// at least every edit acknowledged before it began, whatever
	// compaction is doing.
	writersDone := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		for loads := 0; ; loads++ {
			select {
			case <-writersDone:
				t.Logf("%d loads during the appends", loads)
				return
			case <-time.After(5 * time.Millisecond):
			}
			var want [writers]uint64
			for w := range writers {
				want[w] = acked[w].Load()
			}
			u, err := s.Load(ctx, "doc-0")
			if err != nil {
				t.Error(err)
				return
			}
			d, _ := storetest.DocFrom(t, u)
			sv := d.StateVector()
			for w := 0; w < writers; w += docs {
				if got := sv[uint64(w+1)]; got < want[w] {
					t.Errorf("load %d: writer %d at clock %d; %d acknowledged", loads, w, got, want[w])
					return
				}
			}
		}
	})
	// Meanwhile a document is deleted and recreated over and over, so that
	// compactions of its old incarnations must be dropped.
	wg.Go(func() {
		for i := range 40 {
			e := storetest.NewEditor(t, 1000)
			for j := range 8 {
				u, err := e.Random(newRand(i*10 + j))
				if err == nil {
					err = s.Append(ctx, "churn", u)
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
			if i == 39 {
				mu.Lock()
				sent["churn"] = [][]byte{e.Doc.EncodeStateAsUpdate()}
				mu.Unlock()
				return
			}
			if err := s.Delete(ctx, "churn"); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
	close(writersDone)
	readers.Wait()
	if t.Failed() {
		return
	}
	check := func(s *Store) {
		for name, updates := range sent {
			want, _ := storetest.DocFrom(t, nil)
			for _, u := range updates {
				if err := want.ApplyUpdate(u, nil); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.Load(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			storetest.CheckSame(t, want, got)
		}
	}
	check(s)
	st := s.Stats()
	t.Logf("%+v", st)
	if st.Compactions == 0 || st.CompactionErrors != 0 {
		t.Fatalf("stats %+v: want compactions and no errors", st)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	check(openPath(t, path, Options{}))
}

// TestCompactionBounded compacts a log far over the threshold: each swap
// takes a bounded share of it, and rounds follow each other without
// further appends until the log is under the threshold.
func TestCompactionBounded(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "quire.db")
	s := openPath(t, path, Options{CompactCount: 1 << 20})
	want, _ := storetest.DocFrom(t, nil)
	var updates [][]byte
	e := storetest.NewEditor(t, 1)
	for i := range 60 {
		u := e.Append(t, fmt.Sprint(i%10))
		updates = append(updates, u)
		if err := want.ApplyUpdate(u, nil); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for _, u := range updates {
		wg.Go(func() {
			if err := s.Append(ctx, "d", u); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	const count = 3 // a swap takes at most compactReadFactor*count entries
	s = openPath(t, path, Options{CompactCount: count})
	if err := s.Append(ctx, "d", updates[0]); err != nil { // touches d: 61 entries
		t.Fatal(err)
	}
	rounds := uint64((61 - count + compactReadFactor*count - 1) / (compactReadFactor * count))
	waitCompacted(t, s, rounds)
	if n, _ := logLen(t, s, "d"); n > count {
		t.Fatalf("%d log entries after %d rounds", n, s.Stats().Compactions)
	}
	u, err := s.Load(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	storetest.CheckSame(t, want, u)
}
