package crdt

import (
	"bytes"
	"fmt"
	"slices"
	"sort"

	"github.com/quirehq/quire/crdt/lib0"
)

// This file holds the update helpers that work on encoded updates without a
// Doc: MergeUpdates, DiffUpdate and StateVectorFromUpdate. They reproduce
// the bytes of Yjs's mergeUpdates, diffUpdate and
// encodeStateVectorFromUpdate (yjs 13.6.33, src/utils/updates.js),
// including their quirks, because replicas and stores compare and hash
// what these functions produce:
//
//   - Structs are read as a flat sequence in encoded order. A client that
//     an update lists twice appears twice (a Doc keeps only the last list).
//   - A merge writes clients from the highest ID down. Where updates
//     overlap, the struct that starts first wins and later ones are cut to
//     start where it ends; adjacent GC structs fuse into one; items never
//     fuse. Gaps inside a client are filled with Skip structs, and the
//     Skips of the inputs are dropped. Delete sets are unioned, sorted and
//     merged.
//   - A diff keeps the delete set as it was encoded (clients re-sorted,
//     ranges untouched) and drops Skips only before a client's first
//     written struct.
//   - The state vector of an update counts a client only while its structs
//     are contiguous from clock 0, in the order the update lists clients.
//
// The same merge keeps a Doc's pending structs in the form Yjs keeps them,
// so that Doc.EncodeStateAsUpdate matches Yjs while content is pending.

// parsedUpdate is a v1 update read the way Yjs's lazy reader sees it.
type parsedUpdate struct {
	structs []*Item   // in encoded order, Skips included
	ds      deleteSet // as encoded: ranges unsorted, empty ranges kept
}

// parseUpdate reads a complete v1 update. Structs are validated as
// decodeUpdate validates them.
func parseUpdate(b []byte) (*parsedUpdate, error) {
	d := lib0.NewDecoder(b)
	u := &parsedUpdate{}
	var err error
	if u.structs, err = readStructSeq(d); err != nil {
		return nil, fmt.Errorf("%w: structs at byte %d: %w", ErrMalformedUpdate, d.Pos(), err)
	}
	if u.ds, err = readDeleteSetAsEncoded(d); err != nil {
		return nil, fmt.Errorf("%w: delete set at byte %d: %w", ErrMalformedUpdate, d.Pos(), err)
	}
	return u, nil
}

// readStructSeq reads all structs in encoded order (a client listed twice
// appears twice).
func readStructSeq(d *lib0.Decoder) ([]*Item, error) {
	numClients, err := readClientCount(d)
	if err != nil {
		return nil, err
	}
	var out []*Item
	for i := uint64(0); i < numClients; i++ {
		_, slab, err := readClientBlock(d, nil)
		if err != nil {
			return nil, err
		}
		for i := range slab {
			it := &slab[i]
			// Yjs's reader drops the key flag of an item with origins
			// (the key is not encoded), so re-encoding clears the bit.
			it.info &^= flagParentSubBit
			out = append(out, it)
		}
	}
	return out, nil
}

// readDeleteSetAsEncoded reads a v1 delete set as Yjs's readDeleteSet does:
// ranges stay in encoded order, empty ranges are kept, a client listed
// twice collects the ranges of both entries and a client with no ranges is
// left out.
func readDeleteSetAsEncoded(d *lib0.Decoder) (deleteSet, error) {
	n, err := d.ReadVarUint()
	if err != nil {
		return nil, err
	}
	// Each client entry takes at least two bytes.
	if n > uint64(d.Remaining())/2 {
		return nil, lib0.ErrLengthExceedsInput
	}
	ds := deleteSet{}
	for i := uint64(0); i < n; i++ {
		client, rs, err := readDeleteRanges(d, true, nil, false)
		if err != nil {
			return nil, err
		}
		if len(rs) > 0 {
			ds[client] = append(ds[client], rs...)
		}
	}
	return ds, nil
}

// structWriter writes structs the way Yjs's LazyStructWriter does: a run of
// consecutive structs of one client becomes one client entry (count,
// client, start clock, structs). A client written in two separate runs gets
// two entries.
type structWriter struct {
	body    lib0.Encoder
	runs    []structRun
	client  uint64
	written int
	start   int
}

type structRun struct {
	count      int
	start, end int // the run's client, clock and structs in body
}

