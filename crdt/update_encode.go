package crdt

import (
	"slices"

	"github.com/quirehq/quire/crdt/lib0"
)

func sortDesc(xs []uint64) {
	if len(xs) < 2 {
		return
	}
	slices.Sort(xs)
	slices.Reverse(xs)
}

// writeClientStructs writes one client's structs from clock on: count,
// client, start clock, then the structs, the first one cut at clock.
func writeClientStructs(e *lib0.Encoder, l *structList, client, clock uint64) {
	clock = max(clock, l.at(0).startClock())
	start := findIndex(l, clock)
	e.WriteVarUint(uint64(l.len() - start))
	e.WriteVarUint(client)
	e.WriteVarUint(clock)
	first := l.at(start)
	first.write(e, int(clock-first.startClock()), l)
	if l.slab != nil {
		for i := start + 1; i < len(l.slab); i++ {
			l.slab[i].write(e, 0, l)
		}
		return
	}
	// The two segments of the gap buffer.
	if start+1 < l.gap {
		for _, st := range l.a[start+1 : l.gap] {
			st.write(e, 0, l)
		}
	}
	for _, st := range l.a[max(start+1, l.gap)+l.gapLen:] {
		st.write(e, 0, l)
	}
}

// EncodeStateAsUpdate encodes the whole document as one v1 update.
func (d *Doc) EncodeStateAsUpdate() []byte {
	return d.encodeDiff(nil)
}

// EncodeDiff encodes what a replica with state vector sv lacks: the
// structs it has not seen and the complete delete set. sv is a v1 encoded
// state vector; nil or empty means everything.
func (d *Doc) EncodeDiff(sv []byte) ([]byte, error) {
	var remote StateVector
	if len(sv) > 0 {
		var err error
		if remote, err = DecodeStateVector(sv); err != nil {
			return nil, err
		}
	}
	return d.encodeDiff(remote), nil
}

func (d *Doc) encodeDiff(remote StateVector) []byte {
	s := d.store
	// A fresh encoder sized from the last full encoding (or from the
	// struct count): the result is returned without a copy.
	hint := d.encodeHint
	if hint == 0 {
		for _, l := range s.clients {
			hint += 16 * l.len()
		}
	}
	e := lib0.NewEncoder(max(256, hint+hint/16))
	clients := make([]uint64, 0, len(s.clients))
	for client := range s.clients {
		if s.state(client) > remote[client] {
			clients = append(clients, client)
		}
	}
	sortDesc(clients)
	e.WriteVarUint(uint64(len(clients)))
	for _, client := range clients {
		writeClientStructs(e, s.clients[client], client, remote[client])
	}
	d.deleteSetOfStore().write(e)
	if len(s.pending) > 0 || len(s.pendingDeletes) > 0 {
		// Like Yjs, include what waits for missing dependencies: the
		// pending deletes and the pending structs remote lacks, merged
		// with the state by mergeUpdates.
		return encodeWithPending(e.Bytes(), s.pendingDeletes, s.pending, remote)
	}
	if remote == nil {
		d.encodeHint = e.Len()
	}
	return e.Bytes()
}

// deleteSetOfStore collects every deleted range in the store (GC structs
// included), merged per client.
func (d *Doc) deleteSetOfStore() deleteSet {
	ds := deleteSet{}
	for client, l := range d.store.clients {
		var rs []idRange
		n := l.len()
		for i := 0; i < n; i++ {
			st := l.at(i)
			if !st.deleted() {
				continue
			}
			clock := st.startClock()
			length := uint64(st.length())
			for i+1 < n && l.at(i+1).deleted() {
				i++
				length += uint64(l.at(i).length())
			}
			rs = append(rs, idRange{clock, length})
		}
		if len(rs) > 0 {
			ds[client] = rs
		}
	}
	return ds
}
