package crdt

import (
	"fmt"
	"slices"
)

// ApplyUpdate merges a v1 update into the document. The update is decoded
// and validated completely before anything changes, so a malformed update
// returns an error wrapping ErrMalformedUpdate and leaves the document as
// it was. Structs whose dependencies have not arrived yet are kept pending
// and integrated once the gap fills; so are deletes of unknown content.
// origin is passed to update subscribers.
func (d *Doc) ApplyUpdate(update []byte, origin any) (err error) {
	// The decoded form lives only during the call: the document's spare
	// one serves, unless a nested call (from a subscriber) holds it.
	// A lone struct is decoded into it too (see decodedUpdate.scratch).
	u := d.spareUpdate
	d.spareUpdate = nil
	if u == nil {
		u = new(decodedUpdate)
	}
	u.scratch = true
	defer func() {
		putRanges(u.dsRanges) // (applying copied what it keeps; dsBuf is too small to pool)
		*u = decodedUpdate{}
		d.spareUpdate = u
	}()
	if err := decodeUpdateInto(update, u); err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			if r != errInternal {
				panic(r)
			}
			err = fmt.Errorf("%w while applying update", errInternal)
		}
	}()
	d.transact(origin, false, func(txn *Transaction) {
		d.applyDecoded(txn, u)
	})
	return nil
}

// applyDecoded integrates a decoded update inside txn, in the order Yjs
// uses: structs, then the pending-struct bookkeeping, then deletes (the
// update's, then the pending ones), then a retry of pending structs when
// the update filled a gap they waited for.
func (d *Doc) applyDecoded(txn *Transaction, u *decodedUpdate) {
	s := d.store
	var rest map[uint64][]*Item
	var restMissing map[uint64]uint64
	if u.one != nil {
		if u.dsOne && u.dsClient == u.oneClient {
			// A document's delete set has a range per run of deleted
			// structs: the ranges this load records as they arrive.
			txn.reserveDeletes(u.oneClient, len(u.dsRanges))
		}
		rest, restMissing = d.integrateClient(txn, u.oneClient, nil, u.one)
	} else {
		rest, restMissing = d.integrateStructs(txn, u.structs)
	}
	retry := false
	if s.pending != nil {
		for client, clock := range s.pendingMissing {
			if clock < s.state(client) {
				retry = true
				break
			}
		}
		if rest != nil {
			for client, clock := range restMissing {
				if m, ok := s.pendingMissing[client]; !ok || m > clock {
					s.pendingMissing[client] = clock
				}
			}
			s.pending = mergePendingStructs(s.pending, rest)
		}
	} else if rest != nil {
		s.pending, s.pendingMissing = rest, restMissing
	}

	var dsRest deleteSet
	if u.dsOne {
		d.applyDeleteRanges(txn, u.dsClient, u.dsRanges, &dsRest)
	} else {
		dsRest = d.applyDeleteSet(txn, u.ds)
	}
	if s.pendingDeletes != nil {
		pending := s.pendingDeletes
		s.pendingDeletes = nil
		dsRest2 := d.applyDeleteSet(txn, pending)
		if dsRest != nil && dsRest2 != nil {
			dsRest.merge(dsRest2)
			dsRest.sortAndMerge()
		} else if dsRest == nil {
			dsRest = dsRest2
		}
	}
	s.pendingDeletes = dsRest

	if retry {
		pending := s.pending
		s.pending, s.pendingMissing = nil, nil
		d.applyDecoded(txn, &decodedUpdate{structs: pending})
	}
}

// clientRefs is a cursor over one client's decoded structs.
type clientRefs struct {
	refs []*Item
	i    int
}

