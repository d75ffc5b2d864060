package crdt

import (
	"math/rand/v2"

	"github.com/quirehq/quire/crdt/lib0"
)

// Transaction groups changes to a document. Every change happens inside
// one; when the outermost transaction ends, deleted content is collected,
// adjacent structs are merged and subscribers receive one update that
// describes all of it.
type Transaction struct {
	doc    *Doc
	origin any
	local  bool
	// before records, for each client whose state this transaction
	// advanced, its clock when the transaction started, in the order the
	// clients were first touched. beforeIdx indexes it once it is long.
	before    clockList
	beforeIdx map[uint64]int
	deleteSet deleteSet
	// deleteOrder lists the clients of deleteSet in the order they first
	// received a deletion (Yjs's delete set is an insertion-ordered Map,
	// and the formatting clean-up visits deletions in that order).
	deleteOrder []uint64
	// reserved records that reserveDeletes sized reservedClient's entry.
	reserved       bool
	reservedClient uint64
	mergeStructs   []*Item
	// changed holds the types whose content changed, without repeats;
	// changedIdx indexes it once it is long.
	changed    []*branch
	changedIdx map[*branch]int
	// needFormattingCleanup is set when a remote change touched formatted
	// text, which Yjs answers with a local clean-up transaction.
	needFormattingCleanup bool
	// startedEmpty is set when the store held no struct as the
	// transaction began (a document load): every client it holds at the
	// end was added by the transaction.
	startedEmpty bool
	// collect is set when an item with content was deleted: only then
	// has garbage collection work to do. (Deleted content, as a load
	// brings it, is collected already.)
	collect bool
	// dirLists are the lists that got a clock directory in this
	// transaction (see clockDir); recycle drops the directories.
	dirLists []*structList
}

// Doc returns the document the transaction belongs to.
func (txn *Transaction) Doc() *Doc { return txn.doc }

// Origin returns the origin given when the transaction started.
func (txn *Transaction) Origin() any { return txn.origin }

// Local reports whether the transaction holds local edits (as opposed to an
// applied update).
func (txn *Transaction) Local() bool { return txn.local }

// reserveDeletes makes room for n more ranges of client in the
// transaction's delete set. A load brings thousands of deleted structs,
// each a range of its own (live text lies between them); growing the
// slice append by append allocated about twice what it ended with and
// copied it a dozen times. (recycle drops a large slice afterwards.)
func (txn *Transaction) reserveDeletes(client uint64, n int) {
	if n <= 64 {
		return
	}
	rs := txn.deleteSet[client]
	if cap(rs)-len(rs) >= n {
		return
	}
	if txn.deleteSet == nil {
		txn.deleteSet = make(deleteSet)
	}
	// (An empty entry counts as absent: addDelete still lists the client
	// in deleteOrder when it adds the first range. recycle drops the
	// reservation if it stays empty.)
	txn.deleteSet[client] = append(getRanges(len(rs)+n), rs...)
	txn.reserved, txn.reservedClient = true, client
}

// addDelete records a deleted range in the transaction's delete set.
func (txn *Transaction) addDelete(client, clock, length uint64) {
	rs, ok := txn.deleteSet[client]
	if !ok || len(rs) == 0 {
		// (Entries kept empty by recycle count as absent.)
		txn.deleteOrder = append(txn.deleteOrder, client)
	}
	// As deleteSet.add, with the lookup above.
	if n := len(rs); n > 0 && rs[n-1].clock+rs[n-1].len == clock {
		rs[n-1].len += length
		return
	}
	if txn.deleteSet == nil {
		txn.deleteSet = make(deleteSet)
	}
	txn.deleteSet[client] = append(rs, idRange{clock, length})
}

// takeDeletes returns client's delete ranges, for a caller that appends to
// them and hands them back with putDeletes, with no other delete between.
func (txn *Transaction) takeDeletes(client uint64) []idRange {
	return txn.deleteSet[client]
}

// putDeletes stores client's delete ranges taken with takeDeletes.
func (txn *Transaction) putDeletes(client uint64, rs []idRange) {
	if len(rs) == 0 {
		return
	}
	if txn.deleteSet == nil {
		txn.deleteSet = make(deleteSet)
	}
	if len(txn.deleteSet[client]) == 0 {
		// (Entries kept empty by recycle or reserveDeletes count as absent.)
		txn.deleteOrder = append(txn.deleteOrder, client)
	}
	txn.deleteSet[client] = rs
}

// clientClock is a client's clock.
type clientClock struct{ client, clock uint64 }

// clockList maps clients to clocks; it is short (usually one client).
type clockList []clientClock

