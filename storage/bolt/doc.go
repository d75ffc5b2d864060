// Package bolt stores documents in an embedded bbolt file. It is Quire's
// default store and implements sync.Store.
//
// # Layout
//
// Each document is two buckets: logs/<name> holds its log, one entry per
// append under an 8-byte big-endian sequence number (the bucket's
// NextSequence), so that an append writes a small value at the end of a
// B+tree instead of rewriting the document; snapshots/<name> holds, once
// the document has been compacted, its snapshot: the state of every entry
// the log no longer holds. Log and snapshot are kept apart so that an
// append never rewrites a page holding snapshot bytes: what an append
// costs does not depend on the size of the document (layout.go has the
// details). Load merges snapshot and log (crdt.MergeUpdates) into one v1
// update.
//
// The layout has a version, in meta/version (now 2). Open migrates a file
// of layout 1 (snapshot and log entries in one bucket, docs/<name>, which
// made every append rewrite the snapshot) in one transaction, before
// anything else: a crash or a failure leaves the file as it was, and a
// failure makes Open return it. Open refuses a file of any other version,
// including newer ones, with an error naming it. Builds that know only
// layout 1 refuse a migrated file the same way.
//
// # Group commit
//
// One writer goroutine owns every write. Append queues its update and
// waits; the writer takes everything queued (up to Options.MaxBatch
// requests, waiting at most Options.CommitDelay for more, and not at all
// once every request under way has joined) into one bbolt transaction,
// across documents, commits it with a single fsync, and answers every
// waiter with the result. While one batch commits, the next queues, so
// batches grow with load. bbolt transactions are atomic: if a commit
// fails, every append of the batch fails and none of it is visible.
// Stats counts appends and commits.
//
// # Durability
//
// When Append returns nil, the update is on disk (fsynced). A crash, of the
// process (kill -9) or of the machine (if the disk honours fsync), loses
// at most appends that had not returned; Open recovers the file as of its
// last commit. An Append that returns an error stored nothing, except that
// an Append abandoned by its context may have been committed anyway. Yjs
// updates are idempotent, so retrying any failed Append is safe.
//
// Load reads one consistent view (a bbolt read transaction) and returns
// the whole document or an error: never a part of it, and never nothing
// when something is stored.
//
// # Compaction
//
// When a document's log grows past Options.CompactCount entries or
// Options.CompactBytes bytes, a compactor goroutine applies snapshot and
// log to a fresh crdt.Doc (garbage collection on) and encodes its state as
// the new snapshot; the writer swaps it in, and deletes the entries it
// covers, in one transaction, so that a crash leaves either the old
// snapshot or the new one, each with exactly the entries it does not
// cover. Appends go on meanwhile: compaction runs off the writer, and one
// swap covers at most a few thresholds' worth of log.
//
// Going through a document drops deleted content as Yjs's gc does (the
// deleted items stay, as small deletion marks, so that replicas converge):
// a document whose text was mostly deleted gets a snapshot about the size
// of what is left, where merging the updates at the byte level would keep
// every deleted character forever. A document with pending content
// (updates whose dependencies were never stored) is merged at the byte
// level instead, keeping every stored byte, until the missing updates
// arrive. Stored data that does not decode is left untouched: Load reports
// it as storage.ErrCorrupt, and compaction of that document is retried
// only after its log grows by another CompactCount entries.
//
// # Limits
//
// Document names are 1 to storage.MaxNameLen bytes (storage.ErrInvalidName);
// updates must decode (errors wrap crdt.ErrMalformedUpdate); a document
// whose snapshot plus log would exceed Options.MaxDocumentBytes refuses the
// append with storage.ErrTooLarge.
//
// # Other operations
//
// Delete removes a document durably (through the writer, in order with
// appends); Names lists the stored documents.
//
// # Concurrency
//
// A Store is safe for concurrent use by any number of goroutines. Loads
// run in parallel with each other and with commits (bbolt read
// transactions see the last commit). Only one process may open a file:
// Open waits up to Options.LockTimeout for the file lock. Close commits
// what is queued, then closes the file; every call after Close returns
// storage.ErrClosed.
package bolt
