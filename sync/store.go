package sync

import "context"

// Store is the persistence a Server needs. It is declared here, where it is
// consumed; package storage and its subpackages implement it.
//
// Implementations must be safe for concurrent use by many rooms.
type Store interface {
	// Load returns the stored content of document name as one v1 update,
	// or nil (and no error) when nothing is stored under that name. A
	// Server never syncs a client against a document whose Load failed.
	Load(ctx context.Context, name string) ([]byte, error)

	// Append stores one v1 update of document name. It returns once the
	// update is durable (implementations batch concurrent appends into one
	// commit) or has failed; after a failure the document must be treated
	// as not safely stored.
	Append(ctx context.Context, name string, update []byte) error

	// Flush returns once everything appended before the call is durable.
	Flush(ctx context.Context) error
}

// appendLoader is a Store that can also load a document by appending it
// to a caller's buffer (storage/memory does): a dormant room loads its
// document straight into the sync step 2 message it caches (hibernate.go),
// one copy instead of two.
type appendLoader interface {
	LoadAppend(ctx context.Context, name string, dst []byte) ([]byte, error)
}