// write appends it, cut offset units in.
func (w *structWriter) write(it *Item, offset int) {
	if w.written > 0 && w.client != it.id().Client {
		w.flush()
	}
	if w.written == 0 {
		w.client = it.id().Client
		w.start = w.body.Len()
		w.body.WriteVarUint(it.id().Client)
		w.body.WriteVarUint(it.startClock() + uint64(offset))
	}
	it.write(&w.body, offset, nil)
	w.written++
}

func (w *structWriter) flush() {
	if w.written > 0 {
		w.runs = append(w.runs, structRun{w.written, w.start, w.body.Len()})
		w.written = 0
	}
}

// finish writes the struct section to e.
func (w *structWriter) finish(e *lib0.Encoder) {
	w.flush()
	e.WriteVarUint(uint64(len(w.runs)))
	b := w.body.Bytes()
	for _, r := range w.runs {
		e.WriteVarUint(uint64(r.count))
		e.WriteRaw(b[r.start:r.end])
	}
}

// MergeUpdates merges v1 updates into one, as Y.mergeUpdates does (same
// bytes). A single update is returned unchanged (as a copy), after
// checking that it decodes; no updates give an empty update.
func MergeUpdates(updates ...[]byte) (_ []byte, err error) {
	defer recoverInternal(&err)
	parsed := make([]*parsedUpdate, len(updates))
	for i, b := range updates {
		u, err := parseUpdate(b)
		if err != nil {
			if len(updates) > 1 {
				return nil, fmt.Errorf("update %d: %w", i, err)
			}
			return nil, err
		}
		parsed[i] = u
	}
	if len(updates) == 1 {
		return bytes.Clone(updates[0]), nil
	}
	return encodeMerged(parsed), nil
}

// recoverInternal turns a broken invariant (a panic with errInternal) into
// an error, as Doc.ApplyUpdate does, so that no input can crash the
// caller.
func recoverInternal(err *error) {
	if r := recover(); r != nil {
		if r != errInternal {
			panic(r)
		}
		*err = fmt.Errorf("%w: %w", ErrMalformedUpdate, errInternal)
	}
}

// encodeMerged writes the merge of parsed updates.
func encodeMerged(parsed []*parsedUpdate) []byte {
	size := 16
	seqs := make([][]*Item, len(parsed))
	for i, u := range parsed {
		seqs[i] = u.structs
		size += len(u.structs) * 8
	}
	var w structWriter
	mergeStructSeqs(seqs, func(it *Item) { w.write(it, 0) })
	e := lib0.NewEncoder(size + w.body.Len())
	w.finish(e)
	ds := deleteSet{}
	for _, u := range parsed {
		for client, rs := range u.ds {
			ds[client] = append(ds[client], rs...)
		}
	}
	ds.sortAndMerge()
	ds.write(e)
	return e.Bytes()
}

// DiffUpdate returns the part of a v1 update that a replica with the given
// encoded state vector lacks, as Y.diffUpdate. The delete set is kept
// whole. An empty state vector stands for a replica that has nothing.
func DiffUpdate(update, stateVector []byte) (_ []byte, err error) {
	defer recoverInternal(&err)
	var sv StateVector
	if len(stateVector) > 0 {
		var err error
		if sv, err = DecodeStateVector(stateVector); err != nil {
			return nil, err
		}
	}
	u, err := parseUpdate(update)
	if err != nil {
		return nil, err
	}
	var w structWriter
	diffStructs(u.structs, sv, &w)
	e := lib0.NewEncoder(w.body.Len() + 16)
	w.finish(e)
	u.ds.write(e)
	return e.Bytes(), nil
}

// diffStructs writes the structs (or parts of structs) of a lazily read
// update that lie beyond sv. Per client it starts at the first non-Skip
// struct that reaches beyond sv, cut at sv, and from there writes every
// struct of that client's run, Skips included.
func diffStructs(structs []*Item, sv StateVector, w *structWriter) {
	for i := 0; i < len(structs); {
		curr := structs[i]
		client := curr.id().Client
		svClock := sv[client]
		if curr.isSkip() {
			i++
			continue
		}
		if curr.startClock()+uint64(curr.length()) > svClock {
			offset := 0
			if svClock > curr.startClock() {
				offset = int(svClock - curr.startClock())
			}
			w.write(curr, offset)
			for i++; i < len(structs) && structs[i].id().Client == client; i++ {
				w.write(structs[i], 0)
			}
		} else {
			for i < len(structs) && structs[i].id().Client == client && structs[i].startClock()+uint64(structs[i].length()) <= svClock {
				i++
			}
		}
	}
}

