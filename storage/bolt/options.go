package bolt

import (
	"log/slog"
	"time"
)

// Options configures a Store. The zero value is ready for production use;
// every field documents what its zero value means.
type Options struct {
	// CommitDelay is the longest an append waits for others to share its
	// commit (one fsync). The wait ends sooner once every append (flush,
	// delete) under way has joined the batch, so a lone appender does not
	// pay it. Zero means 2ms; a negative value never waits, batching only
	// what queued up during the previous commit.
	CommitDelay time.Duration

	// MaxBatch is the most appends (and flushes and deletes) one commit
	// takes. Zero means 1024. It is also the queue length beyond which
	// appenders wait to enqueue.
	MaxBatch int

	// CompactCount is the number of log entries a document may hold before
	// it is compacted into its snapshot. Zero means 500.
	CompactCount int

	// CompactBytes is the size of a document's log, in bytes, beyond which
	// it is compacted into its snapshot. Zero means 1 MiB.
	CompactBytes int64

	// MaxDocumentBytes is the largest a document may grow on disk
	// (snapshot plus log); an append beyond it fails with
	// storage.ErrTooLarge. Zero means 64 MiB.
	MaxDocumentBytes int64

	// LockTimeout is how long Open waits for another process to release
	// the file. Zero means 1s.
	LockTimeout time.Duration

	// Logger receives commit failures and compactions. Nil discards them.
	Logger *slog.Logger
}

// Defaults for the zero values of Options.
const (
	DefaultCommitDelay      = 2 * time.Millisecond
	DefaultMaxBatch         = 1024
	DefaultCompactCount     = 500
	DefaultCompactBytes     = 1 << 20
	DefaultMaxDocumentBytes = 64 << 20
	DefaultLockTimeout      = time.Second
)

// withDefaults returns o with zero values replaced by the defaults.
func (o Options) withDefaults() Options {
	if o.CommitDelay == 0 {
		o.CommitDelay = DefaultCommitDelay
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.CompactCount <= 0 {
		o.CompactCount = DefaultCompactCount
	}
	if o.CompactBytes <= 0 {
		o.CompactBytes = DefaultCompactBytes
	}
	if o.MaxDocumentBytes <= 0 {
		o.MaxDocumentBytes = DefaultMaxDocumentBytes
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = DefaultLockTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}
