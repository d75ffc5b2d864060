package crdt

import (
	"cmp"
	"slices"
	"unsafe"
)

// structList is one client's structs in clock order, kept in a gap buffer:
// the logical sequence is a[:gap] followed by a[gap+gapLen:]. Splits and
// merges happen near the previous edit, so moving the gap is short where a
// flat slice would move the whole tail for each of them; appends (new
// content) go to the physical end, which is always the logical end.
//
// A list that a load filled from one decoded block is that block instead
// (slab mode, slab non-nil): the structs are the slab's items themselves,
// in place, and the list needs no slot per struct. Most loaded documents
// are only read and encoded until somebody edits them; the first change
// that is not an append of the slab's next item (a split, a merge, new
// content) gives the list its slots (materialize).
type structList struct {
	a           []slot
	gap, gapLen int
	// slab, when non-nil, is the whole list: its items, in clock order;
	// its spare capacity holds the decoded items not added yet.
	slab []Item
	// parents says which type each struct belongs to, as runs of clocks:
	// an Item has no parent field (see Item), and a client mostly writes
	// into one type at a time, so the runs are few.
	parents []parentRun
	// hint is the index findIndex found last, tried first next time.
	hint int
	// dir, in slab mode during the load that filled the list, finds a
	// clock's struct without a search (see clockDir).
	dir *clockDir
}

// parentRun says that the client's structs from clock on, up to the next
// run, belong to type p. GC structs belong to none, whatever their run.
type parentRun struct {
	clock uint64
	p     *branch
}

// parentAt returns the type the struct holding clock belongs to, which
// must not be a GC struct (the first run starts at the first other one).
func (l *structList) parentAt(clock uint64) *branch {
	if len(l.parents) == 1 { // (one type, the usual case)
		return l.parents[0].p
	}
	return l.searchParent(clock)
}

// searchParent is parentAt over several runs.
func (l *structList) searchParent(clock uint64) *branch {
	r := l.parents
	i, _ := slices.BinarySearchFunc(r, clock, func(run parentRun, c uint64) int { return cmp.Compare(run.clock, c) })
	if i < len(r) && r[i].clock == clock {
		return r[i].p
	}
	if i == 0 {
		return nil
	}
	return r[i-1].p
}

// noteParent records that the struct at clock, just added, belongs to p.
func (l *structList) noteParent(clock uint64, p *branch) {
	if n := len(l.parents); n == 0 || l.parents[n-1].p != p {
		l.parents = append(l.parents, parentRun{clock, p})
	}
}

// slot is a struct of the list. (Searching by clock reads the items
// themselves: a slot of eight bytes instead of sixteen saves more memory
// than the search loses, as structs of one update sit side by side.)
type slot = *Item

func (l *structList) len() int {
	if l == nil {
		return 0
	}
	if l.slab != nil {
		return len(l.slab)
	}
	return len(l.a) - l.gapLen
}

func (l *structList) at(i int) *Item {
	if l.slab != nil {
		return &l.slab[i]
	}
	if i < l.gap {
		return l.a[i]
	}
	return l.a[i+l.gapLen]
}

func (l *structList) clockAt(i int) uint64 { return l.at(i).startClock() }

// tailGap reports whether the gap is at the logical end.
func (l *structList) tailGap() bool { return l.gapLen > 0 && l.gap+l.gapLen == len(l.a) }

func (l *structList) last() *Item {
	if l.slab != nil {
		return &l.slab[len(l.slab)-1]
	}
	if l.tailGap() {
		return l.a[l.gap-1]
	}
	return l.a[len(l.a)-1]
}

// materialize ends slab mode: the list gets a slot per struct.
func (l *structList) materialize() {
	if l.slab == nil {
		return
	}
	n := len(l.slab)
	a := make([]slot, n, n+max(n/8, 8))
	for i := range l.slab {
		a[i] = &l.slab[i]
	}
	l.a, l.gap, l.gapLen, l.slab, l.dir = a, 0, 0, nil, nil
}

// push appends it to the list.
func (l *structList) push(it *Item) {
	if l.slab != nil && l.extendSlab(it) {
		return
	}
	l.materialize()
	l.pushSlot(it)
}

// extendSlab appends it to a list in slab mode when it is the slab's next
// item, and reports whether it was.
func (l *structList) extendSlab(it *Item) bool {
	n := len(l.slab)
	if n < cap(l.slab) && it == &l.slab[:n+1][n] {
		l.slab = l.slab[:n+1]
		return true
	}
	return false
}

// pushSlot is push outside slab mode.
func (l *structList) pushSlot(it *Item) {
	if l.tailGap() {
		l.a[l.gap] = it
		l.gap++
		l.gapLen--
		return
	}
	l.a = append(l.a, it)
}