// StateVectorFromUpdate returns the encoded state vector an update implies,
// as Y.encodeStateVectorFromUpdate: for each client (in the order the
// update lists them) the clock up to which its structs are contiguous from
// 0; clients whose structs do not start at 0 are left out.
func StateVectorFromUpdate(update []byte) ([]byte, error) {
	u, err := parseUpdate(update)
	if err != nil {
		return nil, err
	}
	structs := u.structs
	if len(structs) == 0 {
		return []byte{0}, nil
	}
	var entries lib0.Encoder
	size := 0
	first := structs[0]
	client := first.id().Client
	stop := first.startClock() != 0
	var clock uint64
	if !stop {
		// Yjs counts the very first struct even when it is a Skip.
		clock = first.startClock() + uint64(first.length())
	}
	for _, it := range structs {
		if it.id().Client != client {
			if clock != 0 {
				size++
				entries.WriteVarUint(client)
				entries.WriteVarUint(clock)
			}
			client = it.id().Client
			clock = 0
			stop = it.startClock() != 0
		}
		if it.isSkip() {
			stop = true
		}
		if !stop {
			clock = it.startClock() + uint64(it.length())
		}
	}
	if clock != 0 {
		size++
		entries.WriteVarUint(client)
		entries.WriteVarUint(clock)
	}
	e := lib0.NewEncoder(entries.Len() + 4)
	e.WriteVarUint(uint64(size))
	e.WriteRaw(entries.Bytes())
	return e.Bytes(), nil
}

// ---------------------------------------------------------------- merging

// Struct kinds, as Yjs tells them apart by constructor.
const (
	kindItemStruct = iota
	kindGCStruct
	kindSkipStruct
)

func structKindOf(it *Item) int {
	switch {
	case it.isSkip():
		return kindSkipStruct
	case it.isGC():
		return kindGCStruct
	}
	return kindItemStruct
}

// mergeReader walks one update's structs, passing over Skips.
type mergeReader struct {
	structs []*Item
	i       int
}

func (r *mergeReader) skipSkips() {
	for r.i < len(r.structs) && r.structs[r.i].isSkip() {
		r.i++
	}
}

func (r *mergeReader) curr() *Item {
	if r.i < len(r.structs) {
		return r.structs[r.i]
	}
	return nil
}

func (r *mergeReader) next() *Item {
	r.i++
	r.skipSkips()
	return r.curr()
}

// compareHeads is the comparator Yjs sorts its readers with: higher clients
// first, then lower clocks, then (at the same ID) non-Skips before Skips.
// Two different non-Skip kinds at the same ID compare as "less" both ways;
// that inconsistency is why the order is kept with jsSort.
func compareHeads(a, b *mergeReader) int {
	x, y := a.curr(), b.curr()
	if x.id().Client == y.id().Client {
		switch {
		case x.startClock() < y.startClock():
			return -1
		case x.startClock() > y.startClock():
			return 1
		}
		kx, ky := structKindOf(x), structKindOf(y)
		if kx == ky {
			return 0
		}
		if kx == kindSkipStruct {
			return 1
		}
		return -1
	}
	if y.id().Client > x.id().Client {
		return 1
	}
	return -1
}

// headKeyLess orders heads by ID alone (clients descending, clocks
// ascending).
func headKeyLess(x, y *Item) bool {
	if x.id().Client != y.id().Client {
		return x.id().Client > y.id().Client
	}
	return x.startClock() < y.startClock()
}

// mixedTie reports whether two heads share an ID but differ in kind: the
// case in which compareHeads is inconsistent.
func mixedTie(x, y *Item) bool {
	return x.id() == y.id() && structKindOf(x) != structKindOf(y)
}

// mergeQueue keeps the readers in the order Yjs's array of readers has
// after each of its sorts. Yjs re-sorts the whole array on every step; when
// the array holds no mixed ties the comparator is consistent, V8's sort is
// stable and the result is the unique stable order, so moving the one
// reader that advanced is enough. Otherwise the queue replays V8's sort.
type mergeQueue struct {
	rs []*mergeReader
	// replay makes every step replay V8's sort (for tests: it must give
	// the same order as the shortcut).
	replay bool
	// mixed counts neighbouring readers whose heads are mixed ties;
	// mixed01 records whether the first two were.
	mixed   int
	mixed01 bool
}

