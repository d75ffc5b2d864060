// Package crdt is a Yjs-compatible CRDT engine: documents made of shared
// types (Text, Array, Map and the XML types) that replicas edit
// independently and merge without conflicts, exchanging updates in Yjs's
// binary update format v1, byte for byte.
//
// The engine follows Yjs's data model (the YATA algorithm): every inserted
// run of content is an Item with an ID (client, clock), linked into its
// parent's sequence between the IDs it was inserted next to (its origins).
// Each client's items sit in a slice sorted by clock in the struct store,
// so any ID is found by binary search. Deletions are recorded as ranges
// (delete sets); deleted content is garbage collected unless
// Options.KeepDeleted is set.
//
// The contract other packages build on:
//   - Doc.ApplyUpdate merges an update all-or-nothing: a malformed update
//     returns an error wrapping ErrMalformedUpdate and changes nothing.
//     Updates may arrive out of order or twice; content whose dependencies
//     are missing waits in the document until they arrive.
//   - Doc.EncodeStateAsUpdate and Doc.EncodeDiff produce what a replica
//     lacks; Doc.EncodeStateVector summarises what this replica has.
//   - Doc.OnUpdate delivers every change as an encoded v1 update.
//   - MergeUpdates, DiffUpdate and StateVectorFromUpdate work on encoded
//     updates without a Doc (for storage compaction).
//
// Indexes and lengths of text count UTF-16 code units, as JavaScript does.
//
// Concurrency: a Doc and everything reached from it belong to one
// goroutine at a time; callers serialise access. Update callbacks run
// synchronously on the goroutine that made the change. Functions that take
// only bytes are safe for concurrent use.
package crdt