// moveGap moves the gap to logical position p.
func (l *structList) moveGap(p int) {
	g, k := l.gap, l.gapLen
	if k == 0 {
		l.gap = p
		return
	}
	switch {
	case p < g:
		copy(l.a[p+k:g+k], l.a[p:g])
		clear(l.a[p:min(g, p+k)])
	case p > g:
		copy(l.a[g:p], l.a[g+k:p+k])
		clear(l.a[max(g+k, p) : p+k])
	}
	l.gap = p
}

// insert puts it at logical position i.
func (l *structList) insert(i int, it *Item) {
	l.materialize()
	n := l.len()
	if i == n {
		l.push(it)
		return
	}
	if l.gapLen == 0 {
		// Grow, opening a gap at i.
		k := max(32, n/16)
		a := make([]slot, n+k, n+k+n/8)
		copy(a, l.a[:i])
		copy(a[i+k:], l.a[i:])
		l.a, l.gap, l.gapLen = a, i, k
	} else {
		l.moveGap(i)
	}
	l.a[l.gap] = it
	l.gap++
	l.gapLen--
}

// remove deletes k structs from logical position i.
func (l *structList) remove(i, k int) {
	l.materialize()
	if i+k == l.len() && l.gap <= i && !l.tailGap() {
		clear(l.a[len(l.a)-k:])
		l.a = l.a[:len(l.a)-k]
		return
	}
	if l.gapLen > 0 && i+k == l.gap {
		// Right before the gap: widen it.
		clear(l.a[i:l.gap])
		l.gap = i
		l.gapLen += k
		return
	}
	l.moveGap(i)
	clear(l.a[l.gap+l.gapLen : l.gap+l.gapLen+k])
	l.gapLen += k
}

// structStore holds every struct of a document, per client, sorted by clock
// and contiguous from clock 0. It also keeps what arrived too early: structs
// whose dependencies are missing and deletes of content not yet seen.
type structStore struct {
	clients map[uint64]*structList
	// lastClient/lastList cache the most recent lookup: most documents
	// have one active client.
	lastClient uint64
	lastList   *structList
	// pending holds decoded structs that could not be integrated yet, per
	// client, sorted by clock, possibly with gaps.
	pending map[uint64][]*Item
	// pendingMissing is the lowest clock per client that pending structs
	// wait for.
	pendingMissing map[uint64]uint64
	// pendingDeletes are deletes of ranges the store does not hold yet.
	pendingDeletes deleteSet
	// sizeHint, when set, is how many structs of client sizeClient are
	// about to be added: the capacity for its list if add creates it.
	sizeClient uint64
	sizeHint   int
	// sizeSlab, when set, is the decoded block those structs are: the
	// list starts in slab mode when its first struct is the block's first.
	sizeSlab []Item
	// lastRight, while integrateClient runs, is the struct the previous
	// resolve found at its right origin (consecutive decoded items often
	// share it). Structs stay in the store while integrating, and a split
	// keeps the left part's pointer, so a struct still starting at the
	// right origin is the one itemCleanStart would return.
	lastRight  *Item
	rightHints bool
	// tailItem is the one string item whose text may grow in place: its
	// text is tailBuf, whose spare capacity is that item's alone. Typing
	// appends to one item many times; the buffer doubles when full.
	tailItem  *Item
	tailBuf   []byte
	tailUnits int // the tail item's length when its text was last appended
}

// appendText appends add, units long, to the text of string item it, in
// place when it is the tail item with room, else in a new buffer of twice
// the size, of which it becomes the tail item. The caller sets the new
// length afterwards and checks that the text stays within maxTextBytes.
func (s *structStore) appendText(it *Item, add string, units int) {
	ascii := it.textASCII()
	if ascii {
		if len(add) == 1 { // (typing)
			ascii = add[0] < 0x80
		} else {
			ascii = isASCII(unsafe.Slice(unsafe.StringData(add), len(add)))
		}
	}
	// The tail buffer holds the item's text when it starts at the item's
	// text and the item has as many units as when it was appended to: its
	// length then gives the byte length without measuring the text.
	if s.tailItem == it && s.tailUnits == it.length() && len(s.tailBuf) > 0 &&
		unsafe.Pointer(&s.tailBuf[0]) == it.ptr() && len(s.tailBuf)+len(add) <= cap(s.tailBuf) {
		s.tailBuf = append(s.tailBuf, add...)
	} else {
		old := it.text()
		n := len(old) + len(add)
		b := make([]byte, 0, max(2*n, 16))
		b = append(b, old...)
		s.tailItem, s.tailBuf = it, append(b, add...)
	}
	it.setText(unsafe.String(&s.tailBuf[0], len(s.tailBuf)), ascii)
	s.tailUnits = it.length() + units
}