func newMergeQueue(seqs [][]*Item, replay bool) *mergeQueue {
	q := &mergeQueue{replay: replay}
	for _, s := range seqs {
		r := &mergeReader{structs: s}
		r.skipSkips()
		if r.curr() != nil {
			q.rs = append(q.rs, r)
		}
	}
	if replay {
		jsSort(q.rs, compareHeads)
		return q
	}
	sorted := slices.Clone(q.rs)
	slices.SortStableFunc(sorted, func(a, b *mergeReader) int {
		switch {
		case headKeyLess(a.curr(), b.curr()):
			return -1
		case headKeyLess(b.curr(), a.curr()):
			return 1
		}
		return 0
	})
	for i := 0; i+1 < len(sorted); i++ {
		if mixedTie(sorted[i].curr(), sorted[i+1].curr()) {
			jsSort(q.rs, compareHeads)
			q.count()
			return q
		}
	}
	q.rs = sorted
	return q
}

func (q *mergeQueue) count() {
	q.mixed = 0
	for i := 0; i+1 < len(q.rs); i++ {
		if mixedTie(q.rs[i].curr(), q.rs[i+1].curr()) {
			q.mixed++
		}
	}
	q.mixed01 = len(q.rs) > 1 && mixedTie(q.rs[0].curr(), q.rs[1].curr())
}

// resort restores Yjs's order after the first reader advanced: readers
// that are done are dropped, then the array is sorted again.
func (q *mergeQueue) resort() {
	if len(q.rs) == 0 {
		return
	}
	x := q.rs[0]
	if q.replay {
		if x.curr() == nil {
			q.rs = q.rs[1:]
		}
		jsSort(q.rs, compareHeads)
		return
	}
	restMixed := q.mixed
	if q.mixed01 {
		restMixed--
	}
	if x.curr() == nil {
		q.rs = q.rs[1:]
		if restMixed == 0 {
			q.mixed, q.mixed01 = 0, false
			return
		}
	} else if restMixed == 0 {
		rest := q.rs[1:]
		head := x.curr()
		p := sort.Search(len(rest), func(i int) bool { return !headKeyLess(rest[i].curr(), head) })
		if p == len(rest) || !mixedTie(rest[p].curr(), head) {
			copy(q.rs[:p], rest[:p])
			q.rs[p] = x
			q.mixed, q.mixed01 = 0, false
			return
		}
	}
	jsSort(q.rs, compareHeads)
	q.count()
}

// lazyMergeable reports whether right can be appended to left, which Yjs's
// mergeWith allows for adjacent GCs (and Skips) only: items read from an
// update are never linked, so Item.mergeWith always refuses.
func lazyMergeable(left, right *Item) bool {
	k := structKindOf(left)
	return k != kindItemStruct && k == structKindOf(right)
}

// mergeStructSeqs merges the struct sequences of several updates the way
// Yjs's mergeUpdatesV2 does and calls emit with every struct it writes, in
// order (always whole: offsets are applied by slicing). Emitted structs may
// be the inputs themselves; the inputs are never modified.
func mergeStructSeqs(seqs [][]*Item, emit func(*Item)) {
	mergeStructSeqsWith(seqs, emit, false)
}

func mergeStructSeqsWith(seqs [][]*Item, emit func(*Item), replaySort bool) {
	q := newMergeQueue(seqs, replaySort)
	var cw *Item    // the struct waiting to be written
	owned := false  // whether cw is a private copy that may be modified
	own := func() { // make cw modifiable
		if !owned {
			cp := *cw
			cw, owned = &cp, true
		}
	}
	end := func(it *Item) uint64 { return it.startClock() + uint64(it.length()) }
	for len(q.rs) > 0 {
		cd := q.rs[0]
		firstClient := cd.curr().id().Client
		if cw != nil {
			curr := cd.curr()
			iterated := false
			// Pass over what has been written already. Note that Yjs
			// compares clocks here even across clients.
			for curr != nil && end(curr) <= end(cw) && curr.id().Client >= cw.id().Client {
				curr = cd.next()
				iterated = true
			}
			if curr == nil || curr.id().Client != firstClient || (iterated && curr.startClock() > end(cw)) {
				q.resort()
				continue
			}
			switch {
			case firstClient != cw.id().Client:
				emit(cw)
				cw, owned = curr, false
				cd.next()
			case end(cw) < curr.startClock():
				// A gap: fill it with a Skip.
				if cw.isSkip() {
					own()
					cw.setLength(int(end(curr) - cw.startClock()))
				} else {
					emit(cw)
					gap := curr.startClock() - end(cw)
					skip := &Item{info: flagSkip}
					skip.setOwn(ID{Client: firstClient, Clock: end(cw)}, int(gap))
					cw = skip
					owned = true
				}
			default:
				if diff := end(cw) - curr.startClock(); diff > 0 {
					if cw.isSkip() {
						own()
						cw.setLength(cw.length() - int(diff))
					} else {
						curr = sliceStruct(curr, int(diff))
					}
				}
				if lazyMergeable(cw, curr) {
					own()
					cw.setLength(cw.length() + curr.length())
				} else {
					emit(cw)
					cw, owned = curr, false
					cd.next()
				}
			}
		} else {
			cw, owned = cd.curr(), false
			cd.next()
		}
		for next := cd.curr(); next != nil && next.id().Client == firstClient && next.startClock() == end(cw) && !next.isSkip(); next = cd.next() {
			emit(cw)
			cw, owned = next, false
		}
		q.resort()
	}
	if cw != nil {
		emit(cw)
	}
}

