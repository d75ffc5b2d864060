package bolt

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/quirehq/quire/crdt"
	"github.com/quirehq/quire/storage"
	bolt "go.etcd.io/bbolt"
)

// Store keeps documents in a bbolt file. It implements sync.Store. Create
// it with Open; it is safe for concurrent use.
type Store struct {
	db   *bolt.DB
	opts Options
	log  *slog.Logger

	// mu guards closed and, held for reading, every send on reqs: Close
	// takes it for writing before closing reqs, so no send can race the
	// close.
	mu     sync.RWMutex
	closed bool

	reqs       chan *request
	writerDone chan struct{}

	// unanswered counts requests between the start of their enqueue and
	// their answer by the writer, so that the writer can tell when every
	// request under way has joined its batch and waiting is pointless.
	unanswered atomic.Int64

	counters counters

	// testHookCommit, when set (by tests in this package), runs inside
	// every write transaction; an error fails the transaction.
	testHookCommit atomic.Pointer[func() error]
}

// Open opens (creating if needed) the bbolt file at path and starts the
// writer. A file left by a crashed process opens as of its last commit.
// Open fails when another process holds the file longer than
// Options.LockTimeout.
func Open(path string, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: opts.LockTimeout,
		// The hashmap freelist stays fast when deletions (compaction)
		// fragment a large file; not syncing the freelist saves writing it
		// on every commit, at the price of a scan on open after a crash.
		FreelistType:   bolt.FreelistMapType,
		NoFreelistSync: true,
	})
	if err != nil {
		return nil, fmt.Errorf("storage/bolt: open %s: %w", path, err)
	}
	if err := db.Update(initLayout); err != nil {
		db.Close()
		return nil, fmt.Errorf("storage/bolt: open %s: %w", path, err)
	}
	s := &Store{
		db:         db,
		opts:       opts,
		log:        opts.Logger,
		reqs:       make(chan *request, opts.MaxBatch),
		writerDone: make(chan struct{}),
	}
	w := newWriter(s)
	go w.run()
	return s, nil
}

// Path returns the path of the bbolt file.
func (s *Store) Path() string { return s.db.Path() }

// Load returns document name as one v1 update (its snapshot merged with
// its log), or nil when nothing is stored under name. It reads one
// consistent view: appends committed before Load began are included,
// entirely. Stored data that does not merge gives an error wrapping
// storage.ErrCorrupt and is left as it is.
func (s *Store) Load(ctx context.Context, name string) ([]byte, error) {
	if err := storage.CheckName(name); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var parts [][]byte
	err := s.view(func(tx *bolt.Tx) error {
		parts, _, _, _ = readDoc(openDoc(tx, name), 0, 0)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage/bolt: load %q: %w", name, err)
	}
	if len(parts) == 0 {
		return nil, nil
	}
	// MergeUpdates also checks a lone snapshot, so Load never hands out
	// bytes that do not decode.
	merged, err := crdt.MergeUpdates(parts...)
	if err != nil {
		return nil, fmt.Errorf("storage/bolt: load %q: %w: %w", name, storage.ErrCorrupt, err)
	}
	return merged, nil
}

func (s *Store) isClosed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closed
}

// view runs fn in a read transaction unless the store is closed.
func (s *Store) view(fn func(*bolt.Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return storage.ErrClosed
	}
	return s.db.View(fn)
}

// Append stores one v1 update of document name and returns once it is
// committed and fsynced, sharing the commit with whatever other appends
// arrive within Options.CommitDelay.
//
// Errors: storage.ErrInvalidName, crdt.ErrMalformedUpdate (wrapped) and
// storage.ErrTooLarge store nothing; a failed commit returns its error
// and stores nothing; storage.ErrClosed after Close. If ctx ends first,
// Append returns ctx.Err() but the update may still be committed; a retry
// is harmless, as Yjs updates are idempotent.
func (s *Store) Append(ctx context.Context, name string, update []byte) error {
	if s.isClosed() {
		return storage.ErrClosed // whatever else is wrong with the call
	}
	if err := storage.CheckName(name); err != nil {
		return err
	}
	if int64(len(update)) > s.opts.MaxDocumentBytes {
		return fmt.Errorf("storage/bolt: append to %q: %w: update of %d bytes, limit %d",
			name, storage.ErrTooLarge, len(update), s.opts.MaxDocumentBytes)
	}
	u, err := storage.CopyUpdate(update)
	if err != nil {
		return err
	}
	return s.do(ctx, &request{op: opAppend, name: name, update: u})
}

// Flush returns once everything appended before the call is durable. As
// Append itself returns only when durable, Flush matters to callers that
// stopped waiting for an Append (a cancelled context).
func (s *Store) Flush(ctx context.Context) error {
	return s.do(ctx, &request{op: opFlush})
}

// Delete removes document name and everything stored under it, durably.
// Deleting a document that is not stored is not an error.
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := storage.CheckName(name); err != nil {
		return err
	}
	return s.do(ctx, &request{op: opDelete, name: name})
}

// Names returns the names of the stored documents, in byte order.
func (s *Store) Names(ctx context.Context) ([]string, error) {
	var names []string
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(logsBucket).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			if v == nil { // a document bucket
				names = append(names, string(k))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage/bolt: names: %w", err)
	}
	return names, nil
}

// do hands r to the writer and waits for its answer.
func (s *Store) do(ctx context.Context, r *request) error {
	r.done = make(chan error, 1)
	if err := s.enqueue(ctx, r); err != nil {
		return err
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		// The writer skips r if it has not started its batch yet;
		// otherwise r commits (or fails) without a listener.
		return ctx.Err()
	}
}

func (s *Store) enqueue(ctx context.Context, r *request) error {
	r.ctx = ctx
	s.unanswered.Add(1)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		s.unanswered.Add(-1)
		return storage.ErrClosed
	}
	select {
	case s.reqs <- r:
		return nil // the writer answers, and decrements unanswered
	case <-ctx.Done():
		s.unanswered.Add(-1)
		return ctx.Err()
	}
}

// Close commits every append already queued, waits for the writer (and a
// running compaction) to stop, and closes the file. Calls made after
// Close begins fail with storage.ErrClosed, as does a second Close.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return storage.ErrClosed
	}
	s.closed = true
	// Holding mu, no Append is between its closed check and its send.
	close(s.reqs)
	s.mu.Unlock()
	<-s.writerDone
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("storage/bolt: close: %w", err)
	}
	return nil
}
