package crdt

import "slices"

// structStore holds every struct of a document, per client, sorted by clock
// and contiguous from clock 0. It also keeps what arrived too early: structs
// whose dependencies are missing and deletes of content not yet seen.
type structStore struct {
	clients map[uint64][]*Item
	// pending holds decoded structs that could not be integrated yet, per
	// client, sorted by clock, possibly with gaps.
	pending map[uint64][]*Item
	// pendingMissing is the lowest clock per client that pending structs
	// wait for.
	pendingMissing map[uint64]uint64
	// pendingDeletes are deletes of ranges the store does not hold yet.
	pendingDeletes deleteSet
}

func newStructStore() *structStore {
	return &structStore{clients: make(map[uint64][]*Item)}
}

// state returns the next expected clock of client.
func (s *structStore) state(client uint64) uint64 {
	structs := s.clients[client]
	if len(structs) == 0 {
		return 0
	}
	last := structs[len(structs)-1]
	return last.id.Clock + uint64(last.length)
}

// stateVector returns the state of every client.
func (s *structStore) stateVector() StateVector {
	sv := make(StateVector, len(s.clients))
	for client, structs := range s.clients {
		last := structs[len(structs)-1]
		sv[client] = last.id.Clock + uint64(last.length)
	}
	return sv
}

// add appends a freshly integrated struct to its client's list.
func (s *structStore) add(txn *Transaction, it *Item) {
	structs := s.clients[it.id.Client]
	if n := len(structs); n > 0 {
		last := structs[n-1]
		if last.id.Clock+uint64(last.length) != it.id.Clock {
			panic(errInternal)
		}
	} else if it.id.Clock != 0 {
		panic(errInternal)
	}
	txn.noteBefore(it.id.Client, it.id.Clock)
	s.clients[it.id.Client] = append(structs, it)
}

// findIndex returns the index of the struct holding clock. It starts at a
// guess from the clock's relative position, which is exact for clients whose
// structs have similar sizes, then bisects.
func findIndex(structs []*Item, clock uint64) int {
	right := len(structs) - 1
	if right < 0 {
		return -1
	}
	last := structs[right]
	if last.id.Clock == clock {
		return right
	}
	end := last.id.Clock + uint64(last.length)
	if clock >= end {
		return -1
	}
	left := 0
	mid := int(float64(clock) / float64(end) * float64(right))
	for left <= right {
		st := structs[mid]
		if st.id.Clock <= clock {
			if clock < st.id.Clock+uint64(st.length) {
				return mid
			}
			left = mid + 1
		} else {
			right = mid - 1
		}
		mid = int(uint(left+right) >> 1)
	}
	return -1
}

// find returns the struct holding id, which must exist.
func (s *structStore) find(id ID) *Item {
	structs := s.clients[id.Client]
	i := findIndex(structs, id.Clock)
	if i < 0 {
		panic(errInternal)
	}
	return structs[i]
}

// findIndexCleanStart returns the index of the struct starting exactly at
// clock, splitting an item when clock falls inside it.
func (s *structStore) findIndexCleanStart(txn *Transaction, client uint64, clock uint64) int {
	structs := s.clients[client]
	i := findIndex(structs, clock)
	if i < 0 {
		panic(errInternal)
	}
	st := structs[i]
	if st.id.Clock < clock && !st.isGC() {
		right := st.split(txn, int(clock-st.id.Clock))
		s.clients[client] = slices.Insert(structs, i+1, right)
		return i + 1
	}
	return i
}

// itemCleanStart returns the item starting at id, splitting if needed.
func (s *structStore) itemCleanStart(txn *Transaction, id ID) *Item {
	i := s.findIndexCleanStart(txn, id.Client, id.Clock)
	return s.clients[id.Client][i]
}

// itemCleanEnd returns the item ending at id, splitting if needed.
func (s *structStore) itemCleanEnd(txn *Transaction, id ID) *Item {
	structs := s.clients[id.Client]
	i := findIndex(structs, id.Clock)
	if i < 0 {
		panic(errInternal)
	}
	st := structs[i]
	if id.Clock != st.id.Clock+uint64(st.length)-1 && !st.isGC() {
		right := st.split(txn, int(id.Clock-st.id.Clock)+1)
		s.clients[id.Client] = slices.Insert(structs, i+1, right)
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
	for {
		structs := s.clients[client]
		st := structs[i]
		i++
		if end < st.id.Clock+uint64(st.length) {
			s.findIndexCleanStart(txn, client, end)
		}
		f(st)
		structs = s.clients[client]
		if i >= len(structs) || structs[i].id.Clock >= end {
			return
		}
	}
}