// ---------------------------------------------------------------- pending

// flattenClients lists the structs of a per-client map as one sequence,
// clients from the highest down: the order Yjs's writeClientsStructs
// writes them in.
func flattenClients(m map[uint64][]*Item) []*Item {
	n := 0
	for _, l := range m {
		n += len(l)
	}
	out := make([]*Item, 0, n)
	for _, c := range sortedClientsDesc(m) {
		out = append(out, m[c]...)
	}
	return out
}

// mergePendingStructs adds structs that could not be integrated to the
// pending ones. Yjs keeps pending structs as an encoded update and merges
// each new batch into it with mergeUpdates, then decodes it again when it
// retries; this produces exactly the structs that decoding would give, so
// that a Doc with pending content integrates and encodes it as Yjs does
// (Skips fill gaps, adjacent GCs are fused, overlaps are cut).
func mergePendingStructs(pending, rest map[uint64][]*Item) map[uint64][]*Item {
	out := make(map[uint64][]*Item, len(pending)+len(rest))
	var run []*Item
	var runClient, clock uint64
	mergeStructSeqs([][]*Item{flattenClients(pending), flattenClients(rest)}, func(it *Item) {
		if run != nil && it.id().Client != runClient {
			// A client written twice is decoded as its last entry.
			out[runClient] = run
			run = nil
		}
		if run == nil {
			runClient, clock = it.id().Client, it.startClock()
		}
		it = asDecoded(it, clock)
		run = append(run, it)
		clock += uint64(it.length())
	})
	if run != nil {
		out[runClient] = run
	}
	return out
}

// asDecoded returns the struct as decoding its encoding at clock would give
// it: an item with an origin names no parent and no map key (its encoding
// carries neither, even when the key flag is set).
func asDecoded(it *Item, clock uint64) *Item {
	withOrigin := structKindOf(it) == kindItemStruct && it.info&(flagOrigin|flagRightOrigin) != 0
	if it.startClock() == clock && (!withOrigin || (it.pref() == nil && it.info&(flagParentSub|flagParentSubBit) == 0)) {
		return it
	}
	cp := *it
	cp.setID(ID{Client: it.id().Client, Clock: clock})
	if withOrigin {
		cp.info &^= flagParentSub | flagParentSubBit
		cp.setRare("", nil) // (keeping wide origins)
	}
	return &cp
}

// encodeWithPending completes the encoding of a document's state (structs
// beyond remote and the delete set, in state) with its pending content, as
// Yjs's encodeStateAsUpdate does: it merges the state with an update
// holding the pending deletes and with the part of the pending structs
// that remote lacks.
func encodeWithPending(state []byte, pendingDs deleteSet, pending map[uint64][]*Item, remote StateVector) []byte {
	parts := []*parsedUpdate{}
	st, err := parseUpdate(state)
	if err != nil {
		return state
	}
	parts = append(parts, st)
	if len(pendingDs) > 0 {
		parts = append(parts, &parsedUpdate{ds: pendingDs})
	}
	if len(pending) > 0 {
		var w structWriter
		diffStructs(flattenClients(pending), remote, &w)
		e := lib0.NewEncoder(w.body.Len() + 8)
		w.finish(e)
		e.WriteVarUint(0)
		diff, err := parseUpdate(e.Bytes())
		if err != nil {
			return state
		}
		parts = append(parts, diff)
	}
	if len(parts) == 1 {
		return state
	}
	return encodeMerged(parts)
}

// ---------------------------------------------------------------- sorting

// jsSort sorts a in place the way V8's Array.prototype.sort (the TimSort of
// Node 20) does, comparison for comparison. With a consistent comparator
// any stable sort gives the same result; Yjs's mergeUpdates sorts with one
// that is not (a GC and an Item at the same ID are each "less" than the
// other), and which of them ends up first decides what gets written.
func jsSort[T any](a []T, cmp func(x, y T) int) {
	if len(a) < 2 {
		return
	}
	ts := timSort[T]{a: a, cmp: cmp, minGallop: timMinGallop}
	ts.sort()
}