// integrateStructs integrates decoded structs in dependency order. It walks
// clients from the highest ID down; when a struct depends on content of
// another client that the update also carries, it descends into that client
// first (a stack keeps the way back). Structs that cannot be integrated are
// returned, with the lowest clock per client they wait for.
func (d *Doc) integrateStructs(txn *Transaction, structs map[uint64][]*Item) (rest map[uint64][]*Item, missing map[uint64]uint64) {
	if len(structs) == 0 {
		return nil, nil
	}
	s := d.store
	if len(structs) == 1 {
		for client, list := range structs {
			return d.integrateClient(txn, client, list, nil)
		}
	}
	refs := make(map[uint64]*clientRefs, len(structs))
	ids := make([]uint64, 0, len(structs))
	for client, list := range structs {
		refs[client] = &clientRefs{refs: list}
		ids = append(ids, client)
	}
	slices.Sort(ids)

	nextTarget := func() *clientRefs {
		for len(ids) > 0 {
			t := refs[ids[len(ids)-1]]
			if t != nil && t.i < len(t.refs) {
				return t
			}
			ids = ids[:len(ids)-1]
		}
		return nil
	}
	cur := nextTarget()
	if cur == nil {
		return nil, nil
	}
	updateMissing := func(client, clock uint64) {
		if missing == nil {
			missing = make(map[uint64]uint64)
		}
		if m, ok := missing[client]; !ok || m > clock {
			missing[client] = clock
		}
	}
	var stack []*Item
	addStackToRest := func() {
		for _, it := range stack {
			client := it.id().Client
			if rest == nil {
				rest = make(map[uint64][]*Item)
			}
			if cr := refs[client]; cr != nil {
				// The struct that could not be applied was already taken
				// from the cursor: step back to include it.
				cr.i--
				rest[client] = slices.Clone(cr.refs[cr.i:])
				delete(refs, client)
				cr.refs, cr.i = nil, 0
			} else {
				rest[client] = []*Item{it}
			}
			ids = slices.DeleteFunc(ids, func(c uint64) bool { return c == client })
		}
		stack = stack[:0]
	}
	state := make(map[uint64]uint64)
	head := cur.refs[cur.i]
	cur.i++
	for {
		if !head.isSkip() {
			client := head.id().Client
			local, ok := state[client]
			if !ok {
				local = s.state(client)
				state[client] = local
			}
			if local < head.startClock() {
				// A gap before this struct: wait for it.
				stack = append(stack, head)
				updateMissing(client, head.startClock()-1)
				addStackToRest()
			} else if local == head.startClock() && head.integrateInOrder(txn, s) {
				state[client] = local + uint64(head.length())
			} else if parent, dep, ok := head.resolve(txn, s); !ok {
				stack = append(stack, head)
				cr := refs[dep]
				if cr == nil || cr.i == len(cr.refs) {
					updateMissing(dep, s.state(dep))
					addStackToRest()
				} else {
					head = cr.refs[cr.i]
					cr.i++
					continue
				}
			} else if offset := local - head.startClock(); offset < uint64(head.length()) {
				if head.isGC() && offset > 0 {
					// As Yjs's GC.integrate: drop the part already known.
					head.advance(int(offset))
					offset = 0
				}
				head.integrate(txn, int(offset), parent)
				state[client] = head.startClock() + uint64(head.length())
			}
		}
		switch {
		case len(stack) > 0:
			head = stack[len(stack)-1]
			stack = stack[:len(stack)-1]
		case cur != nil && cur.i < len(cur.refs):
			head = cur.refs[cur.i]
			cur.i++
		default:
			cur = nextTarget()
			if cur == nil {
				return rest, missing
			}
			head = cur.refs[cur.i]
			cur.i++
		}
	}
}

// integrateClient is integrateStructs for an update with one client: no
// other client of the update can fill a dependency, so structs integrate in
// order until one has to wait, and it and the rest become pending. The
// structs are list, or, when list is nil, the items of slab (a decoded
// block).
func (d *Doc) integrateClient(txn *Transaction, client uint64, list []*Item, slab []Item) (rest map[uint64][]*Item, missing map[uint64]uint64) {
	s := d.store
	local := s.state(client)
	n := len(list)
	if list == nil {
		n = len(slab)
	}
	if local == 0 && n > 1 {
		// A client new to the store (a document load): its list, created
		// by the first add, is sized for the whole update up front instead
		// of growing push by push.
		s.sizeClient, s.sizeHint, s.sizeSlab = client, n, slab
	}
	s.rightHints = true
	defer func() { s.sizeHint, s.sizeSlab, s.lastRight, s.rightHints = 0, nil, nil, false }()
	// waitFrom returns the structs from i on as pending, the i-th detached.
	waitFrom := func(i int, head *Item) map[uint64][]*Item {
		var tail []*Item
		if list != nil {
			tail = slices.Clone(list[i:])
		} else {
			tail = itemPointers(slab[i:])
		}
		tail[0] = head.detach()
		return map[uint64][]*Item{client: tail}
	}
	for i := 0; i < n; i++ {
		if slab != nil && i > 0 && local == slab[i].startClock() && !linkSlabOff {
			// A load: link as many as can go straight behind their origins.
			if l := s.list(client); l != nil && l.dir != nil && len(l.slab) == i && &l.slab[:i+1][i] == &slab[i] {
				if j := s.linkSlab(txn, l, client, slab, i); j > i {
					local = slab[j-1].end()
					i = j - 1
					continue
				}
			}
		}
		var head *Item
		if list != nil {
			head = list[i]
		} else {
			head = &slab[i]
		}
		if head.isSkip() {
			continue
		}
		if local < head.startClock() {
			// A gap before this struct: wait for it.
			return waitFrom(i, head), map[uint64]uint64{client: head.startClock() - 1}
		}
		if local == head.startClock() && head.info&flagScratch == 0 && head.integrateInOrder(txn, s) {
			// A struct of a longer update, as a document load has them,
			// linked right behind its origin.
			local += uint64(head.length())
			continue
		}
		parent, dep, ok := head.resolve(txn, s)
		if !ok {
			return waitFrom(i, head), map[uint64]uint64{dep: s.state(dep)}
		}
		if offset := local - head.startClock(); offset < uint64(head.length()) {
			if head.isGC() && offset > 0 {
				// As Yjs's GC.integrate: drop the part already known.
				head.advance(int(offset))
				offset = 0
			}
			// Only a lone struct (an update as typing sends it) may go
			// into its left neighbour: in a longer update a later struct
			// may have to go between the two, and splitting them again
			// would cost more than the merge saved.
			if offset > 0 || head.info&flagScratch == 0 || !head.extendLeft(txn, parent) {
				head = head.detach()
				head.integrate(txn, int(offset), parent)
			}
			local = head.startClock() + uint64(head.length())
		}
	}
	return nil, nil
}

