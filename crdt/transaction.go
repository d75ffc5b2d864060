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
	// advanced, its clock when the transaction started.
	before    map[uint64]uint64
	deleteSet deleteSet
	// deleteOrder lists the clients of deleteSet in the order they first
	// received a deletion (Yjs's delete set is an insertion-ordered Map,
	// and the formatting clean-up visits deletions in that order).
	deleteOrder  []uint64
	mergeStructs []*Item
	// changed holds the types whose content changed.
	changed map[*branch]struct{}
	// needFormattingCleanup is set when a remote change touched formatted
	// text, which Yjs answers with a local clean-up transaction.
	needFormattingCleanup bool
}

// Doc returns the document the transaction belongs to.
func (txn *Transaction) Doc() *Doc { return txn.doc }

// Origin returns the origin given when the transaction started.
func (txn *Transaction) Origin() any { return txn.origin }

// Local reports whether the transaction holds local edits (as opposed to an
// applied update).
func (txn *Transaction) Local() bool { return txn.local }

// addDelete records a deleted range in the transaction's delete set.
func (txn *Transaction) addDelete(client, clock, length uint64) {
	if _, ok := txn.deleteSet[client]; !ok {
		txn.deleteOrder = append(txn.deleteOrder, client)
	}
	txn.deleteSet.add(client, clock, length)
}

func (txn *Transaction) noteBefore(client, clock uint64) {
	if _, ok := txn.before[client]; !ok {
		txn.before[client] = clock
	}
}

// beforeClock returns client's clock at the start of the transaction.
func (txn *Transaction) beforeClock(client uint64) uint64 {
	if c, ok := txn.before[client]; ok {
		return c
	}
	return txn.doc.store.state(client)
}

// addChanged records that b's content changed, unless b was created in this
// transaction or is deleted (nobody could observe it).
func (txn *Transaction) addChanged(b *branch) {
	it := b.item
	if it == nil || (it.id.Clock < txn.beforeClock(it.id.Client) && !it.deleted()) {
		txn.changed[b] = struct{}{}
	}
}

// hasChanges reports whether the transaction changed anything that an
// update would carry.
func (txn *Transaction) hasChanges() bool {
	if len(txn.deleteSet) > 0 {
		return true
	}
	for client, clock := range txn.before {
		if txn.doc.store.state(client) != clock {
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
		txn = &Transaction{before: make(map[uint64]uint64), changed: make(map[*branch]struct{})}
	}
	txn.doc, txn.origin, txn.local = d, origin, local
	return txn
}

// recycle keeps one transaction's maps for the next, sparing allocations
// on the hot path of one small transaction after another.
func (d *Doc) recycle(txn *Transaction) {
	clear(txn.before)
	clear(txn.changed)
	txn.deleteSet = nil
	txn.deleteOrder = txn.deleteOrder[:0]
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
	txn.deleteSet.sortAndMerge()

	// Observer phase. Remote changes to formatted text need a clean-up of
	// redundant formatting, which runs as its own local transaction now and
	// is cleaned up after this one.
	if !txn.local {
		for b := range txn.changed {
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

	if d.gc {
		d.gcDeleteSet(txn.deleteSet)
	}
	d.mergeDeleteSet(txn.deleteSet)

	for client, beforeClock := range txn.before {
		structs := s.clients[client]
		if s.state(client) == beforeClock {
			continue
		}
		first := max(findIndex(structs, beforeClock), 1)
		for i := len(structs) - 1; i >= first; {
			i -= 1 + d.mergeWithLefts(client, i)
			structs = s.clients[client]
		}
	}
	for i := len(txn.mergeStructs) - 1; i >= 0; i-- {
		id := txn.mergeStructs[i].id
		structs := s.clients[id.Client]
		pos := findIndex(structs, id.Clock)
		if pos < 0 {
			continue
		}
		if pos+1 < len(structs) && d.mergeWithLefts(id.Client, pos+1) > 1 {
			continue
		}
		if pos > 0 {
			d.mergeWithLefts(id.Client, pos)
		}
	}

	if !txn.local {
		if before, ok := txn.before[d.clientID]; ok && s.state(d.clientID) != before {
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

// encodeTransaction encodes what txn changed as a v1 update.
func (d *Doc) encodeTransaction(txn *Transaction) []byte {
	e := lib0.NewEncoder(32)
	s := d.store
	clients := make([]uint64, 0, len(txn.before))
	for client, clock := range txn.before {
		if s.state(client) > clock {
			clients = append(clients, client)
		}
	}
	sortDesc(clients)
	e.WriteVarUint(uint64(len(clients)))
	for _, client := range clients {
		writeClientStructs(e, s.clients[client], client, txn.before[client])
	}
	txn.deleteSet.write(e)
	return e.Bytes()
}

// gcDeleteSet replaces the content of deleted items with their length.
func (d *Doc) gcDeleteSet(ds deleteSet) {
	s := d.store
	for client, ranges := range ds {
		for ri := len(ranges) - 1; ri >= 0; ri-- {
			r := ranges[ri]
			end := r.clock + r.len
			structs := s.clients[client]
			for si := findIndex(structs, r.clock); si >= 0 && si < len(structs); si++ {
				st := structs[si]
				if st.id.Clock >= end {
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
func (d *Doc) mergeDeleteSet(ds deleteSet) {
	s := d.store
	for client, ranges := range ds {
		for ri := len(ranges) - 1; ri >= 0; ri-- {
			r := ranges[ri]
			structs := s.clients[client]
			si := min(len(structs)-1, 1+findIndex(structs, r.clock+r.len-1))
			for si > 0 && s.clients[client][si].id.Clock >= r.clock {
				si -= 1 + d.mergeWithLefts(client, si)
			}
		}
	}
}

// mergeWithLefts merges structs[pos] into its left neighbours as far as
// possible and returns how many structs were merged away.
func (d *Doc) mergeWithLefts(client uint64, pos int) int {
	structs := d.store.clients[client]
	right := structs[pos]
	i := pos
	for ; i > 0; i-- {
		left := structs[i-1]
		if left.deleted() != right.deleted() || left.isGC() != right.isGC() || !left.mergeWith(right) {
			break
		}
		if !right.isGC() && right.hasParentSub() && right.parent.mapItems[right.parentSub] == right {
			right.parent.mapItems[right.parentSub] = left
		}
		right = left
	}
	merged := pos - i
	if merged > 0 {
		d.store.clients[client] = append(structs[:pos+1-merged], structs[pos+1:]...)
		clear(structs[len(structs)-merged:])
	}
	return merged
}