// timMinGallop is the initial threshold for entering galloping mode.
const timMinGallop = 7

type timRun struct{ base, length int }

type timSort[T any] struct {
	a         []T
	cmp       func(x, y T) int
	minGallop int
	runs      []timRun
	tmp       []T
}

func (ts *timSort[T]) sort() {
	n := len(ts.a)
	low, remaining := 0, n
	minRun := timMinRunLength(n)
	for remaining != 0 {
		runLen := ts.countAndMakeRun(low, low+remaining)
		if runLen < minRun {
			forced := min(minRun, remaining)
			ts.binaryInsertionSort(low, low+runLen, low+forced)
			runLen = forced
		}
		ts.runs = append(ts.runs, timRun{low, runLen})
		ts.mergeCollapse()
		low += runLen
		remaining -= runLen
	}
	ts.mergeForceCollapse()
}

// timMinRunLength returns n below 64, else a length in [32, 64] such that
// n divided by it is close to, but below, a power of two.
func timMinRunLength(n int) int {
	r := 0
	for n >= 64 {
		r |= n & 1
		n >>= 1
	}
	return n + r
}

// binaryInsertionSort sorts a[low:high] given that a[low:start] is sorted.
func (ts *timSort[T]) binaryInsertionSort(low, start, high int) {
	a := ts.a
	if start == low {
		start++
	}
	for ; start < high; start++ {
		left, right := low, start
		pivot := a[start]
		for left < right {
			mid := left + (right-left)>>1
			if ts.cmp(pivot, a[mid]) < 0 {
				right = mid
			} else {
				left = mid + 1
			}
		}
		copy(a[left+1:start+1], a[left:start])
		a[left] = pivot
	}
}

// countAndMakeRun returns the length of the run starting at low: an
// ascending one, or a strictly descending one, which it reverses.
func (ts *timSort[T]) countAndMakeRun(low, high int) int {
	a := ts.a
	if low+1 == high {
		return 1
	}
	runLen := 2
	descending := ts.cmp(a[low+1], a[low]) < 0
	prev := a[low+1]
	for i := low + 2; i < high; i++ {
		cur := a[i]
		o := ts.cmp(cur, prev)
		if descending {
			if o >= 0 {
				break
			}
		} else if o < 0 {
			break
		}
		prev = cur
		runLen++
	}
	if descending {
		for i, j := low, low+runLen-1; i < j; i, j = i+1, j-1 {
			a[i], a[j] = a[j], a[i]
		}
	}
	return runLen
}

// runInvariantHolds reports whether run n-2 is longer than runs n-1 and n
// together.
func (ts *timSort[T]) runInvariantHolds(n int) bool {
	if n < 2 {
		return true
	}
	r := ts.runs
	return r[n-2].length > r[n-1].length+r[n].length
}

func (ts *timSort[T]) mergeCollapse() {
	for len(ts.runs) > 1 {
		n := len(ts.runs) - 2
		r := ts.runs
		if !ts.runInvariantHolds(n+1) || !ts.runInvariantHolds(n) {
			if r[n-1].length < r[n+1].length {
				n--
			}
			ts.mergeAt(n)
		} else if r[n].length <= r[n+1].length {
			ts.mergeAt(n)
		} else {
			break
		}
	}
}

func (ts *timSort[T]) mergeForceCollapse() {
	for len(ts.runs) > 1 {
		n := len(ts.runs) - 2
		if n > 0 && ts.runs[n-1].length < ts.runs[n+1].length {
			n--
		}
		ts.mergeAt(n)
	}
}

// mergeAt merges runs i and i+1 of the stack.
func (ts *timSort[T]) mergeAt(i int) {
	a := ts.a
	baseA, lenA := ts.runs[i].base, ts.runs[i].length
	baseB, lenB := ts.runs[i+1].base, ts.runs[i+1].length
	ts.runs[i].length = lenA + lenB
	if i == len(ts.runs)-3 {
		ts.runs[i+1] = ts.runs[i+2]
	}
	ts.runs = ts.runs[:len(ts.runs)-1]

	k := ts.gallopRight(a, a[baseB], baseA, lenA, 0)
	baseA += k
	lenA -= k
	if lenA == 0 {
		return
	}
	lenB = ts.gallopLeft(a, a[baseA+lenA-1], baseB, lenB, lenB-1)
	if lenB == 0 {
		return
	}
	if lenA <= lenB {
		ts.mergeLow(baseA, lenA, baseB, lenB)
	} else {
		ts.mergeHigh(baseA, lenA, baseB, lenB)
	}
}

