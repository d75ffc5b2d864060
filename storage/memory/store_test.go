package memory_test

import (
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/quirehq/quire/storage"
	"github.com/quirehq/quire/storage/memory"
	"github.com/quirehq/quire/storage/storetest"
)

// storetest.Store has sync.Store's method set; package sync is not
// imported so that these tests do not depend on it.
var _ storetest.Store = (*memory.Store)(nil)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		s := memory.New()
		t.Cleanup(func() { s.Close() })
		return s
	})
	t.Run("Compacting", func(t *testing.T) {
		// Thresholds so low that nearly every append merges.
		storetest.Run(t, func(t *testing.T) storetest.Store {
			s := memory.NewWithOptions(memory.Options{CompactCount: 2, CompactBytes: 64})
			t.Cleanup(func() { s.Close() })
			return s
		})
	})
}

func TestLimitsAndClose(t *testing.T) {
	ctx := t.Context()
	s := memory.NewWithOptions(memory.Options{MaxDocumentBytes: 200})
	e := storetest.NewEditor(t, 1)
	var err error
	for i := 0; err == nil; i++ {
		if i > 200 {
			t.Fatal("no append was refused")
		}
		err = s.Append(ctx, "big", e.Append(t, "0123456789"))
	}
	if !errors.Is(err, storage.ErrTooLarge) {
		t.Fatalf("append beyond the limit: %v; want ErrTooLarge", err)
	}
	huge := storetest.NewEditor(t, 2).Append(t, strings.Repeat("x", 300))
	if err := s.Append(ctx, "new", huge); !errors.Is(err, storage.ErrTooLarge) {
		t.Fatalf("huge update: %v; want ErrTooLarge", err)
	}
	if names, _ := s.Names(ctx); !slices.Equal(names, []string{"big"}) {
		t.Fatalf("Names = %q; want [big]", names)
	}
	if err := s.Delete(ctx, "big"); err != nil {
		t.Fatal(err)
	}
	if u, err := s.Load(ctx, "big"); u != nil || err != nil {
		t.Fatalf("Load after Delete = %x, %v", u, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, loadErr := s.Load(ctx, "big")
	_, namesErr := s.Names(ctx)
	for what, err := range map[string]error{
		"Load":   loadErr,
		"Append": s.Append(ctx, "d", huge),
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

// TestOneUpdateIsKeptAsIs: a document stored as one update (a room's
// whole state, appended once) is its own merge: the first Load copies it
// out without merging it into a second copy that the store would keep.
func TestOneUpdateIsKeptAsIs(t *testing.T) {
	ctx := t.Context()
	s := memory.New()
	defer s.Close()
	e := storetest.NewEditor(t, 1)
	u := e.Append(t, strings.Repeat("twenty kilobytes ", 1200))
	if err := s.Append(ctx, "doc", u); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got, err := s.Load(ctx, "doc")
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, u) {
		t.Fatal("Load returned something else than the one update stored")
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > uint64(len(u))*3/2 {
		t.Errorf("the first Load of one update allocated %d bytes for an update of %d: more than the copy it returns", n, len(u))
	}
}
