package storage

import "errors"

// ErrClosed is returned by a store after Close.
var ErrClosed = errors.New("storage: store is closed")

// ErrCorrupt is returned when stored data cannot be decoded; the stored
// bytes are left untouched so that they can be recovered.
var ErrCorrupt = errors.New("storage: stored data is corrupt")

// ErrTooLarge is returned when a document would exceed the configured
// maximum stored size.
var ErrTooLarge = errors.New("storage: document exceeds the maximum stored size")

// ErrInvalidName is returned for a document name that no store can keep:
// empty, or longer than MaxNameLen bytes.
var ErrInvalidName = errors.New("storage: invalid document name")
