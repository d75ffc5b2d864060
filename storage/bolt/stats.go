package bolt

import "sync/atomic"

// Stats are counters since Open, for tests, benchmarks and metrics.
type Stats struct {
	// Appends is the number of appends acknowledged (committed).
	Appends uint64
	// Commits is the number of write transactions committed, each one
	// fsync: group commits plus compaction swaps that had no batch to ride.
	Commits uint64
	// FailedCommits is the number of write transactions that failed; every
	// waiter of such a batch got the error.
	FailedCommits uint64
	// Compactions is the number of compacted logs swapped in.
	Compactions uint64
	// CompactionErrors is the number of compactions abandoned because the
	// stored data did not decode (see storage.ErrCorrupt).
	CompactionErrors uint64
}

// counters are the live Stats, updated by the writer and read by Stats.
type counters struct {
	appends, commits, failedCommits, compactions, compactionErrors atomic.Uint64
}

// Stats returns the counters since Open.
func (s *Store) Stats() Stats {
	c := &s.counters
	return Stats{
		Appends:          c.appends.Load(),
		Commits:          c.commits.Load(),
		FailedCommits:    c.failedCommits.Load(),
		Compactions:      c.compactions.Load(),
		CompactionErrors: c.compactionErrors.Load(),
	}
}
