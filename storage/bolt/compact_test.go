package bolt

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quirehq/quire/crdt"
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

// snapshotLen reads the size of document name's snapshot from the file.
func snapshotLen(t testing.TB, s *Store, name string) int {
	t.Helper()
	var n int
	if err := s.db.View(func(tx *bolt.Tx) error {
		n = len(openDoc(tx, name).snapshotValue())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCompactionDropsDeleted compacts a document most of whose text was
// deleted: the snapshot must hold the deletions, not the deleted text
// (which a byte-level merge would keep), and load as the editor's state.
func TestCompactionDropsDeleted(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "quire.db")
	const count = 50
	s := openPath(t, path, Options{CompactCount: count, CommitDelay: -1})
	e := storetest.NewEditor(t, 1)
	var all [][]byte
	add := func(u []byte) {
		t.Helper()
		all = append(all, u)
		if err := s.Append(ctx, "d", u); err != nil {
			t.Fatal(err)
		}
	}
	chunk := strings.Repeat("lorem ipsum ", 100) // 1200 bytes
	for range 30 {
		add(e.Append(t, chunk))
	}
	// Keep the first and last 600 characters; delete the rest in pieces.
	for len(e.Text()) > 1200 {
		add(e.Delete(t, 600, min(5000, len(e.Text())-1200)))
	}
	for len(all) <= count {
		add(e.Append(t, "."))
	}
	waitCompacted(t, s, 1)

	merged, err := crdt.MergeUpdates(all...)
	if err != nil {
		t.Fatal(err)
	}
	snap := snapshotLen(t, s, "d")
	t.Logf("%d bytes typed, %d kept: snapshot %d bytes, merged updates %d bytes", 30*len(chunk), len(e.Text()), snap, len(merged))
	if snap == 0 || snap > len(merged)/10 {
		t.Fatalf("snapshot of %d bytes; the merged updates take %d: deleted content kept", snap, len(merged))
	}
	u, err := s.Load(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	storetest.CheckSame(t, e.Doc, u)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if u, err = openPath(t, path, Options{}).Load(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	storetest.CheckSame(t, e.Doc, u)
}

// TestCompactionPending compacts a log holding updates whose dependencies
// are missing (a struct that follows content not received, a delete of
// content not received): compaction must keep them, so that once the
// dependency arrives the document is whole.
func TestCompactionPending(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "quire.db")
	const count = 3
	s := openPath(t, path, Options{CompactCount: count, CommitDelay: -1})
	a, b := storetest.NewEditor(t, 1), storetest.NewEditor(t, 2)
	a1 := a.Append(t, "hello ")
	a2 := a.Append(t, "world")  // follows a1: pending without it
	a3 := a.Delete(t, 0, 3)     // deletes part of a1: pending too
	a4 := a.Append(t, " again") // follows a2
	var bs [][]byte
	for i := range 4 {
		bs = append(bs, b.Append(t, fmt.Sprint(i)))
	}
	want, _ := storetest.DocFrom(t, nil)
	for _, u := range append([][]byte{a1, a2, a3, a4}, bs...) {
		if err := want.ApplyUpdate(u, nil); err != nil {
			t.Fatal(err)
		}
	}

	// What the store relies on: a document's state encodes its pending
	// content too, and compactUpdates keeps it.
	parts := append([][]byte{a2, a3}, bs...)
	d, _ := storetest.DocFrom(t, nil)
	for _, u := range parts {
		if err := d.ApplyUpdate(u, nil); err != nil {
			t.Fatal(err)
		}
	}
	if !d.HasPending() {
		t.Fatal("no pending content without a1")
	}
	compacted, err := compactUpdates(parts)
	if err != nil {
		t.Fatal(err)
	}
	for what, u := range map[string][]byte{"EncodeStateAsUpdate": d.EncodeStateAsUpdate(), "compactUpdates": compacted} {
		full, err := crdt.MergeUpdates(u, a1, a4)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(what, func(t *testing.T) { storetest.CheckSame(t, want, full) })
	}

	// The same through the store: the log without a1 is compacted.
	for _, u := range parts {
		if err := s.Append(ctx, "d", u); err != nil {
			t.Fatal(err)
		}
	}
	waitCompacted(t, s, 1)
	if st := s.Stats(); st.CompactionErrors != 0 {
		t.Fatalf("stats %+v", st)
	}
	if n, snap := logLen(t, s, "d"); n > count || !snap {
		t.Fatalf("%d log entries, snapshot %v after compaction", n, snap)
	}
	u, err := s.Load(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	if got, text := storetest.DocFrom(t, u); !got.HasPending() || text != b.Text() {
		t.Fatalf("loaded %q, pending %v; want %q and pending content", text, got.HasPending(), b.Text())
	}
	// The dependency arrives: the document is whole, before and after the
	// next compaction (which no longer has anything pending), and after a
	// reopen.
	for _, u := range [][]byte{a1, a4} {
		if err := s.Append(ctx, "d", u); err != nil {
			t.Fatal(err)
		}
	}
	if u, err = s.Load(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	storetest.CheckSame(t, want, u)
	for i := 0; s.Stats().Compactions < 2; i++ {
		if err := s.Append(ctx, "d", bs[i%len(bs)]); err != nil {
			t.Fatal(err)
		}
		if i > 100 {
			t.Fatal("no second compaction")
		}
		time.Sleep(time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if u, err = openPath(t, path, Options{}).Load(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	storetest.CheckSame(t, want, u)
}