// dropTail stops it from growing in place: its bytes are about to be
// shared (a split) or dropped (collection).
func (s *structStore) dropTail(it *Item) {
	if s.tailItem == it {
		s.tailItem, s.tailBuf = nil, nil
	}
}

func newStructStore() *structStore {
	return &structStore{clients: make(map[uint64]*structList)}
}

// list returns client's structs, or nil.
func (s *structStore) list(client uint64) *structList {
	if s.lastList != nil && s.lastClient == client {
		return s.lastList
	}
	l := s.clients[client]
	if l != nil {
		s.lastClient, s.lastList = client, l
	}
	return l
}

// state returns the next expected clock of client.
func (s *structStore) state(client uint64) uint64 {
	l := s.list(client)
	if l.len() == 0 {
		return 0
	}
	last := l.last()
	return last.end()
}

// stateVector returns the state of every client.
func (s *structStore) stateVector() StateVector {
	sv := make(StateVector, len(s.clients))
	for client, l := range s.clients {
		last := l.last()
		sv[client] = last.end()
	}
	return sv
}

// parentOf returns the type an integrated struct belongs to: nil for a
// GC struct.
func (s *structStore) parentOf(it *Item) *branch {
	if it.isGC() {
		return nil
	}
	if it.info&flagWideOwn == 0 {
		return s.list(uint64(it.client)).parentAt(uint64(it.clock))
	}
	id := it.id()
	return s.list(id.Client).parentAt(id.Clock)
}

// add appends a freshly integrated struct to its client's list; p is the
// type it belongs to (nil for a GC struct).
func (s *structStore) add(txn *Transaction, it *Item, p *branch) {
	id := it.id()
	l := s.list(id.Client)
	if l.len() > 0 {
		if l.last().end() != id.Clock {
			panic(errInternal)
		}
	} else if id.Clock != 0 {
		panic(errInternal)
	}
	txn.noteBefore(id.Client, id.Clock)
	if l == nil {
		l = &structList{}
		if s.sizeHint > 1 && s.sizeClient == id.Client {
			if len(s.sizeSlab) > 0 && it == &s.sizeSlab[0] {
				l.slab = s.sizeSlab[:0]
				if l.dir = newClockDir(s.sizeSlab); l.dir != nil {
					txn.dirLists = append(txn.dirLists, l)
				}
			} else {
				l.a = make([]slot, 0, s.sizeHint)
			}
		}
		s.clients[id.Client] = l
		s.lastClient, s.lastList = id.Client, l
	}
	if p != nil {
		l.noteParent(id.Clock, p)
	}
	if l.slab != nil && l.extendSlab(it) {
		return
	}
	l.push(it)
}

// findIndex returns the index of the struct holding clock. It tries the
// last struct, the structs around the previous answer (searches tend to
// land near it: sweeps over sorted ranges) and the last few structs (a
// load links most structs behind one of them), then bisects.
func findIndex(l *structList, clock uint64) int {
	right := l.len() - 1
	if right < 0 {
		return -1
	}
	last := l.last()
	if clock >= last.startClock() {
		if clock < last.end() {
			return right
		}
		return -1
	}
	if l.dir != nil {
		if i := l.dir.find(l, clock); i >= 0 {
			return i
		}
	}
	// Structs are contiguous: struct i covers [clockAt(i), clockAt(i+1)).
	// The answer is the last index in [0, right) whose clock is <= clock.
	lo, hi := 0, right-1
	if h := l.hint; h < right {
		if l.clockAt(h) <= clock {
			lo = h
			for i := h + 1; i < min(h+4, right); i++ {
				if l.clockAt(i) > clock {
					l.hint = i - 1
					return i - 1
				}
				lo = i
			}
			if clock < l.clockAt(min(h+4, right)) {
				l.hint = lo
				return lo
			}
		} else {
			hi = h - 1
			for i := h - 1; i > max(h-4, 0); i-- {
				if l.clockAt(i) <= clock {
					l.hint = i
					return i
				}
				hi = i - 1
			}
		}
	}
	if hi >= right-8 && l.gapLen == 0 {
		// Near the end (no gap: a plain slice, or the slab).
		for i := min(hi, right-1); i >= max(lo, right-8); i-- {
			if l.at(i).startClock() <= clock {
				l.hint = i
				return i
			}
		}
		hi = max(lo, right-8) - 1
	}
	i := searchClocks(l, lo, hi, clock)
	if i >= 0 {
		l.hint = i
	}
	return i
}

