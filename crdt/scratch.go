package crdt

import "sync"

// A load needs some large buffers only while it runs: the delete ranges
// of its update, the delete-set ranges its transaction reserves (a
// document's delete set has thousands) and a clock directory. A server
// loads document after document, so these pools keep them from one load
// to the next instead of allocating them again, which the collector would
// then clear, count and collect. A buffer goes back to its pool only once
// nothing refers to it any more.
var (
	rangePool sync.Pool // *[]idRange
	dirPool   sync.Pool // *[]int32
)

// minPooled is the capacity from which a buffer is worth pooling.
const minPooled = 256

// getRanges returns an empty slice with room for n ranges, pooled when it
// is large.
func getRanges(n int) []idRange {
	if n >= minPooled {
		if p, _ := rangePool.Get().(*[]idRange); p != nil && cap(*p) >= n {
			return (*p)[:0]
		}
	}
	return make([]idRange, 0, n)
}

// putRanges gives rs back for a later getRanges; the caller must hold no
// other reference to it.
func putRanges(rs []idRange) {
	if cap(rs) >= minPooled {
		rs = rs[:0]
		rangePool.Put(&rs)
	}
}

// getDirIndex returns a slice of n entries, pooled when it is large, with
// any contents: newClockDir writes every entry.
func getDirIndex(n int) []int32 {
	if n >= minPooled {
		if p, _ := dirPool.Get().(*[]int32); p != nil && cap(*p) >= n {
			return (*p)[:n]
		}
	}
	return make([]int32, n)
}

// putDirIndex gives idx back for a later getDirIndex.
func putDirIndex(idx []int32) {
	if cap(idx) >= minPooled {
		dirPool.Put(&idx)
	}
}