// gallopLeft returns where key belongs in arr[base:base+length], left of
// any equal elements, searching outwards from hint.
func (ts *timSort[T]) gallopLeft(arr []T, key T, base, length, hint int) int {
	lastOfs, ofs := 0, 1
	if ts.cmp(arr[base+hint], key) < 0 {
		maxOfs := length - hint
		for ofs < maxOfs {
			if ts.cmp(arr[base+hint+ofs], key) >= 0 {
				break
			}
			lastOfs = ofs
			ofs = ofs<<1 + 1
		}
		ofs = min(ofs, maxOfs)
		lastOfs += hint
		ofs += hint
	} else {
		maxOfs := hint + 1
		for ofs < maxOfs {
			if ts.cmp(arr[base+hint-ofs], key) < 0 {
				break
			}
			lastOfs = ofs
			ofs = ofs<<1 + 1
		}
		ofs = min(ofs, maxOfs)
		lastOfs, ofs = hint-ofs, hint-lastOfs
	}
	lastOfs++
	for lastOfs < ofs {
		m := lastOfs + (ofs-lastOfs)>>1
		if ts.cmp(arr[base+m], key) < 0 {
			lastOfs = m + 1
		} else {
			ofs = m
		}
	}
	return ofs
}

// gallopRight is gallopLeft placing key right of any equal elements.
func (ts *timSort[T]) gallopRight(arr []T, key T, base, length, hint int) int {
	lastOfs, ofs := 0, 1
	if ts.cmp(key, arr[base+hint]) < 0 {
		maxOfs := hint + 1
		for ofs < maxOfs {
			if ts.cmp(key, arr[base+hint-ofs]) >= 0 {
				break
			}
			lastOfs = ofs
			ofs = ofs<<1 + 1
		}
		ofs = min(ofs, maxOfs)
		lastOfs, ofs = hint-ofs, hint-lastOfs
	} else {
		maxOfs := length - hint
		for ofs < maxOfs {
			if ts.cmp(key, arr[base+hint+ofs]) < 0 {
				break
			}
			lastOfs = ofs
			ofs = ofs<<1 + 1
		}
		ofs = min(ofs, maxOfs)
		lastOfs += hint
		ofs += hint
	}
	lastOfs++
	for lastOfs < ofs {
		m := lastOfs + (ofs-lastOfs)>>1
		if ts.cmp(key, arr[base+m]) < 0 {
			ofs = m
		} else {
			lastOfs = m + 1
		}
	}
	return ofs
}

func (ts *timSort[T]) tempArray(n int) []T {
	if cap(ts.tmp) < n {
		ts.tmp = make([]T, max(n, 32))
	}
	return ts.tmp[:cap(ts.tmp)]
}

// mergeLow merges the adjacent runs a[baseA:baseA+lenA] and
// a[baseB:baseB+lenB] (lenA <= lenB) front to back.
func (ts *timSort[T]) mergeLow(baseA, lenA, baseB, lenB int) {
	a := ts.a
	tmp := ts.tempArray(lenA)
	copy(tmp, a[baseA:baseA+lenA])
	dest, cTmp, cB := baseA, 0, baseB
	a[dest] = a[cB]
	dest++
	cB++
	lenB--

	// finish places what is left: with lastOfA, the rest of B and then
	// the single element left of A; otherwise the rest of A.
	finish := func(lastOfA bool) {
		if lastOfA {
			copy(a[dest:dest+lenB], a[cB:cB+lenB])
			a[dest+lenB] = tmp[cTmp]
		} else if lenA > 0 {
			copy(a[dest:dest+lenA], tmp[cTmp:cTmp+lenA])
		}
	}
	if lenB == 0 {
		finish(false)
		return
	}
	if lenA == 1 {
		finish(true)
		return
	}
	minGallop := ts.minGallop
	for {
		winsA, winsB := 0, 0
		for {
			if ts.cmp(a[cB], tmp[cTmp]) < 0 {
				a[dest] = a[cB]
				dest++
				cB++
				winsB++
				lenB--
				winsA = 0
				if lenB == 0 {
					finish(false)
					return
				}
				if winsB >= minGallop {
					break
				}
			} else {
				a[dest] = tmp[cTmp]
				dest++
				cTmp++
				winsA++
				lenA--
				winsB = 0
				if lenA == 1 {
					finish(true)
					return
				}
				if winsA >= minGallop {
					break
				}
			}
		}
		minGallop++
		for first := true; first || winsA >= timMinGallop || winsB >= timMinGallop; first = false {
			minGallop = max(1, minGallop-1)
			ts.minGallop = minGallop
			winsA = ts.gallopRight(tmp, a[cB], cTmp, lenA, 0)
			if winsA > 0 {
				copy(a[dest:dest+winsA], tmp[cTmp:cTmp+winsA])
				dest += winsA
				cTmp += winsA
				lenA -= winsA
				if lenA == 1 {
					finish(true)
					return
				}
				if lenA == 0 { // only with an inconsistent comparator
					finish(false)
					return
				}
			}
			a[dest] = a[cB]
			dest++
			cB++
			lenB--
			if lenB == 0 {
				finish(false)
				return
			}
			winsB = ts.gallopLeft(a, tmp[cTmp], cB, lenB, 0)
			if winsB > 0 {
				copy(a[dest:dest+winsB], a[cB:cB+winsB])
				dest += winsB
				cB += winsB
				lenB -= winsB
				if lenB == 0 {
					finish(false)
					return
				}
			}
			a[dest] = tmp[cTmp]
			dest++
			cTmp++
			lenA--
			if lenA == 1 {
				finish(true)
				return
			}
		}
		minGallop++
		ts.minGallop = minGallop
	}
}

