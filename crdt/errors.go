package crdt

import "errors"

// ErrMalformedUpdate is returned when an update cannot be decoded: it is
// truncated, a length or count exceeds the input, a tag is unknown, or a
// struct is inconsistent (zero length, clock overflow). The document is left
// unchanged.
var ErrMalformedUpdate = errors.New("crdt: malformed update")

// ErrMalformedStateVector is returned when a state vector cannot be decoded.
var ErrMalformedStateVector = errors.New("crdt: malformed state vector")

// ErrIndexOutOfRange is returned by local edits whose index or length
// exceeds the length of the type.
var ErrIndexOutOfRange = errors.New("crdt: index out of range")

// ErrUnsupportedValue is returned when a value given to a local edit has no
// Yjs representation.
var ErrUnsupportedValue = errors.New("crdt: unsupported value")

// ErrTypeMismatch is returned when a root type is requested with a
// different kind than it already has (for example Text after Map).
var ErrTypeMismatch = errors.New("crdt: shared type kind mismatch")

// ErrDeletedType is returned by local edits on a type that has been deleted
// (its containing item was removed).
var ErrDeletedType = errors.New("crdt: type has been deleted")

// errInternal marks a broken invariant detected at run time; ApplyUpdate
// converts it into an error instead of crashing the process.
var errInternal = errors.New("crdt: internal invariant violated")
