package memory

// Options configures a Store. The zero value gives the defaults below.
type Options struct {
	// CompactCount is the number of appended updates a document may hold
	// unmerged. Zero means 500.
	CompactCount int

	// CompactBytes is the size, in bytes, of unmerged updates beyond which
	// a document is merged. Zero means 1 MiB.
	CompactBytes int64

	// MaxDocumentBytes is the largest a document may grow (merged state
	// plus unmerged updates); an append beyond it fails with
	// storage.ErrTooLarge. Zero means 64 MiB.
	MaxDocumentBytes int64
}

// Defaults for the zero values of Options; the same as storage/bolt's.
const (
	DefaultCompactCount     = 500
	DefaultCompactBytes     = 1 << 20
	DefaultMaxDocumentBytes = 64 << 20
)

func (o Options) withDefaults() Options {
	if o.CompactCount <= 0 {
		o.CompactCount = DefaultCompactCount
	}
	if o.CompactBytes <= 0 {
		o.CompactBytes = DefaultCompactBytes
	}
	if o.MaxDocumentBytes <= 0 {
		o.MaxDocumentBytes = DefaultMaxDocumentBytes
	}
	return o
}
