package bolt

import (
	"fmt"

	"github.com/quirehq/quire/crdt"
	"github.com/quirehq/quire/storage"
	bolt "go.etcd.io/bbolt"
)

// Compaction keeps Load fast and the file small: once a document's log is
// over Options.CompactCount entries or Options.CompactBytes bytes, its
// snapshot and log are replaced by a new snapshot holding their state,
// without the content deleted since (compactUpdates).
//
// Building the snapshot is the expensive part, so it runs on its own
// goroutine (the compactor) against a read transaction, while the writer
// goes on committing appends. The result is swapped in by the writer,
// inside its next transaction, deleting only the entries the compactor
// read. One
// compaction is in flight at a time, and one reads at most
// compactReadFactor thresholds' worth of log, so no swap holds the writer
// for long; a longer log is compacted over several rounds.

const compactReadFactor = 4

// compactJob asks the compactor to compact one document. cancelled is set
// by the writer (the only goroutine that reads it) when the document is
// deleted meanwhile.
type compactJob struct {
	name      string
	cancelled bool
}

// compactResult is a new snapshot covering the log up to lastSeq
// (zero: nothing to swap), or the reason there is none.
type compactResult struct {
	job      *compactJob
	snapshot []byte
	lastSeq  uint64
	err      error
}

// startCompaction hands the next due document to the compactor if it is
// idle.
func (w *writer) startCompaction() {
	for w.job == nil && len(w.due) > 0 {
		name := w.due[0]
		w.due = w.due[1:]
		delete(w.isDue, name)
		if st, ok := w.states[name]; ok && !w.needsCompaction(st) {
			continue // compacted since it was queued
		}
		w.job = &compactJob{name: name}
		w.jobs <- w.job // buffered, and the compactor is idle: never blocks
	}
}

// compactor runs jobs until the writer closes jobs. Results go to a
// buffered channel the writer drains before it sends another job, so the
// compactor never blocks.
func (w *writer) compactor() {
	defer close(w.compactorDone)
	for job := range w.jobs {
		w.results <- w.compact(job)
	}
}

func (w *writer) compact(job *compactJob) *compactResult {
	res := &compactResult{job: job}
	var parts [][]byte
	err := w.s.db.View(func(tx *bolt.Tx) error {
		d := openDoc(tx, job.name)
		if d.log == nil {
			return nil
		}
		parts, res.lastSeq, _, _ = readDoc(d,
			compactReadFactor*w.opts.CompactCount,
			compactReadFactor*w.opts.CompactBytes)
		return nil
	})
	if err != nil {
		res.err = err
		res.lastSeq = 0
		return res
	}
	if res.lastSeq == 0 {
		return res
	}
	snapshot, err := compactUpdates(parts)
	if err != nil {
		res.err = fmt.Errorf("%w: %w", storage.ErrCorrupt, err)
		res.lastSeq = 0
		return res
	}
	res.snapshot = snapshot
	return res
}

// compactUpdates returns one update holding the state of parts (a
// snapshot and log entries, in that order), without the content deleted
// since.
//
// It applies them to a fresh document with garbage collection on and
// encodes its state: deleted content is dropped as Yjs's gc drops it (the
// items stay, as deletion marks, so that every replica converges), where
// a byte-level merge would keep it forever. Like any Yjs replica applying
// remote updates, the document also deletes format marks made redundant
// by concurrent formatting; those deletions end up in the snapshot, and
// the visible content is the same.
//
// A document that still has pending content (structs or deletes waiting
// for a missing dependency, as when a client sent an update built on one
// it never sent) is merged at the byte level instead, as are parts the
// document refuses. Its encoded state would include the pending content
// too (TestCompactionPending checks it), but the merge keeps every stored
// byte, and such a document is compacted properly once the missing
// updates arrive. The merge fails, leaving the document as stored, only
// on data that does not decode.
func compactUpdates(parts [][]byte) ([]byte, error) {
	d := crdt.NewDoc(crdt.Options{})
	for _, p := range parts {
		if err := d.ApplyUpdate(p, nil); err != nil {
			return crdt.MergeUpdates(parts...)
		}
	}
	if d.HasPending() {
		return crdt.MergeUpdates(parts...)
	}
	return d.EncodeStateAsUpdate(), nil
}