// indexThreshold is the length from which the small lists of a
// transaction get a map index.
const indexThreshold = 16

func (txn *Transaction) beforeIndex(client uint64) int {
	if txn.beforeIdx != nil {
		if i, ok := txn.beforeIdx[client]; ok {
			return i
		}
		return -1
	}
	for i := range txn.before {
		if txn.before[i].client == client {
			return i
		}
	}
	return -1
}

func (txn *Transaction) noteBefore(client, clock uint64) {
	if n := len(txn.before); n > 0 && txn.before[n-1].client == client {
		return
	}
	if txn.beforeIndex(client) >= 0 {
		return
	}
	txn.before = append(txn.before, clientClock{client, clock})
	if txn.beforeIdx != nil {
		txn.beforeIdx[client] = len(txn.before) - 1
	} else if len(txn.before) > indexThreshold {
		txn.beforeIdx = make(map[uint64]int, len(txn.before))
		for i, cc := range txn.before {
			txn.beforeIdx[cc.client] = i
		}
	}
}

// beforeClock returns client's clock at the start of the transaction.
func (txn *Transaction) beforeClock(client uint64) uint64 {
	if i := txn.beforeIndex(client); i >= 0 {
		return txn.before[i].clock
	}
	return txn.doc.store.state(client)
}

// addChanged records that b's content changed, unless b was created in this
// transaction or is deleted (nobody could observe it).
func (txn *Transaction) addChanged(b *branch) {
	if n := len(txn.changed); n > 0 && txn.changed[n-1] == b {
		return // (the usual repeat: every struct of a load)
	}
	it := b.item
	if it == nil || (it.startClock() < txn.beforeClock(it.id().Client) && !it.deleted()) {
		if txn.changedIndex(b) >= 0 {
			return
		}
		txn.changed = append(txn.changed, b)
		if txn.changedIdx != nil {
			txn.changedIdx[b] = len(txn.changed) - 1
		} else if len(txn.changed) > indexThreshold {
			txn.changedIdx = make(map[*branch]int, len(txn.changed))
			for i, c := range txn.changed {
				txn.changedIdx[c] = i
			}
		}
	}
}

func (txn *Transaction) changedIndex(b *branch) int {
	if txn.changedIdx != nil {
		if i, ok := txn.changedIdx[b]; ok {
			return i
		}
		return -1
	}
	for i, c := range txn.changed {
		if c == b {
			return i
		}
	}
	return -1
}

// removeChanged forgets that b changed.
func (txn *Transaction) removeChanged(b *branch) {
	i := txn.changedIndex(b)
	if i < 0 {
		return
	}
	last := len(txn.changed) - 1
	if txn.changedIdx != nil {
		delete(txn.changedIdx, b)
		if i != last {
			txn.changedIdx[txn.changed[last]] = i
		}
	}
	txn.changed[i] = txn.changed[last]
	txn.changed[last] = nil
	txn.changed = txn.changed[:last]
}

// hasChanges reports whether the transaction changed anything that an
// update would carry.
func (txn *Transaction) hasChanges() bool {
	if len(txn.deleteOrder) > 0 {
		return true
	}
	for _, cc := range txn.before {
		if txn.doc.store.state(cc.client) != cc.clock {
			return true
		}
	}
	return false
}

// transact runs fn in the current transaction, or in a new one that is
// cleaned up (and announced) when fn returns. Transactions started while
// others are being cleaned up run at once and are cleaned up after them,
// in order, as in Yjs.
func (d *Doc) transact(origin any, local bool, fn func(*Transaction)) {
	if d.txn != nil {
		fn(d.txn)
		return
	}
	txn := d.newTransaction(origin, local)
	d.txn = txn
	d.queue = append(d.queue, txn)
	first := len(d.queue) == 1
	defer func() {
		d.txn = nil
		if first {
			d.cleanupQueue()
		}
	}()
	fn(txn)
}

func (d *Doc) newTransaction(origin any, local bool) *Transaction {
	txn := d.spare
	d.spare = nil
	if txn == nil {
		txn = &Transaction{}
	}
	txn.doc, txn.origin, txn.local = d, origin, local
	txn.startedEmpty = len(d.store.clients) == 0
	return txn
}

