// Package storage holds Quire's persistence. Implementations live in
// subpackages named after what they wrap: storage/bolt keeps documents in
// an embedded bbolt file (the default), storage/memory keeps them in memory
// (for tests of other packages, benchmarks and throw-away servers), and
// storage/storetest checks any implementation against the contract below.
//
// Each implementation satisfies sync.Store: Load returns a document as one
// v1 update, Append makes an update durable, Flush waits for everything
// appended so far. Beyond sync.Store, every implementation:
//
//   - refuses names that are empty or longer than MaxNameLen (ErrInvalidName)
//     and updates that do not decode (an error wrapping
//     crdt.ErrMalformedUpdate), storing nothing, so that one bad append can
//     never make a document unloadable;
//   - returns a document completely or not at all: Load never returns part
//     of what is stored, and fails with an error wrapping ErrCorrupt (leaving
//     the bytes in place) when stored data does not decode;
//   - refuses an append that would make a document larger than its limit
//     (ErrTooLarge), and everything after Close (ErrClosed).
//
// Updates are Yjs updates, so storing one twice, or out of order, is
// harmless: a retry after an ambiguous failure (a cancelled context, a
// failed commit) never duplicates content.
package storage