// searchClocks is findIndex's search of [lo, hi]: the last index whose
// clock is <= clock, or -1. Interpolation first: a client's clocks grow at
// a fairly even pace along its structs, so the clock's place between the
// range's first and last clocks is a good guess at its index (Yjs pivots
// on the same guess); a probe eight structs further on brackets it when
// it is close. On a loaded document a fifth of the origins lie far from
// every hint, and bisection's dozen probes were each a cache miss. A few
// steps at most, so that uneven clocks cost no more than a bisection's
// last few probes. Then bisection.
func searchClocks(l *structList, lo, hi int, clock uint64) int {
	if lo > hi || hi >= l.len() || lo < 0 {
		return -1
	}
	for step := 0; step < 3 && hi-lo > 16; step++ {
		cl, ch := l.clockAt(lo), l.clockAt(hi)
		if clock < cl {
			break
		}
		if clock >= ch {
			lo = hi
			break
		}
		g := lo + int(float64(clock-cl)/float64(ch-cl)*float64(hi-lo))
		g = min(max(g, lo), hi-1)
		if l.clockAt(g) <= clock {
			lo = g
			if e := g + 8; e < hi {
				if l.clockAt(e) > clock {
					hi = e - 1
				} else {
					lo = e
				}
			}
		} else {
			hi = g - 1
			if e := g - 8; e > lo {
				if l.clockAt(e) <= clock {
					lo = e
				} else {
					hi = e - 1
				}
			}
		}
	}
	for lo < hi {
		mid := int(uint(lo+hi+1) >> 1)
		if l.clockAt(mid) <= clock {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	if l.clockAt(lo) > clock {
		return -1
	}
	return lo
}

// findIndexNear is findIndex for a sweep over sorted ranges: clock is
// expected a few structs from index from (where the previous range ended,
// or began when sweeping backwards), so the up to eight structs from
// there are tried first, and only then the list searched.
func findIndexNear(l *structList, clock uint64, from int) int {
	n := l.len()
	if from < 0 || from >= n {
		return findIndex(l, clock)
	}
	if clock >= l.clockAt(from) {
		for j := from; j < min(from+8, n); j++ {
			st := l.at(j)
			if clock < st.startClock() {
				break
			}
			if clock-st.startClock() < uint64(st.length()) {
				return j
			}
		}
	} else {
		for j := from - 1; j >= max(from-8, 0); j-- {
			st := l.at(j)
			if clock >= st.startClock() {
				if clock-st.startClock() < uint64(st.length()) {
					return j
				}
				break
			}
		}
	}
	return findIndex(l, clock)
}

// find returns the struct holding id, which must exist.
func (s *structStore) find(id ID) *Item {
	l := s.list(id.Client)
	i := findIndex(l, id.Clock)
	if i < 0 {
		panic(errInternal)
	}
	return l.at(i)
}

// findIndexCleanStart returns the index of the struct starting exactly at
// clock, splitting an item when clock falls inside it.
func (s *structStore) findIndexCleanStart(txn *Transaction, client uint64, clock uint64) int {
	l := s.list(client)
	i := findIndex(l, clock)
	if i < 0 {
		panic(errInternal)
	}
	st := l.at(i)
	if st.startClock() < clock && !st.isGC() {
		right := st.split(txn, int(clock-st.startClock()))
		l.insert(i+1, right)
		return i + 1
	}
	return i
}

// itemCleanStart returns the item starting at id, splitting if needed.
func (s *structStore) itemCleanStart(txn *Transaction, id ID) *Item {
	i := s.findIndexCleanStart(txn, id.Client, id.Clock)
	return s.list(id.Client).at(i)
}

// itemCleanEnd returns the item ending at id, splitting if needed.
func (s *structStore) itemCleanEnd(txn *Transaction, id ID) *Item {
	l := s.list(id.Client)
	i := findIndex(l, id.Clock)
	if i < 0 {
		panic(errInternal)
	}
	st := l.at(i)
	if id.Clock != st.startClock()+uint64(st.length())-1 && !st.isGC() {
		right := st.split(txn, int(id.Clock-st.startClock())+1)
		l.insert(i+1, right)
	}
	return st
}

// iterate calls f for every struct covering [clock, clock+length), splitting
// the structs at both ends so that f sees exactly that range.
func (s *structStore) iterate(txn *Transaction, client uint64, clock, length uint64, f func(*Item)) {
	if length == 0 {
		return
	}
	end := clock + length
	i := s.findIndexCleanStart(txn, client, clock)
	l := s.list(client)
	for {
		st := l.at(i)
		i++
		if end < st.startClock()+uint64(st.length()) {
			s.findIndexCleanStart(txn, client, end)
		}
		f(st)
		if i >= l.len() || l.at(i).startClock() >= end {
			return
		}
	}
}