// recycle keeps one transaction's maps for the next, sparing allocations
// on the hot path of one small transaction after another.
func (d *Doc) recycle(txn *Transaction) {
	for _, l := range txn.dirLists {
		if l.dir != nil {
			putDirIndex(l.dir.idx)
			l.dir = nil
		}
	}
	clear(txn.dirLists)
	txn.dirLists = txn.dirLists[:0]
	txn.collect = false
	txn.before = txn.before[:0]
	txn.beforeIdx = nil
	clear(txn.changed)
	txn.changed = txn.changed[:0]
	txn.changedIdx = nil
	if txn.reserved {
		// (A reservation nothing filled is not in deleteOrder.)
		txn.reserved = false
		if rs := txn.deleteSet[txn.reservedClient]; len(rs) == 0 {
			delete(txn.deleteSet, txn.reservedClient)
		}
	}
	if len(txn.deleteSet) <= 4 {
		// Keep the map and the range slices; empty entries count as absent.
		// Entries of clients not in deleteOrder are empty already.
		for _, client := range txn.deleteOrder {
			if rs := txn.deleteSet[client]; cap(rs) <= 64 {
				txn.deleteSet[client] = rs[:0]
			} else {
				// Do not hold on to a large one: the next load may.
				putRanges(rs)
				txn.deleteSet[client] = nil
			}
		}
	} else {
		txn.deleteSet = nil
	}
	txn.deleteOrder = txn.deleteOrder[:0]
	clear(txn.mergeStructs)
	txn.mergeStructs = txn.mergeStructs[:0]
	txn.needFormattingCleanup = false
	txn.origin = nil
	d.spare = txn
}

func (d *Doc) cleanupQueue() {
	defer func() { d.queue = d.queue[:0] }()
	for i := 0; i < len(d.queue); i++ {
		d.cleanup(d.queue[i])
	}
	for _, txn := range d.queue {
		d.recycle(txn)
	}
}

// cleanup finishes one transaction: observer work, garbage collection,
// merging of structs and the update event, in Yjs's order.
func (d *Doc) cleanup(txn *Transaction) {
	s := d.store
	txn.deleteSet.sortAndMergeClients(txn.deleteOrder)

	// Observer phase. Remote changes to formatted text need a clean-up of
	// redundant formatting, which runs as its own local transaction now and
	// is cleaned up after this one.
	if !txn.local {
		for _, b := range txn.changed {
			if b.item != nil && b.item.deleted() {
				continue
			}
			// Remote content shifted indexes under the position cache; Yjs
			// drops its search markers here too.
			b.markers.clear()
			if b.hasFormatting && (b.kind == KindText || b.kind == KindXmlText) {
				txn.needFormattingCleanup = true
			}
		}
	}
	if txn.needFormattingCleanup {
		cleanupFormattingAfterTransaction(txn)
	}
	for _, h := range d.afterTxn {
		h.fn(txn)
	}

	if d.gc && txn.collect {
		d.gcDeleteSet(txn.deleteSet, txn.deleteOrder)
	}
	if !txn.startedEmpty {
		// (In a transaction that started empty, the merge below covers
		// every struct of every client: merging is order-independent, so
		// merging the deleted ones first would only repeat work.)
		d.mergeDeleteSet(txn.deleteSet, txn.deleteOrder)
	}

	for _, cc := range txn.before {
		client, beforeClock := cc.client, cc.clock
		if s.state(client) == beforeClock {
			continue
		}
		l := s.list(client)
		first := max(findIndex(l, beforeClock), 1)
		for i := l.len() - 1; i >= first; {
			// (Most neighbours in clock order cannot merge, and need no
			// call to say so. A list still in slab mode, as after a load,
			// is walked over its slab.)
			if sl := l.slab; sl != nil {
				for i >= first && !mayMerge(&sl[i-1], &sl[i]) {
					i--
				}
				if i < first {
					break
				}
			} else if !mayMerge(l.at(i-1), l.at(i)) {
				i--
				continue
			}
			i -= 1 + d.mergeWithLefts(l, i)
		}
	}
	for i := len(txn.mergeStructs) - 1; i >= 0; i-- {
		id := txn.mergeStructs[i].id()
		l := s.list(id.Client)
		pos := findIndex(l, id.Clock)
		if pos < 0 {
			continue
		}
		if pos+1 < l.len() && d.mergeWithLefts(l, pos+1) > 1 {
			continue
		}
		if pos > 0 {
			d.mergeWithLefts(l, pos)
		}
	}

	if !txn.local {
		if i := txn.beforeIndex(d.clientID); i >= 0 && s.state(d.clientID) != txn.before[i].clock {
			// Another replica uses our client ID; pick a new one, as Yjs does.
			d.clientID = uint64(rand.Uint32())
		}
	}
	if len(d.updateSubs) > 0 && txn.hasChanges() {
		update := d.encodeTransaction(txn)
		for _, sub := range d.updateSubs {
			sub.fn(update, txn.origin)
		}
	}
}