// sliceStruct returns a copy of an unintegrated struct without its first
// diff units, as the encoder would describe it from that offset.
func sliceStruct(it *Item, diff int) *Item {
	cp := *it
	cp.advance(diff)
	if it.ckind != 0 {
		// Work on a copy: the original may still be referenced.
		c := copyContent(it.content())
		cp.setContent(c.splice(diff))
		cp.setOrigin(someID(ID{Client: it.id().Client, Clock: cp.startClock() - 1}))
		cp.dropPref()
	}
	return &cp
}

// copyContent duplicates splittable content so that splicing the copy
// leaves the original intact.
func copyContent(c content) content {
	switch x := c.(type) {
	case *contentString:
		cp := *x
		return &cp
	case *contentDeleted:
		cp := *x
		return &cp
	case *contentAny:
		return &contentAny{vals: slices.Clone(x.vals)}
	case *contentJSON:
		return &contentJSON{raw: slices.Clone(x.raw)}
	}
	return c
}

// applyDeleteSet deletes the ranges of ds that the store holds and returns
// the ranges it does not hold yet.
func (d *Doc) applyDeleteSet(txn *Transaction, ds deleteSet) deleteSet {
	var unapplied deleteSet
	if len(ds) == 1 {
		for client, rs := range ds {
			d.applyDeleteRanges(txn, client, rs, &unapplied)
		}
		return unapplied
	}
	for _, client := range sortedClientsDesc(ds) {
		d.applyDeleteRanges(txn, client, ds[client], &unapplied)
	}
	return unapplied
}

// applyDeleteRanges deletes client's ranges rs where the store holds them
// and adds the rest to unapplied.
func (d *Doc) applyDeleteRanges(txn *Transaction, client uint64, rs []idRange, unapplied *deleteSet) {
	s := d.store
	state := s.state(client)
	next := -1 // where the previous range's sweep stopped
	// What this transaction deleted already, in clock order as a load
	// records it: the structs that arrived with deleted content. A load's
	// delete set names exactly those, and a range inside one of them needs
	// no lookup. (Only a prefix of done is read, and every range in it
	// stays deleted, so ranges the sweep below adds cannot mislead.)
	done := txn.deleteSet[client]
	j := 0
	for _, r := range rs {
		clock, end := r.clock, r.clock+r.len
		for j < len(done) && done[j].clock+done[j].len <= clock {
			j++
		}
		if j < len(done) && done[j].clock <= clock && end <= done[j].clock+done[j].len {
			continue
		}
		if clock >= state {
			unapplied.add(client, clock, end-clock)
			continue
		}
		if state < end {
			unapplied.add(client, state, end-state)
		}
		l := s.list(client)
		i := findIndexNear(l, clock, next)
		st := l.at(i)
		if !st.deleted() && st.startClock() < clock {
			right := st.split(txn, int(clock-st.startClock()))
			l.insert(i+1, right)
			i++
		}
		for i < l.len() {
			st = l.at(i)
			if st.startClock() >= end {
				break
			}
			i++
			if !st.deleted() {
				if end < st.startClock()+uint64(st.length()) {
					right := st.split(txn, int(end-st.startClock()))
					l.insert(i, right)
				}
				st.delete(txn)
			}
		}
		next = i
	}
}
