// Package memory keeps documents in memory. It implements sync.Store for
// tests of other packages, benchmarks and throw-away servers: nothing
// survives the process, so Append and Flush never wait.
//
// It follows the same contract as storage/bolt, so that code tested
// against it behaves the same on disk: names of 1 to storage.MaxNameLen
// bytes (storage.ErrInvalidName), updates that decode (errors wrap
// crdt.ErrMalformedUpdate), Options.MaxDocumentBytes (storage.ErrTooLarge),
// storage.ErrClosed after Close, and a Load that returns the whole
// document or an error.
//
// Each document is a snapshot plus a log of appended updates. Once the log
// is over Options.CompactCount entries or Options.CompactBytes bytes, and
// on every Load, snapshot and log are merged with crdt.MergeUpdates into a
// new snapshot, so memory stays close to the size of the merged documents.
//
// A Store is safe for concurrent use. Documents are locked one by one:
// appends to different documents never wait for each other, and a merge
// holds up only its own document.
package memory
