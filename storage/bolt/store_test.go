package bolt

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/quirehq/quire/storage"
	"github.com/quirehq/quire/storage/storetest"
)

// storetest.Store has sync.Store's method set; package sync is not
// imported so that these tests do not depend on it.
var _ storetest.Store = (*Store)(nil)

func TestContract(t *testing.T) {
	for _, c := range []struct {
		name string
		opts Options
	}{
		{"Defaults", Options{}},
		// No waiting for company, and compaction after nearly every commit.
		{"NoDelayCompacting", Options{CommitDelay: -1, CompactCount: 2, CompactBytes: 64}},
		{"TinyBatches", Options{MaxBatch: 3}},
	} {
		t.Run(c.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) storetest.Store { return openT(t, c.opts) })
		})
	}
}

func TestReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "quire.db")
	s := openPath(t, path, Options{})
	editors := map[string]*storetest.Editor{}
	for i := range 5 {
		name := fmt.Sprintf("doc/%d", i)
		e := storetest.NewEditor(t, uint64(i+1))
		editors[name] = e
		for j := range 10 {
			if err := s.Append(ctx, name, e.Append(t, fmt.Sprint(j))); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openPath(t, path, Options{})
	for name, e := range editors {
		u, err := s.Load(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		storetest.CheckSame(t, e.Doc, u)
	}
	names, err := s.Names(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := slices.Sorted(mapsKeys(editors)); !slices.Equal(names, want) {
		t.Fatalf("Names = %q; want %q", names, want)
	}

	// Appends continue the log where it was.
	e := editors["doc/0"]
	if err := s.Append(ctx, "doc/0", e.Append(t, "more")); err != nil {
		t.Fatal(err)
	}
	u, err := s.Load(ctx, "doc/0")
	if err != nil {
		t.Fatal(err)
	}
	storetest.CheckSame(t, e.Doc, u)
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestDelete(t *testing.T) {
	ctx := t.Context()
	s := openT(t, Options{})
	e := storetest.NewEditor(t, 1)
	for _, name := range []string{"a", "b"} {
		if err := s.Append(ctx, name, e.Append(t, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "never stored"); err != nil {
		t.Fatalf("Delete of a missing document: %v", err)
	}
	if u, err := s.Load(ctx, "a"); u != nil || err != nil {
		t.Fatalf("Load after Delete = %x, %v", u, err)
	}
	if names, _ := s.Names(ctx); !slices.Equal(names, []string{"b"}) {
		t.Fatalf("Names = %q; want [b]", names)
	}
	// A new document under the old name starts empty.
	f := storetest.NewEditor(t, 2)
	if err := s.Append(ctx, "a", f.Append(t, "new")); err != nil {
		t.Fatal(err)
	}
	u, err := s.Load(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	storetest.CheckSame(t, f.Doc, u)
}

func TestClosed(t *testing.T) {
	ctx := t.Context()
	s := openT(t, Options{})
	u := storetest.NewEditor(t, 1).Append(t, "x")
	if err := s.Append(ctx, "d", u); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, loadErr := s.Load(ctx, "d")
	_, namesErr := s.Names(ctx)
	for what, err := range map[string]error{
		"Load":   loadErr,
		"Append": s.Append(ctx, "d", u),
		"Flush":  s.Flush(ctx),
		"Delete": s.Delete(ctx, "d"),
		"Names":  namesErr,
		"Close":  s.Close(),
	} {
		if !errors.Is(err, storage.ErrClosed) {
			t.Errorf("%s after Close = %v; want ErrClosed", what, err)
		}
	}
}

// TestCloseCommitsQueued closes the store while appends are queued behind
// a commit: Close must commit them before it closes the file.
func TestCloseCommitsQueued(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "quire.db")
	s := openPath(t, path, Options{})
	release := holdWriter(t, s, nil)
	const n = 50
	want, _ := storetest.DocFrom(t, nil)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		u := storetest.NewEditor(t, uint64(i+1)).Append(t, "x")
		if err := want.ApplyUpdate(u, nil); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { errs[i] = s.Append(ctx, "d", u) })
	}
	waitQueued(t, s, n)
	closed := make(chan error)
	go func() { closed <- s.Close() }()
	// Once Close has begun, later calls fail while the queued appends
	// wait. (Load does not queue behind the held writer; Flush would.)
	for {
		if _, err := s.Load(ctx, "d"); errors.Is(err, storage.ErrClosed) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	release()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("queued append %d: %v", i, err)
		}
	}
	s = openPath(t, path, Options{})
	u, err := s.Load(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	storetest.CheckSame(t, want, u)
}

func TestTooLarge(t *testing.T) {
	ctx := t.Context()
	const limit = 2000
	s := openT(t, Options{MaxDocumentBytes: limit, CompactCount: 1 << 20, CompactBytes: 1 << 30})
	e := storetest.NewEditor(t, 1)
	var err error
	for i := 0; err == nil; i++ {
		if i > limit {
			t.Fatal("no append was refused")
		}
		err = s.Append(ctx, "big", e.Append(t, "0123456789"))
	}
	if !errors.Is(err, storage.ErrTooLarge) {
		t.Fatalf("append beyond the limit: %v; want ErrTooLarge", err)
	}
	// Other documents are not affected, and the document loads as it was.
	if err := s.Append(ctx, "small", storetest.NewEditor(t, 2).Append(t, "x")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, "big"); err != nil {
		t.Fatal(err)
	}
	// An update larger than the limit on its own is refused up front.
	huge := storetest.NewEditor(t, 3).Append(t, string(make([]byte, limit)))
	if err := s.Append(ctx, "new", huge); !errors.Is(err, storage.ErrTooLarge) {
		t.Fatalf("huge update: %v; want ErrTooLarge", err)
	}
	if names, _ := s.Names(ctx); !slices.Equal(names, []string{"big", "small"}) {
		t.Fatalf("Names = %q: a refused append created a document", names)
	}
}

func TestCancelledAppend(t *testing.T) {
	s := openT(t, Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	u := storetest.NewEditor(t, 1).Append(t, "x")
	if err := s.Append(ctx, "d", u); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append with a cancelled context = %v", err)
	}
	// An append whose context ends while it is queued returns at once; as
	// its caller is gone by the time its batch begins, it is not written.
	release := holdWriter(t, s, nil)
	ctx, cancel = context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	if err := s.Append(ctx, "d", u); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Append past its deadline = %v", err)
	}
	release()
	if err := s.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Load(t.Context(), "d"); got != nil || err != nil {
		t.Fatalf("Load = %x, %v; want nothing stored", got, err)
	}
}

func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "quire.db")
	openPath(t, path, Options{})
	start := time.Now()
	if s, err := Open(path, Options{LockTimeout: 100 * time.Millisecond}); err == nil {
		s.Close()
		t.Fatal("a second Open of the same file succeeded")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Open waited %v for the lock", d)
	}
}