// mayMerge reports whether right might merge into left, its neighbour in
// clock order: two GC structs, or two items linked side by side with the
// same kind of content, both deleted or neither (mergeWith decides).
func mayMerge(left, right *Item) bool {
	if left.info&flagGC != 0 {
		return right.info&flagGC != 0
	}
	return left.right == right && left.ckind == right.ckind && (left.info^right.info)&flagDeleted == 0
}

// encodeTransaction encodes what txn changed as a v1 update.
func (d *Doc) encodeTransaction(txn *Transaction) []byte {
	e := d.scratchEncoder()
	s := d.store
	clients := d.scratchClients[:0]
	for _, cc := range txn.before {
		if s.state(cc.client) > cc.clock {
			clients = append(clients, cc.client)
		}
	}
	sortDesc(clients)
	e.WriteVarUint(uint64(len(clients)))
	for _, client := range clients {
		writeClientStructs(e, s.list(client), client, txn.beforeClock(client))
	}
	d.scratchClients = txn.deleteSet.writeClients(e, txn.deleteOrder, clients[:0])
	return d.takeEncoded(e)
}

// scratchEncoder returns the document's reusable encoder, emptied.
func (d *Doc) scratchEncoder() *lib0.Encoder {
	if d.enc == nil {
		d.enc = lib0.NewEncoder(1024)
	}
	d.enc.Reset()
	return d.enc
}

// takeEncoded returns a copy of what e holds, of exact size, and lets the
// scratch encoder's buffer go when it grew large.
//
// Small updates (a keystroke's is a few dozen bytes) are carved from a
// shared chunk, capacity capped at their length so that appending to one
// never touches its neighbours: one allocation serves dozens of
// transactions. A subscriber keeping one update pins at most the chunk.
func (d *Doc) takeEncoded(e *lib0.Encoder) []byte {
	n := e.Len()
	if n > updateChunk/8 {
		out := make([]byte, n)
		copy(out, e.Bytes())
		if n > 64<<10 && e == d.enc {
			d.enc = nil
		}
		return out
	}
	if n > len(d.updateBuf) {
		d.updateBuf = make([]byte, updateChunk)
	}
	out := d.updateBuf[:n:n]
	d.updateBuf = d.updateBuf[n:]
	copy(out, e.Bytes())
	return out
}

// updateChunk is the size of the chunks small updates are carved from.
const updateChunk = 1024

// gcDeleteSet replaces the content of deleted items with their length.
func (d *Doc) gcDeleteSet(ds deleteSet, clients []uint64) {
	s := d.store
	for _, client := range clients {
		ranges := ds[client]
		l := s.list(client)
		prev := -1 // where the previous (later) range began
		for ri := len(ranges) - 1; ri >= 0; ri-- {
			r := ranges[ri]
			end := r.clock + r.len
			first := findIndexNear(l, r.clock, prev)
			prev = first
			for si := first; si >= 0 && si < l.len(); si++ {
				st := l.at(si)
				if st.startClock() >= end {
					break
				}
				if !st.isGC() && st.deleted() && !st.keep() {
					st.gc(s, false)
				}
			}
		}
	}
}

// mergeDeleteSet merges deleted structs with their deleted neighbours.
func (d *Doc) mergeDeleteSet(ds deleteSet, clients []uint64) {
	s := d.store
	for _, client := range clients {
		ranges := ds[client]
		l := s.list(client)
		for ri := len(ranges) - 1; ri >= 0; ri-- {
			r := ranges[ri]
			si := min(l.len()-1, 1+findIndex(l, r.clock+r.len-1))
			for si > 0 && l.at(si).startClock() >= r.clock {
				si -= 1 + d.mergeWithLefts(l, si)
			}
		}
	}
}

// mergeWithLefts merges l.at(pos) into its left neighbours as far as
// possible and returns how many structs were merged away.
func (d *Doc) mergeWithLefts(l *structList, pos int) int {
	right := l.at(pos)
	i := pos
	for ; i > 0; i-- {
		left := l.at(i - 1)
		if left.deleted() != right.deleted() || left.isGC() != right.isGC() || !left.mergeWith(d.store, right) {
			break
		}
		if !right.isGC() && right.hasParentSub() {
			// (right's clocks are left's now: the lookup finds their type.)
			if p := d.store.parentOf(left); p.mapItems[right.parentSub()] == right {
				p.mapItems[right.parentSub()] = left
			}
		}
		right = left
	}
	merged := pos - i
	if merged > 0 {
		l.remove(pos+1-merged, merged)
	}
	return merged
}
