package bolt

import (
	"bytes"
	"encoding/binary"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/quirehq/quire/crdt"
	"github.com/quirehq/quire/storage/storetest"
	bolt "go.etcd.io/bbolt"
)

// TestAppendLeavesSnapshot checks what the layout is for: an append
// writes no page of the snapshot (bbolt copies every page it changes, so
// a rewritten bucket gets a new root page).
func TestAppendLeavesSnapshot(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "quire.db")
	s := openPath(t, path, Options{CompactCount: 1, CommitDelay: -1})
	e := storetest.NewEditor(t, 1)
	for _, w := range []string{strings.Repeat("x", 64<<10), "y"} {
		if err := s.Append(ctx, "d", e.Append(t, w)); err != nil {
			t.Fatal(err)
		}
	}
	waitCompacted(t, s, 1)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openPath(t, path, Options{CommitDelay: -1}) // no more compactions
	root := func() (root uint64, snap int) {
		t.Helper()
		s.db.View(func(tx *bolt.Tx) error {
			d := openDoc(tx, "d")
			root, snap = uint64(d.snapshot.RootPage()), len(d.snapshotValue())
			return nil
		})
		return root, snap
	}
	before, snap := root()
	if snap < 64<<10 {
		t.Fatalf("snapshot of %d bytes", snap)
	}
	for range 3 {
		if err := s.Append(ctx, "d", e.Append(t, "z")); err != nil {
			t.Fatal(err)
		}
		if after, _ := root(); after != before {
			t.Fatalf("the snapshot moved from page %d to %d on an append", before, after)
		}
	}
}

// writeV1 writes a layout 1 file: meta/version 1, docs/<name>/snapshot
// and docs/<name>/<seq>.
func writeV1(t *testing.T, path string, fn func(docs *bolt.Bucket) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucket(metaBucket)
		if err != nil {
			return err
		}
		if err := meta.Put(versionKey, []byte{0, 0, 0, 1}); err != nil {
			return err
		}
		docs, err := tx.CreateBucket(v1DocsBucket)
		if err != nil {
			return err
		}
		return fn(docs)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestMigrateV1(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "quire.db")
	a, b := storetest.NewEditor(t, 1), storetest.NewEditor(t, 2)
	var au [][]byte
	for _, w := range []string{"one ", "two ", "three ", "four "} {
		au = append(au, a.Append(t, w))
	}
	snapshot, err := crdt.MergeUpdates(au[:2]...)
	if err != nil {
		t.Fatal(err)
	}
	writeV1(t, path, func(docs *bolt.Bucket) error {
		// "a": entries 1 to 3 compacted (entry 3 was a duplicate), 4 and
		// 5 in the log.
		da, err := docs.CreateBucket([]byte("a"))
		if err != nil {
			return err
		}
		for _, kv := range []struct {
			k, v []byte
		}{{seqKey(4), au[2]}, {seqKey(5), au[3]}, {v1SnapshotKey, snapshot}} {
			if err := da.Put(kv.k, kv.v); err != nil {
				return err
			}
		}
		if err := da.SetSequence(5); err != nil {
			return err
		}
		db, err := docs.CreateBucket([]byte("b"))
		if err != nil {
			return err
		}
		if _, err := db.NextSequence(); err != nil {
			return err
		}
		return db.Put(seqKey(1), b.Append(t, "bee"))
	})

	s := openPath(t, path, Options{})
	if names, err := s.Names(ctx); err != nil || !slices.Equal(names, []string{"a", "b"}) {
		t.Fatalf("Names = %q, %v", names, err)
	}
	for name, e := range map[string]*storetest.Editor{"a": a, "b": b} {
		u, err := s.Load(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		storetest.CheckSame(t, e.Doc, u)
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(metaBucket).Get(versionKey); binary.BigEndian.Uint32(v) != layoutVersion {
			t.Errorf("version %x after migration", v)
		}
		if tx.Bucket(v1DocsBucket) != nil {
			t.Error("bucket docs left after migration")
		}
		if n := len(openDoc(tx, "a").snapshotValue()); n != len(snapshot) {
			t.Errorf("snapshot of %d bytes after migration; want %d", n, len(snapshot))
		}
		for err := range tx.Check() {
			t.Error(err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The log goes on after its last sequence, and compacts.
	if err := s.Append(ctx, "a", a.Append(t, "five")); err != nil {
		t.Fatal(err)
	}
	var keys [][]byte
	s.db.View(func(tx *bolt.Tx) error {
		return openDoc(tx, "a").log.ForEach(func(k, _ []byte) error {
			keys = append(keys, bytes.Clone(k))
			return nil
		})
	})
	if !slices.EqualFunc(keys, [][]byte{seqKey(4), seqKey(5), seqKey(6)}, bytes.Equal) {
		t.Fatalf("log keys %x after an append; want 4, 5, 6", keys)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openPath(t, path, Options{CompactCount: 2})
	if err := s.Append(ctx, "a", a.Append(t, "six")); err != nil {
		t.Fatal(err)
	}
	waitCompacted(t, s, 1)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openPath(t, path, Options{})
	u, err := s.Load(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	storetest.CheckSame(t, a.Doc, u)
}

// TestMigrateV1Fails opens a layout 1 file that does not migrate: Open
// fails and leaves the file as it was.
func TestMigrateV1Fails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "quire.db")
	u := storetest.NewEditor(t, 1).Append(t, "x")
	writeV1(t, path, func(docs *bolt.Bucket) error {
		for _, name := range []string{"a", "z"} {
			b, err := docs.CreateBucket([]byte(name))
			if err != nil {
				return err
			}
			if err := b.Put(seqKey(1), u); err != nil {
				return err
			}
		}
		return docs.Bucket([]byte("z")).Put([]byte("stray key"), u)
	})
	if s, err := Open(path, Options{}); err == nil {
		s.Close()
		t.Fatal("Open migrated a file with a stray key")
	} else if !strings.Contains(err.Error(), "stray key") {
		t.Fatalf("Open: %v; want the stray key named", err)
	}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(metaBucket).Get(versionKey); !bytes.Equal(v, []byte{0, 0, 0, 1}) {
			t.Errorf("version %x after a failed migration", v)
		}
		if tx.Bucket(logsBucket) != nil || tx.Bucket(v1DocsBucket).Bucket([]byte("a")) == nil {
			t.Error("a failed migration changed the file")
		}
		return nil
	})
}
