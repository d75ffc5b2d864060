package bolt

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quirehq/quire/storage"
	"github.com/quirehq/quire/storage/storetest"
	bolt "go.etcd.io/bbolt"
)

// openT opens a store on a new file in t.TempDir and closes it at the end
// of the test (if the test has not).
func openT(t testing.TB, opts Options) *Store {
	t.Helper()
	return openPath(t, filepath.Join(t.TempDir(), "quire.db"), opts)
}

func openPath(t testing.TB, path string, opts Options) *Store {
	t.Helper()
	s, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, storage.ErrClosed) {
			t.Error(err)
		}
	})
	return s
}

// logLen reads the number of log entries of document name and whether it
// has a snapshot, straight from the file.
func logLen(t testing.TB, s *Store, name string) (entries int, snapshot bool) {
	t.Helper()
	err := s.db.View(func(tx *bolt.Tx) error {
		d := openDoc(tx, name)
		entries, snapshot = scanDoc(d).logCount, d.snapshotValue() != nil
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return entries, snapshot
}

// holdWriter stalls the writer inside a commit (of an append to document
// "blocker") until the returned release is called, so that requests queue
// up behind it. then, if set, decides the outcome of every later commit
// (the n-th after the held one).
func holdWriter(t testing.TB, s *Store, then func(n int) error) (release func()) {
	t.Helper()
	entered, released := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	hook := func() error {
		n := int(calls.Add(1)) - 1
		if n == 0 {
			close(entered)
			<-released
			return nil
		}
		if then != nil {
			return then(n)
		}
		return nil
	}
	s.testHookCommit.Store(&hook)
	blocker := storetest.NewEditor(t, 999).Append(t, "blocker")
	done := make(chan error, 1)
	go func() { done <- s.Append(context.Background(), "blocker", blocker) }()
	<-entered
	return func() {
		close(released)
		if err := <-done; err != nil {
			t.Errorf("the held append: %v", err)
		}
	}
}

// waitQueued waits until n requests (besides the held one) are queued.
func waitQueued(t testing.TB, s *Store, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.unanswered.Load() < int64(n+1) {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests under way; want %d queued", s.unanswered.Load()-1, n)
		}
		time.Sleep(time.Millisecond)
	}
}
