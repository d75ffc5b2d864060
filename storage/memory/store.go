package memory

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/quirehq/quire/crdt"
	"github.com/quirehq/quire/storage"
)

// Store keeps documents in memory. It implements sync.Store.
type Store struct {
	opts Options

	mu     sync.RWMutex // guards docs and closed, not the documents
	docs   map[string]*document
	closed bool
}

// document is one stored document. Its mutex guards its fields; deleted
// marks a document removed from the map, which an Append that looked it
// up before the removal must not write to.
type document struct {
	mu       sync.Mutex
	snapshot []byte
	log      [][]byte
	logBytes int64
	deleted  bool
}

// New returns an empty Store with the default Options.
func New() *Store { return NewWithOptions(Options{}) }

// NewWithOptions returns an empty Store configured by opts.
func NewWithOptions(opts Options) *Store {
	return &Store{opts: opts.withDefaults(), docs: make(map[string]*document)}
}

// lookup returns document name, creating it if create is set (nil if it
// does not exist and create is not set).
func (s *Store) lookup(name string, create bool) (*document, error) {
	s.mu.RLock()
	d, closed := s.docs[name], s.closed
	s.mu.RUnlock()
	if closed {
		return nil, storage.ErrClosed
	}
	if d != nil || !create {
		return d, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, storage.ErrClosed
	}
	if d = s.docs[name]; d == nil {
		d = &document{}
		s.docs[name] = d
	}
	return d, nil
}

// Load returns document name as one v1 update, or nil when nothing is
// stored under name. It merges the document's log into its snapshot as it
// goes, so that the next Load is a copy.
func (s *Store) Load(ctx context.Context, name string) ([]byte, error) {
	return s.LoadAppend(ctx, name, nil)
}

// LoadAppend appends document name, as Load returns it, to dst and returns
// the extended slice (dst itself when nothing is stored). A caller that
// frames the document, as package sync does in a sync step 2 message,
// saves a copy of it.
func (s *Store) LoadAppend(ctx context.Context, name string, dst []byte) ([]byte, error) {
	if err := storage.CheckName(name); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d, err := s.lookup(name, false)
	if d == nil || err != nil {
		return dst, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.deleted || (d.snapshot == nil && len(d.log) == 0) {
		return dst, nil
	}
	if err := s.compact(d); err != nil {
		return dst, fmt.Errorf("storage/memory: load %q: %w", name, err)
	}
	return append(dst, d.snapshot...), nil
}

// compact merges d's log into its snapshot. d.mu is held. On failure d is
// left as it was.
func (s *Store) compact(d *document) error {
	if len(d.log) == 0 {
		return nil
	}
	if d.snapshot == nil && len(d.log) == 1 {
		// One update is its own merge: keep it, not a second copy.
		d.snapshot, d.log, d.logBytes = d.log[0], nil, 0
		return nil
	}
	parts := d.log
	if d.snapshot != nil {
		parts = append([][]byte{d.snapshot}, d.log...)
	}
	merged, err := crdt.MergeUpdates(parts...)
	if err != nil {
		return fmt.Errorf("%w: %w", storage.ErrCorrupt, err)
	}
	d.snapshot, d.log, d.logBytes = merged, nil, 0
	return nil
}

// Append stores a copy of one v1 update of document name. It returns at
// once: there is nothing to wait for in memory.
func (s *Store) Append(ctx context.Context, name string, update []byte) error {
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return storage.ErrClosed // whatever else is wrong with the call
	}
	if err := storage.CheckName(name); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if int64(len(update)) > s.opts.MaxDocumentBytes {
		// Refused before lookup creates the document.
		return fmt.Errorf("storage/memory: append to %q: %w: update of %d bytes, limit %d",
			name, storage.ErrTooLarge, len(update), s.opts.MaxDocumentBytes)
	}
	u, err := storage.CopyUpdate(update)
	if err != nil {
		return err
	}
	for {
		d, err := s.lookup(name, true)
		if err != nil {
			return err
		}
		d.mu.Lock()
		if d.deleted {
			// Deleted between lookup and lock: look up the new one.
			d.mu.Unlock()
			continue
		}
		err = s.appendLocked(d, name, u)
		d.mu.Unlock()
		return err
	}
}

func (s *Store) appendLocked(d *document, name string, u []byte) error {
	if n := int64(len(d.snapshot)) + d.logBytes + int64(len(u)); n > s.opts.MaxDocumentBytes {
		return fmt.Errorf("storage/memory: append to %q: %w: %d bytes, limit %d",
			name, storage.ErrTooLarge, n, s.opts.MaxDocumentBytes)
	}
	d.log = append(d.log, u)
	d.logBytes += int64(len(u))
	if len(d.log) > s.opts.CompactCount || d.logBytes > s.opts.CompactBytes {
		// Appended updates are checked, so a failure here is an internal
		// error of the merge; keeping the log keeps the data, and Load
		// reports it.
		_ = s.compact(d)
	}
	return nil
}

// Flush returns nil: appends are complete when Append returns.
func (s *Store) Flush(ctx context.Context) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return storage.ErrClosed
	}
	return ctx.Err()
}

// Delete removes document name. Deleting a document that is not stored is
// not an error.
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := storage.CheckName(name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return storage.ErrClosed
	}
	if d := s.docs[name]; d != nil {
		d.mu.Lock()
		d.deleted = true
		d.mu.Unlock()
		delete(s.docs, name)
	}
	return nil
}

// Names returns the names of the stored documents, in byte order.
func (s *Store) Names(ctx context.Context) ([]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, storage.ErrClosed
	}
	names := make([]string, 0, len(s.docs))
	for name := range s.docs {
		names = append(names, name)
	}
	slices.Sort(names)
	return names, nil
}

// Close drops every document; calls after it return storage.ErrClosed, as
// does a second Close.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return storage.ErrClosed
	}
	s.closed = true
	s.docs = nil
	return nil
}
