// Package storage holds Quire's persistence. Implementations live in
// subpackages named after what they wrap: storage/bolt keeps documents in
// an embedded bbolt file (the default), storage/memory keeps them in memory
// (for tests of other packages, benchmarks and throw-away servers).
//
// Each implementation satisfies sync.Store: Load returns a document as one
// v1 update, Append makes an update durable, Flush waits for everything
// appended so far.
package storage
