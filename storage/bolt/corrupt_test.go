package bolt

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/quirehq/quire/crdt"
	"github.com/quirehq/quire/storage"
	"github.com/quirehq/quire/storage/storetest"
	bolt "go.etcd.io/bbolt"
)

var garbage = []byte{0x03, 0xff, 0xff, 0xff, 0x01, 0x02}

// TestCorruptLog writes garbage into a document's log behind the store's
// back: Load must report ErrCorrupt, and neither Load nor compaction may
// touch the stored bytes.
func TestCorruptLog(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "quire.db")
	s := openPath(t, path, Options{CompactCount: 3, CommitDelay: -1})
	e := storetest.NewEditor(t, 1)
	for _, w := range []string{"a", "b"} {
		if err := s.Append(ctx, "d", e.Append(t, w)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Append(ctx, "healthy", e.Append(t, "c")); err != nil {
		t.Fatal(err)
	}
	var badKey []byte
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(logsBucket).Bucket([]byte("d"))
		seq, err := b.NextSequence()
		badKey = seqKey(seq)
		if err != nil {
			return err
		}
		return b.Put(badKey, garbage)
	})
	if err != nil {
		t.Fatal(err)
	}
	checkCorrupt := func(s *Store) {
		t.Helper()
		u, err := s.Load(ctx, "d")
		if !errors.Is(err, storage.ErrCorrupt) || !errors.Is(err, crdt.ErrMalformedUpdate) || u != nil {
			t.Fatalf("Load of a corrupt document = %x, %v; want ErrCorrupt", u, err)
		}
		var stored []byte
		s.db.View(func(tx *bolt.Tx) error {
			stored = bytes.Clone(tx.Bucket(logsBucket).Bucket([]byte("d")).Get(badKey))
			return nil
		})
		if !bytes.Equal(stored, garbage) {
			t.Fatalf("the corrupt entry is now %x; want it untouched", stored)
		}
		if _, err := s.Load(ctx, "healthy"); err != nil {
			t.Fatalf("another document: %v", err)
		}
	}
	checkCorrupt(s)

	// Appends still succeed (they are valid), but compaction must give up
	// and leave the log alone.
	for _, w := range []string{"c", "d", "e"} {
		if err := s.Append(ctx, "d", e.Append(t, w)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().CompactionErrors == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if st := s.Stats(); st.CompactionErrors != 1 || st.Compactions != 0 {
		t.Fatalf("stats %+v; want one compaction error", st)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openPath(t, path, Options{})
	checkCorrupt(s)
	if n, _ := logLen(t, s, "d"); n != 6 {
		t.Fatalf("%d log entries; want all 6 kept", n)
	}
}

func TestCorruptSnapshot(t *testing.T) {
	ctx := t.Context()
	s := openT(t, Options{})
	if err := s.Append(ctx, "d", storetest.NewEditor(t, 1).Append(t, "x")); err != nil {
		t.Fatal(err)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.Bucket(snapshotsBucket).CreateBucketIfNotExists([]byte("d"))
		if err != nil {
			return err
		}
		return b.Put(snapshotKey, garbage)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, "d"); !errors.Is(err, storage.ErrCorrupt) {
		t.Fatalf("Load with a corrupt snapshot = %v; want ErrCorrupt", err)
	}
	// A lone snapshot is checked too.
	err = s.db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.Bucket(logsBucket).CreateBucket([]byte("lone")); err != nil {
			return err
		}
		b, err := tx.Bucket(snapshotsBucket).CreateBucket([]byte("lone"))
		if err != nil {
			return err
		}
		return b.Put(snapshotKey, garbage)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, "lone"); !errors.Is(err, storage.ErrCorrupt) {
		t.Fatalf("Load of a corrupt lone snapshot = %v; want ErrCorrupt", err)
	}
}

func TestOpenOtherVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "quire.db")
	s := openPath(t, path, Options{})
	s.Close()
	// A file of another layout version is refused, not misread.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { return tx.Bucket(metaBucket).Put(versionKey, []byte{0, 0, 0, 9}) })
	db.Close()
	if s, err := Open(path, Options{}); err == nil {
		s.Close()
		t.Fatal("Open accepted layout version 9")
	}
}
