package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/quirehq/quire/storage"
	bolt "go.etcd.io/bbolt"
)

// The writer is the only goroutine that writes to the file. Appends,
// flushes and deletes queue on Store.reqs; the writer takes everything
// queued, up to MaxBatch requests or for at most CommitDelay after the
// first one, into one bbolt transaction: one commit, one fsync, however
// many documents the batch touches. Then it answers every request of the
// batch with the outcome. While it commits, the next batch queues up, so
// batches grow with load and with the latency of the disk.
//
// The writer stops waiting early once every request under way (begun and
// not answered) is in the batch: nobody else is coming soon, and waiting
// would only add CommitDelay to a lone appender's latency. PostgreSQL's
// commit_delay, which applies only when commit_siblings other
// transactions are active, makes the same call.

type opKind uint8

const (
	opAppend opKind = iota
	opFlush
	opDelete
)

// request is one queued operation. done is buffered so that the writer
// never waits for a caller that gave up.
type request struct {
	ctx    context.Context
	op     opKind
	name   string
	update []byte // opAppend: a private, checked copy
	done   chan error
}

// maxBatchBytes ends a batch early once its updates add up to this much,
// bounding the memory and the duration of one transaction.
const maxBatchBytes = 32 << 20

// maxCachedStates bounds the writer's per-document state cache; beyond it
// entries are dropped (any entry can be rebuilt from the file).
const maxCachedStates = 1 << 16

type writer struct {
	s    *Store
	opts Options

	// states caches docState by document name. Only committed state is
	// kept: a transaction works on copies (see batchState) that replace
	// these entries once it has committed.
	states map[string]*docState

	// Compaction scheduling: documents due, in order, and the one job in
	// flight on the compactor goroutine (nil when it is idle).
	due     []string
	isDue   map[string]bool
	job     *compactJob
	jobs    chan *compactJob
	results chan *compactResult

	compactorDone chan struct{}
	timer         *time.Timer
}

func newWriter(s *Store) *writer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &writer{
		s:             s,
		opts:          s.opts,
		states:        make(map[string]*docState),
		isDue:         make(map[string]bool),
		jobs:          make(chan *compactJob, 1),
		results:       make(chan *compactResult, 1),
		compactorDone: make(chan struct{}),
		timer:         t,
	}
}

func (w *writer) run() {
	defer close(w.s.writerDone)
	go w.compactor()
	for open := true; open; {
		var batch []*request
		var res *compactResult
		batch, res, open = w.gather()
		w.commit(batch, res)
		if open {
			w.startCompaction()
		}
	}
	// Close: the queue is drained and committed. A compaction in flight is
	// dropped (the log it would have shortened is still there).
	close(w.jobs)
	<-w.compactorDone
}

// gather waits for work and returns the next batch: the requests to
// commit together and possibly a finished compaction to swap in with them.
// open is false once Close has closed the queue and it is empty.
func (w *writer) gather() (batch []*request, res *compactResult, open bool) {
	var batchBytes int
	add := func(r *request) {
		batch = append(batch, r)
		batchBytes += len(r.update)
	}
	select {
	case r, ok := <-w.s.reqs:
		if !ok {
			return nil, nil, false
		}
		add(r)
	case res = <-w.results:
		w.job = nil
	}
	full := func() bool { return len(batch) >= w.opts.MaxBatch || batchBytes >= maxBatchBytes }
	// everyone reports whether no request beyond the batch is under way.
	everyone := func() bool { return int64(len(batch)) >= w.s.unanswered.Load() }

	// A compaction swap alone does not wait for company: it takes only
	// what is queued already.
	if w.opts.CommitDelay < 0 || len(batch) == 0 {
		for !full() {
			select {
			case r, ok := <-w.s.reqs:
				if !ok {
					return batch, res, false
				}
				add(r)
			default:
				return batch, res, true
			}
		}
		return batch, res, true
	}

	if everyone() {
		return batch, res, true
	}
	w.timer.Reset(w.opts.CommitDelay)
	defer w.timer.Stop()
	for !full() && !everyone() {
		results := w.results
		if res != nil {
			results = nil // one swap per transaction
		}
		select {
		case r, ok := <-w.s.reqs:
			if !ok {
				return batch, res, false
			}
			add(r)
		case res = <-results:
			w.job = nil
		case <-w.timer.C:
			return batch, res, true
		}
	}
	return batch, res, true
}

// batchState tracks, during one transaction, the state of every document
// the batch touches. A nil entry means deleted by this batch.
type batchState map[string]*docState

// state returns the state of document name as this transaction sees it,
// creating the batch's working copy on first use.
func (w *writer) state(bs batchState, tx *bolt.Tx, name string) *docState {
	if st, ok := bs[name]; ok {
		if st == nil { // deleted earlier in this batch
			st = &docState{}
			bs[name] = st
		}
		return st
	}
	var st docState
	if cached, ok := w.states[name]; ok {
		st = *cached
	} else {
		st = scanDoc(openDoc(tx, name))
	}
	bs[name] = &st
	return &st
}

