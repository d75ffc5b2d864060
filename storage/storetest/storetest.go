package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/quirehq/quire/crdt"
	"github.com/quirehq/quire/storage"
)

// Store is the method set under test, sync.Store's. It is declared here
// rather than imported so that package sync's own tests can use this
// package without an import cycle.
type Store interface {
	Load(ctx context.Context, name string) ([]byte, error)
	Append(ctx context.Context, name string, update []byte) error
	Flush(ctx context.Context) error
}

// Run runs the contract tests as subtests. open returns a new, empty store
// for each of them and arranges (t.Cleanup) for it to be closed.
func Run(t *testing.T, open func(t *testing.T) Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, Store)
	}{
		{"Missing", testMissing},
		{"RoundTrip", testRoundTrip},
		{"Concurrent", testConcurrent},
		{"OutOfOrder", testOutOfOrder},
		{"Repeated", testRepeated},
		{"BadUpdate", testBadUpdate},
		{"BadName", testBadName},
		{"CallerBuffer", testCallerBuffer},
		{"Flush", testFlush},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

func testMissing(t *testing.T, s Store) {
	u, err := s.Load(t.Context(), "nothing here")
	if u != nil || err != nil {
		t.Fatalf("Load of a missing document = %x, %v; want nil, nil", u, err)
	}
}

func testRoundTrip(t *testing.T, s Store) {
	ctx := t.Context()
	e := NewEditor(t, 1)
	for _, w := range []string{"Hello", ", ", "world", "!"} {
		if err := s.Append(ctx, "greeting", e.Append(t, w)); err != nil {
			t.Fatal(err)
		}
	}
	u, err := s.Load(ctx, "greeting")
	if err != nil {
		t.Fatal(err)
	}
	CheckSame(t, e.Doc, u)
	if _, text := DocFrom(t, u); text != "Hello, world!" {
		t.Fatalf("loaded text %q", text)
	}
}

// testConcurrent has several replicas per document append random edits at
// once, to many documents; each loaded document must equal a replica that
// applied every update.
func testConcurrent(t *testing.T, s Store) {
	const docs, writers, edits = 12, 4, 25
	ctx := t.Context()
	var mu sync.Mutex
	sent := make(map[string][][]byte)
	var wg sync.WaitGroup
	errc := make(chan error, docs*writers)
	for d := range docs {
		name := fmt.Sprintf("doc-%d", d)
		for w := range writers {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(d), uint64(w)))
				e := NewEditor(t, uint64(1+w))
				for range edits {
					u, err := e.Random(rng)
					if err == nil {
						err = s.Append(ctx, name, u)
					}
					if err != nil {
						errc <- err
						return
					}
					mu.Lock()
					sent[name] = append(sent[name], u)
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	for name, updates := range sent {
		want := crdt.NewDoc(crdt.Options{})
		for _, u := range updates {
			if err := want.ApplyUpdate(u, nil); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.Load(ctx, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		CheckSame(t, want, got)
	}
}

// testOutOfOrder stores an update whose predecessor is missing: the store
// keeps it (Yjs would hold it as pending) and completes the document when
// the predecessor arrives.
func testOutOfOrder(t *testing.T, s Store) {
	ctx := t.Context()
	e := NewEditor(t, 7)
	first, second := e.Append(t, "ab"), e.Append(t, "cd")
	if err := s.Append(ctx, "d", second); err != nil {
		t.Fatal(err)
	}
	u, err := s.Load(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	if d, text := DocFrom(t, u); text != "" || !d.HasPending() {
		t.Fatalf("with the first update missing: text %q, pending %v; want \"\", true", text, d.HasPending())
	}
	if err := s.Append(ctx, "d", first); err != nil {
		t.Fatal(err)
	}
	u, err = s.Load(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	CheckSame(t, e.Doc, u)
}

func testRepeated(t *testing.T, s Store) {
	ctx := t.Context()
	e := NewEditor(t, 3)
	u := e.Append(t, "once")
	for range 3 {
		if err := s.Append(ctx, "d", u); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Load(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	if _, text := DocFrom(t, got); text != "once" {
		t.Fatalf("text %q after storing an update three times", text)
	}
}

func testBadUpdate(t *testing.T, s Store) {
	ctx := t.Context()
	for _, u := range [][]byte{nil, {}, {0xff}, {1, 1, 5, 0, 4}} {
		err := s.Append(ctx, "bad", u)
		if !errors.Is(err, crdt.ErrMalformedUpdate) {
			t.Errorf("Append(%x) = %v; want crdt.ErrMalformedUpdate", u, err)
		}
	}
	if u, err := s.Load(ctx, "bad"); u != nil || err != nil {
		t.Fatalf("after refused appends Load = %x, %v; want nil, nil", u, err)
	}
}

func testBadName(t *testing.T, s Store) {
	ctx := t.Context()
	u := NewEditor(t, 1).Append(t, "x")
	for _, name := range []string{"", strings.Repeat("n", storage.MaxNameLen+1)} {
		if err := s.Append(ctx, name, u); !errors.Is(err, storage.ErrInvalidName) {
			t.Errorf("Append to a %d-byte name = %v; want ErrInvalidName", len(name), err)
		}
		if _, err := s.Load(ctx, name); !errors.Is(err, storage.ErrInvalidName) {
			t.Errorf("Load of a %d-byte name = %v; want ErrInvalidName", len(name), err)
		}
	}
	// The longest name, and names that are not text, are fine.
	for _, name := range []string{strings.Repeat("n", storage.MaxNameLen), "\x00\xff/..", "snapshot"} {
		if err := s.Append(ctx, name, u); err != nil {
			t.Fatalf("Append to a %d-byte name: %v", len(name), err)
		}
		got, err := s.Load(ctx, name)
		if err != nil || !bytes.Equal(got, u) {
			t.Fatalf("Load of a %d-byte name = %x, %v; want %x", len(name), got, err, u)
		}
	}
}

// testCallerBuffer reuses the appended slice at once: the store must have
// copied it.
func testCallerBuffer(t *testing.T, s Store) {
	ctx := t.Context()
	u := NewEditor(t, 1).Append(t, "kept")
	buf := bytes.Clone(u)
	if err := s.Append(ctx, "d", buf); err != nil {
		t.Fatal(err)
	}
	clear(buf)
	got, err := s.Load(ctx, "d")
	if err != nil || !bytes.Equal(got, u) {
		t.Fatalf("Load = %x, %v; want %x", got, err, u)
	}
}

func testFlush(t *testing.T, s Store) {
	ctx := t.Context()
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("Flush of an empty store: %v", err)
	}
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			e := NewEditor(t, uint64(i+1))
			u, err := e.edit(func(txn *crdt.Transaction) error { return e.text.Insert(txn, 0, "x", nil) })
			if err == nil {
				err = s.Append(ctx, "d", u)
			}
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	if _, text := DocFrom(t, got); text != strings.Repeat("x", 10) {
		t.Fatalf("text %q; want ten x", text)
	}
}

// CheckSame fails t unless update, applied to a fresh document, gives the
// same document as want: same text, same state vector and the same
// encoded state.
//
// want should be a replica that received the updates, not the editor that
// made them: where an edit splits a surrogate pair, the editor keeps the
// halves while Yjs sends (and replicas store) U+FFFD.
func CheckSame(t testing.TB, want *crdt.Doc, update []byte) {
	t.Helper()
	got, gotText := DocFrom(t, update)
	wantText, err := want.Text("text")
	if err != nil {
		t.Fatal(err)
	}
	if gotText != wantText.String() {
		t.Fatalf("loaded text %q; want %q", gotText, wantText.String())
	}
	if !bytes.Equal(got.EncodeStateVector(), want.EncodeStateVector()) {
		t.Fatalf("loaded state vector %x; want %x", got.EncodeStateVector(), want.EncodeStateVector())
	}
	if !bytes.Equal(got.EncodeStateAsUpdate(), want.EncodeStateAsUpdate()) {
		t.Fatalf("loaded state differs:\n got %x\nwant %x", got.EncodeStateAsUpdate(), want.EncodeStateAsUpdate())
	}
}
