package storage

import (
	"fmt"

	"github.com/quirehq/quire/crdt"
)

// MaxNameLen is the longest document name, in bytes, that stores accept.
// It is bbolt's key limit, applied to every implementation so that a
// server can move between stores without stranding a document.
const MaxNameLen = 32 << 10

// CheckName returns an error wrapping ErrInvalidName unless name can be
// stored: any non-empty byte string of at most MaxNameLen bytes.
func CheckName(name string) error {
	if name == "" || len(name) > MaxNameLen {
		return fmt.Errorf("%w: %d bytes (1 to %d allowed)", ErrInvalidName, len(name), MaxNameLen)
	}
	return nil
}

// CopyUpdate returns a private copy of a v1 update after checking that it
// decodes, or an error wrapping crdt.ErrMalformedUpdate.
//
// Stores call it before accepting an update: one undecodable entry would
// make its document fail to load (ErrCorrupt) from then on, so it is
// refused at the door instead. The copy lets Append hold the bytes past
// its return (an abandoned Append may still be committed) while the
// caller reuses its buffer.
func CopyUpdate(update []byte) ([]byte, error) {
	// MergeUpdates of a single update parses it completely and returns a
	// copy: the check and the copy in one pass.
	u, err := crdt.MergeUpdates(update)
	if err != nil {
		return nil, fmt.Errorf("storage: update rejected: %w", err)
	}
	return u, nil
}