// mergeHigh merges the adjacent runs a[baseA:baseA+lenA] and
// a[baseB:baseB+lenB] (lenA > lenB) back to front.
func (ts *timSort[T]) mergeHigh(baseA, lenA, baseB, lenB int) {
	a := ts.a
	tmp := ts.tempArray(lenB)
	copy(tmp, a[baseB:baseB+lenB])
	dest, cTmp, cA := baseB+lenB-1, lenB-1, baseA+lenA-1
	a[dest] = a[cA]
	dest--
	cA--
	lenA--

	// finish places what is left: with firstOfB, the rest of A and then
	// the single element left of B in front; otherwise the rest of B.
	finish := func(firstOfB bool) {
		if firstOfB {
			dest -= lenA
			cA -= lenA
			copy(a[dest+1:dest+1+lenA], a[cA+1:cA+1+lenA])
			a[dest] = tmp[cTmp]
		} else if lenB > 0 {
			copy(a[dest-(lenB-1):dest+1], tmp[:lenB])
		}
	}
	if lenA == 0 {
		finish(false)
		return
	}
	if lenB == 1 {
		finish(true)
		return
	}
	minGallop := ts.minGallop
	for {
		winsA, winsB := 0, 0
		for {
			if ts.cmp(tmp[cTmp], a[cA]) < 0 {
				a[dest] = a[cA]
				dest--
				cA--
				winsA++
				lenA--
				winsB = 0
				if lenA == 0 {
					finish(false)
					return
				}
				if winsA >= minGallop {
					break
				}
			} else {
				a[dest] = tmp[cTmp]
				dest--
				cTmp--
				winsB++
				lenB--
				winsA = 0
				if lenB == 1 {
					finish(true)
					return
				}
				if winsB >= minGallop {
					break
				}
			}
		}
		minGallop++
		for first := true; first || winsA >= timMinGallop || winsB >= timMinGallop; first = false {
			minGallop = max(1, minGallop-1)
			ts.minGallop = minGallop
			winsA = lenA - ts.gallopRight(a, tmp[cTmp], baseA, lenA, lenA-1)
			if winsA > 0 {
				dest -= winsA
				cA -= winsA
				copy(a[dest+1:dest+1+winsA], a[cA+1:cA+1+winsA])
				lenA -= winsA
				if lenA == 0 {
					finish(false)
					return
				}
			}
			a[dest] = tmp[cTmp]
			dest--
			cTmp--
			lenB--
			if lenB == 1 {
				finish(true)
				return
			}
			winsB = lenB - ts.gallopLeft(tmp, a[cA], 0, lenB, lenB-1)
			if winsB > 0 {
				dest -= winsB
				cTmp -= winsB
				copy(a[dest+1:dest+1+winsB], tmp[cTmp+1:cTmp+1+winsB])
				lenB -= winsB
				if lenB == 1 {
					finish(true)
					return
				}
				if lenB == 0 { // only with an inconsistent comparator
					finish(false)
					return
				}
			}
			a[dest] = a[cA]
			dest--
			cA--
			lenA--
			if lenA == 0 {
				finish(false)
				return
			}
		}
		minGallop++
		ts.minGallop = minGallop
	}
}
