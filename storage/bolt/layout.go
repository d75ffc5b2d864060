package bolt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// The file's layout (version 2):
//
//	meta/version             -> layoutVersion, big-endian uint32
//	logs/<name>/<seq>        -> one appended update; seq is the log
//	                            bucket's NextSequence, 8 bytes big-endian
//	snapshots/<name>/update  -> the compacted state of every entry the log
//	                            no longer holds, one v1 update
//
// A document is stored when its log bucket exists (possibly empty, after a
// compaction); its snapshot bucket exists only alongside it, once it has
// been compacted, and both go in the same transaction.
//
// Log and snapshot live in separate trees so that an append never
// rewrites a page that holds snapshot bytes. bbolt copies every page it
// changes, up to the root: in layout 1 the snapshot was a value next to
// the log entries (docs/<name>/snapshot), so the leaf an append changed
// could be the one holding a multi-MiB snapshot, and appends got slower
// as the snapshot grew (see BenchmarkAppendLargeSnapshot). Keeping the
// snapshot as a value next to a "log" sub-bucket would not help: the log
// bucket's header changes with every append, and bbolt never splits a
// leaf of four keys or fewer. Here an append changes only pages of logs/,
// and a compaction rewrites only the document's own snapshot, besides
// small pages: each snapshot has its own bucket, so no two large ones
// share a leaf (a snapshot under bbolt's inline limit, a quarter page, is
// stored inline in the leaf of snapshots/).
//
// Two top-level trees rather than docs/<name>/{log,snapshot}: a bucket
// that holds buckets always takes a page of its own, so the nested form
// costs every document 4 KiB more (40 MB more for 10,000 small documents,
// measured), while a small log bucket here is stored inline.
//
// Log keys only ever grow within a log bucket (bbolt keeps its sequence
// across the deletions of compaction), so log buckets are filled at
// FillPercent 1.0: pages split full instead of half empty.
//
// Layout 1 files (every document in docs/<name>, snapshot under key
// "snapshot") are migrated by Open, in one transaction: see migrateV1.
var (
	metaBucket      = []byte("meta")
	versionKey      = []byte("version")
	logsBucket      = []byte("logs")
	snapshotsBucket = []byte("snapshots")
	snapshotKey     = []byte("update")
)

// layoutVersion changes when the layout above does; Open migrates older
// files it knows and refuses any other version instead of misreading it.
const layoutVersion = 2

// Layout 1, for migrateV1.
var (
	v1DocsBucket  = []byte("docs")
	v1SnapshotKey = []byte("snapshot")
)

// appendFillPercent is the fill of log buckets, whose keys only grow.
const appendFillPercent = 1.0

// initLayout creates the top-level buckets of a new file, migrates a
// layout 1 file, and refuses any other version.
func initLayout(tx *bolt.Tx) error {
	meta, err := tx.CreateBucketIfNotExists(metaBucket)
	if err != nil {
		return err
	}
	version := uint32(layoutVersion) // a new file
	if v := meta.Get(versionKey); v != nil {
		if len(v) != 4 {
			return fmt.Errorf("unsupported layout version %x (this build reads %d, and migrates 1)", v, layoutVersion)
		}
		version = binary.BigEndian.Uint32(v)
	}
	switch version {
	case 1:
		if err := migrateV1(tx); err != nil {
			return fmt.Errorf("migrating layout 1 to %d: %w", layoutVersion, err)
		}
	case layoutVersion:
	default:
		return fmt.Errorf("unsupported layout version %d (this build reads %d, and migrates 1)", version, layoutVersion)
	}
	for _, name := range [][]byte{logsBucket, snapshotsBucket} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return meta.Put(versionKey, binary.BigEndian.AppendUint32(nil, layoutVersion))
}