// commit runs one write transaction for batch and res, and answers every
// request of the batch.
func (w *writer) commit(batch []*request, res *compactResult) {
	// A caller that gave up before its batch began is answered without
	// writing its request: nobody would learn the outcome.
	live := batch[:0]
	writes := res != nil
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			w.answer(r, err)
			continue
		}
		live = append(live, r)
		writes = writes || r.op != opFlush
	}
	if !writes {
		// Only flushes: every request queued before them has been
		// committed (or failed) already.
		for _, r := range live {
			w.answer(r, nil)
		}
		return
	}

	if res != nil && res.err != nil && !res.job.cancelled {
		w.s.counters.compactionErrors.Add(1)
		w.s.log.Error("compaction failed; the document stays as stored", "doc", res.job.name, "err", res.err)
	}

	answers := make([]error, len(live))
	var bs batchState
	var swapped bool
	err := w.s.db.Update(func(tx *bolt.Tx) error {
		bs = make(batchState)
		swapped = false
		if res != nil {
			var err error
			if swapped, err = w.swap(bs, tx, res); err != nil {
				return fmt.Errorf("compaction of %q: %w", res.job.name, err)
			}
		}
		for i, r := range live {
			switch r.op {
			case opAppend:
				answer, err := w.put(bs, tx, r)
				if err != nil {
					return fmt.Errorf("append to %q: %w", r.name, err)
				}
				answers[i] = answer
			case opDelete:
				if err := deleteDoc(tx, r.name); err != nil {
					return fmt.Errorf("delete %q: %w", r.name, err)
				}
				bs[r.name] = nil
				if w.job != nil && w.job.name == r.name {
					// Its result would delete entries of a document that
					// no longer exists, or of a new one under that name.
					w.job.cancelled = true
				}
			}
		}
		if hook := w.s.testHookCommit.Load(); hook != nil {
			return (*hook)()
		}
		return nil
	})

	if err != nil {
		// bbolt rolled the transaction back: nothing of the batch is
		// stored, so every request of it fails.
		w.s.counters.failedCommits.Add(1)
		w.s.log.Error("commit failed", "requests", len(live), "err", err)
		err = fmt.Errorf("storage/bolt: commit: %w", err)
		for _, r := range live {
			w.answer(r, err)
		}
		for name := range bs {
			delete(w.states, name)
		}
		return
	}

	// Counters first: a caller that reads Stats once its append returned
	// sees it counted.
	w.s.counters.commits.Add(1)
	var acked uint64
	for i, r := range live {
		if answers[i] == nil && r.op == opAppend {
			acked++
		}
	}
	w.s.counters.appends.Add(acked)
	if swapped {
		w.s.counters.compactions.Add(1)
	}
	for i, r := range live {
		w.answer(r, answers[i])
	}
	for name, st := range bs {
		if st == nil {
			delete(w.states, name)
			continue
		}
		w.states[name] = st
		// A document being compacted is looked at again when its swap
		// commits.
		inFlight := w.job != nil && w.job.name == name
		if w.needsCompaction(st) && !w.isDue[name] && !inFlight {
			w.isDue[name] = true
			w.due = append(w.due, name)
		}
	}
	for name := range w.states {
		if len(w.states) <= maxCachedStates {
			break
		}
		delete(w.states, name)
	}
}

// answer tells r's caller the outcome (done is buffered: the caller may
// be gone).
func (w *writer) answer(r *request, err error) {
	r.done <- err
	w.s.unanswered.Add(-1)
}

// put appends r's update to its document's log. answer is the request's
// own failure (too large); err fails the whole transaction.
func (w *writer) put(bs batchState, tx *bolt.Tx, r *request) (answer, err error) {
	st := w.state(bs, tx, r.name)
	if n := st.size() + int64(len(r.update)); n > w.opts.MaxDocumentBytes {
		return fmt.Errorf("storage/bolt: append to %q: %w: %d bytes, limit %d",
			r.name, storage.ErrTooLarge, n, w.opts.MaxDocumentBytes), nil
	}
	b, err := tx.Bucket(logsBucket).CreateBucketIfNotExists([]byte(r.name))
	if err != nil {
		return nil, err
	}
	b.FillPercent = appendFillPercent
	seq, err := b.NextSequence()
	if err != nil {
		return nil, err
	}
	if err := b.Put(seqKey(seq), r.update); err != nil {
		return nil, err
	}
	st.logCount++
	st.logBytes += int64(len(r.update))
	return nil, nil
}

// needsCompaction reports whether a document's log is over a threshold
// (and not held back by a recent failure).
func (w *writer) needsCompaction(st *docState) bool {
	over := st.logCount > w.opts.CompactCount || st.logBytes > w.opts.CompactBytes
	return over && (st.compactRetryAt == 0 || st.logCount >= st.compactRetryAt)
}

// swap installs a finished compaction: the new snapshot replaces the
// old one and the log entries it covers are deleted, in the transaction
// of the batch, so a crash leaves either the old or the new state.
// Entries appended after the compactor read the log stay. ok reports
// whether anything was swapped.
func (w *writer) swap(bs batchState, tx *bolt.Tx, res *compactResult) (ok bool, err error) {
	name := res.job.name
	if res.job.cancelled {
		return false, nil
	}
	b := tx.Bucket(logsBucket).Bucket([]byte(name))
	if b == nil {
		return false, nil
	}
	st := w.state(bs, tx, name)
	if res.err != nil {
		st.compactRetryAt = st.logCount + w.opts.CompactCount
		return false, nil
	}
	if res.lastSeq == 0 {
		return false, nil
	}
	// Collect first: deleting under a cursor may skip keys (bbolt #611).
	var keys [][]byte
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if !isLogKey(k, v) {
			continue
		}
		if binary.BigEndian.Uint64(k) > res.lastSeq {
			break
		}
		keys = append(keys, bytes.Clone(k))
		st.logCount--
		st.logBytes -= int64(len(v))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return false, err
		}
	}
	snap, err := tx.Bucket(snapshotsBucket).CreateBucketIfNotExists([]byte(name))
	if err != nil {
		return false, err
	}
	if err := snap.Put(snapshotKey, res.snapshot); err != nil {
		return false, err
	}
	st.snapshotBytes = int64(len(res.snapshot))
	st.compactRetryAt = 0
	w.s.log.Debug("compacted", "doc", name, "entries", len(keys), "snapshot_bytes", len(res.snapshot))
	return true, nil
}