// migrateV1 moves every document of a layout 1 file to the layout above,
// keeping its log keys and sequence, inside the transaction of Open: a
// crash or an error leaves the file as it was. It holds the whole file in
// the transaction, which is fine for the development files layout 1 was
// used for.
func migrateV1(tx *bolt.Tx) error {
	docs := tx.Bucket(v1DocsBucket)
	if docs == nil {
		return nil
	}
	logs, err := tx.CreateBucketIfNotExists(logsBucket)
	if err != nil {
		return err
	}
	snapshots, err := tx.CreateBucketIfNotExists(snapshotsBucket)
	if err != nil {
		return err
	}
	c := docs.Cursor()
	for name, v := c.First(); name != nil; name, v = c.Next() {
		if v != nil {
			return fmt.Errorf("unexpected value %q in bucket docs", name)
		}
		old := docs.Bucket(name)
		log, err := logs.CreateBucket(name)
		if err != nil {
			return fmt.Errorf("document %q: %w", name, err)
		}
		log.FillPercent = appendFillPercent
		if err := log.SetSequence(old.Sequence()); err != nil {
			return err
		}
		oc := old.Cursor()
		for k, v := oc.First(); k != nil; k, v = oc.Next() {
			switch {
			case v == nil:
				return fmt.Errorf("document %q: unexpected bucket %q", name, k)
			case bytes.Equal(k, v1SnapshotKey):
				snap, err := snapshots.CreateBucket(name)
				if err == nil {
					err = snap.Put(snapshotKey, bytes.Clone(v))
				}
				if err != nil {
					return fmt.Errorf("document %q: %w", name, err)
				}
			case len(k) == 8:
				if err := log.Put(bytes.Clone(k), bytes.Clone(v)); err != nil {
					return fmt.Errorf("document %q: %w", name, err)
				}
			default:
				return fmt.Errorf("document %q: unexpected key %q", name, k)
			}
		}
	}
	return tx.DeleteBucket(v1DocsBucket)
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), seq) }

// isLogKey reports whether k (with value v) is a log entry.
func isLogKey(k, v []byte) bool { return v != nil && len(k) == 8 }

// docBuckets are the buckets of one document in a transaction; nil when
// absent.
type docBuckets struct {
	log, snapshot *bolt.Bucket
}

func openDoc(tx *bolt.Tx, name string) docBuckets {
	return docBuckets{
		log:      tx.Bucket(logsBucket).Bucket([]byte(name)),
		snapshot: tx.Bucket(snapshotsBucket).Bucket([]byte(name)),
	}
}

// snapshotValue returns the stored snapshot (nil: none), valid only in the
// transaction.
func (d docBuckets) snapshotValue() []byte {
	if d.snapshot == nil {
		return nil
	}
	return d.snapshot.Get(snapshotKey)
}

// deleteDoc removes both buckets of document name.
func deleteDoc(tx *bolt.Tx, name string) error {
	for _, parent := range [][]byte{logsBucket, snapshotsBucket} {
		err := tx.Bucket(parent).DeleteBucket([]byte(name))
		if err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
			return err
		}
	}
	return nil
}

// docState is what the writer knows about a stored document: enough to
// enforce MaxDocumentBytes and decide compaction without reading it.
type docState struct {
	snapshotBytes int64
	logCount      int
	logBytes      int64

	// compactRetryAt, when non-zero, is the log length at which a
	// compaction that failed (the data did not decode) is tried again, so
	// that a corrupt document is not re-read after every commit.
	compactRetryAt int
}

func (st docState) size() int64 { return st.snapshotBytes + st.logBytes }

// scanDoc reads the state of a document (zero: not stored).
func scanDoc(d docBuckets) docState {
	var st docState
	st.snapshotBytes = int64(len(d.snapshotValue()))
	if d.log == nil {
		return st
	}
	c := d.log.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if isLogKey(k, v) {
			st.logCount++
			st.logBytes += int64(len(v))
		}
	}
	return st
}

// readDoc copies the snapshot and the log entries of a document, in that
// order, stopping after maxEntries log entries or once maxBytes have been
// read (zero: no limit). It returns the sequence of the last entry read
// (zero if none). Values are copied because bbolt's are valid only inside
// the transaction, and compacting happens outside it.
func readDoc(d docBuckets, maxEntries int, maxBytes int64) (parts [][]byte, lastSeq uint64, logRead int, logBytes int64) {
	if snap := d.snapshotValue(); snap != nil {
		parts = append(parts, bytes.Clone(snap))
	}
	if d.log == nil {
		return parts, 0, 0, 0
	}
	c := d.log.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if !isLogKey(k, v) {
			continue
		}
		parts = append(parts, bytes.Clone(v))
		lastSeq = binary.BigEndian.Uint64(k)
		logRead++
		logBytes += int64(len(v))
		if (maxEntries > 0 && logRead >= maxEntries) || (maxBytes > 0 && logBytes >= maxBytes) {
			break
		}
	}
	return parts, lastSeq, logRead, logBytes
}
