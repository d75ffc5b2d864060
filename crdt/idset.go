package crdt

import (
	"encoding/binary"
	"slices"

	"github.com/quirehq/quire/crdt/lib0"
)

// idRange is a run of clocks [clock, clock+len).
type idRange struct {
	clock, len uint64
}

// deleteSet records deleted ranges per client. Ranges are appended in any
// order and normalised (sorted, overlaps merged) by sortAndMerge.
type deleteSet map[uint64][]idRange

func (ds *deleteSet) add(client, clock, length uint64) {
	if *ds == nil {
		*ds = make(deleteSet)
	}
	rs := (*ds)[client]
	// Fast path for the common case of extending the last range.
	if n := len(rs); n > 0 && rs[n-1].clock+rs[n-1].len == clock {
		rs[n-1].len += length
		return
	}
	(*ds)[client] = append(rs, idRange{clock, length})
}

// sortAndMerge sorts every client's ranges and merges overlapping or
// adjacent ones.
func (ds deleteSet) sortAndMerge() {
	for client := range ds {
		ds.sortAndMergeClient(client)
	}
}

// sortAndMergeClients is sortAndMerge for the listed clients only.
func (ds deleteSet) sortAndMergeClients(clients []uint64) {
	for _, client := range clients {
		ds.sortAndMergeClient(client)
	}
}

func (ds deleteSet) sortAndMergeClient(client uint64) {
	rs := ds[client]
	if len(rs) > 1 && !normalized(rs) {
		{
			slices.SortFunc(rs, func(a, b idRange) int {
				switch {
				case a.clock < b.clock:
					return -1
				case a.clock > b.clock:
					return 1
				}
				return 0
			})
			j := 1
			for i := 1; i < len(rs); i++ {
				l, r := &rs[j-1], rs[i]
				if l.clock+l.len >= r.clock {
					if end := r.clock + r.len; end > l.clock+l.len {
						l.len = end - l.clock
					}
				} else {
					rs[j] = r
					j++
				}
			}
			ds[client] = rs[:j]
		}
	}
}

// normalized reports whether rs is sorted with gaps between its ranges,
// as sortAndMergeClient leaves it: a load records its ranges so.
func normalized(rs []idRange) bool {
	for i := 1; i < len(rs); i++ {
		if rs[i-1].clock+rs[i-1].len >= rs[i].clock {
			return false
		}
	}
	return true
}

// contains reports whether id lies in a deleted range. The set must be
// sorted.
func (ds deleteSet) contains(id ID) bool {
	rs := ds[id.Client]
	lo, hi := 0, len(rs)-1
	for lo <= hi {
		m := int(uint(lo+hi) >> 1)
		r := rs[m]
		if r.clock <= id.Clock {
			if id.Clock < r.clock+r.len {
				return true
			}
			lo = m + 1
		} else {
			hi = m - 1
		}
	}
	return false
}

// merge adds all ranges of other.
func (ds *deleteSet) merge(other deleteSet) {
	for client, rs := range other {
		for _, r := range rs {
			ds.add(client, r.clock, r.len)
		}
	}
}

// sortedClientsDesc returns the clients with ranges, highest first: the
// order Yjs writes them in.
func sortedClientsDesc[V any](m map[uint64]V) []uint64 {
	cs := make([]uint64, 0, len(m))
	for c := range m {
		cs = append(cs, c)
	}
	slices.Sort(cs)
	slices.Reverse(cs)
	return cs
}

// write encodes the (sorted) delete set in update format v1.
func (ds deleteSet) write(e *lib0.Encoder) {
	n := 0
	for _, rs := range ds {
		if len(rs) > 0 {
			n++
		}
	}
	e.WriteVarUint(uint64(n))
	for _, client := range sortedClientsDesc(ds) {
		rs := ds[client]
		if len(rs) == 0 {
			continue
		}
		e.WriteVarUint(client)
		e.WriteVarUint(uint64(len(rs)))
		for _, r := range rs {
			e.WriteVarUint(r.clock)
			e.WriteVarUint(r.len)
		}
	}
}

// writeClients writes the (sorted) delete set of the listed clients, which
// must include every client with ranges, in update format v1. scratch is
// used to sort them and returned for reuse.
func (ds deleteSet) writeClients(e *lib0.Encoder, clients []uint64, scratch []uint64) []uint64 {
	cs := scratch[:0]
	for _, c := range clients {
		if len(ds[c]) > 0 {
			cs = append(cs, c)
		}
	}
	if len(cs) > 1 {
		sortDesc(cs)
	}
	e.WriteVarUint(uint64(len(cs)))
	for _, client := range cs {
		rs := ds[client]
		e.WriteVarUint(client)
		e.WriteVarUint(uint64(len(rs)))
		for _, r := range rs {
			e.WriteVarUint(r.clock)
			e.WriteVarUint(r.len)
		}
	}
	return cs
}

// readDeleteSet decodes a v1 delete set.
func readDeleteSet(d *lib0.Decoder) (deleteSet, error) {
	n, err := d.ReadVarUint()
	if err != nil {
		return nil, err
	}
	return readDeleteSetClients(d, n)
}

// readDeleteSetInto decodes the delete set of an update into u: a delete
// set of one client goes to u.dsClient/u.dsRanges without a map.
func readDeleteSetInto(d *lib0.Decoder, u *decodedUpdate) error {
	n, err := d.ReadVarUint()
	if err != nil {
		return err
	}
	if n == 1 && n <= uint64(d.Remaining()) {
		client, rs, err := readDeleteRanges(d, false, u.dsBuf[:0], true)
		if err != nil {
			return err
		}
		u.dsOne, u.dsClient, u.dsRanges = true, client, rs
		return nil
	}
	u.ds, err = readDeleteSetClients(d, n)
	return err
}

// readDeleteSetClients decodes the n client entries of a v1 delete set.
func readDeleteSetClients(d *lib0.Decoder, n uint64) (deleteSet, error) {
	// Each client entry takes at least two bytes.
	if n > uint64(d.Remaining()) {
		return nil, lib0.ErrLengthExceedsInput
	}
	if n == 0 {
		return nil, nil
	}
	ds := make(deleteSet, n)
	for i := uint64(0); i < n; i++ {
		client, rs, err := readDeleteRanges(d, false, nil, false)
		if err != nil {
			return nil, err
		}
		ds[client] = append(ds[client], rs...)
	}
	return ds, nil
}

// readDeleteRanges decodes one client entry of a v1 delete set, dropping
// empty ranges unless keepEmpty (Yjs's byte-level helpers keep them). The
// ranges go to buf when they fit, else to a new slice, from rangePool
// when pooled is set (the caller gives it back).
func readDeleteRanges(d *lib0.Decoder, keepEmpty bool, buf []idRange, pooled bool) (uint64, []idRange, error) {
	client, err := d.ReadVarUint()
	if err != nil {
		return 0, nil, err
	}
	count, err := d.ReadVarUint()
	if err != nil {
		return 0, nil, err
	}
	if count > uint64(d.Remaining())/2 {
		return 0, nil, lib0.ErrLengthExceedsInput
	}
	rs := buf[:0]
	if count > uint64(cap(buf)) {
		if pooled {
			rs = getRanges(int(count))
		} else {
			rs = make([]idRange, 0, count)
		}
	}
	for j := uint64(0); j < count; j++ {
		if b := d.Unread(); len(b) >= minFastRangeInput {
			var k, n int
			rs, k, n = readRangesFast(b, rs, int(min(count-j, uint64(len(b)))), keepEmpty)
			d.Advance(n)
			if j += uint64(k); j == count {
				break
			}
		}
		clock, err := d.ReadVarUint()
		if err != nil {
			return 0, nil, err
		}
		length, err := d.ReadVarUint()
		if err != nil {
			return 0, nil, err
		}
		if clock+length > maxClock {
			return 0, nil, errClockOverflow
		}
		if length > 0 || keepEmpty {
			rs = append(rs, idRange{clock, length})
		}
	}
	return client, rs, nil
}

// minFastRangeInput is the unread input readRangesFast needs: a range's
// clock and length are each read with one eight-byte load.
const minFastRangeInput = 16

// readRangesFast decodes up to count delete ranges from b, the unread
// input, onto rs for as long as both integers of a range take at most
// three bytes each (below 2^21: the clocks of nearly every document) and
// minFastRangeInput bytes are left. It returns rs, how many ranges it
// read and the bytes they took; the caller reads the rest one integer at
// a time, which also reports malformed input. A document's delete set has
// a range per run of deleted structs, thousands in a long-edited text.
func readRangesFast(b []byte, rs []idRange, count int, keepEmpty bool) ([]idRange, int, int) {
	p, j := 0, 0
	for ; j < count && len(b)-p >= minFastRangeInput; j++ {
		clock, n, ok := lib0.VarUint3(binary.LittleEndian.Uint64(b[p:]))
		if !ok {
			break
		}
		length, m, ok := lib0.VarUint3(binary.LittleEndian.Uint64(b[p+n:]))
		if !ok {
			break
		}
		p += n + m
		if length > 0 || keepEmpty {
			rs = append(rs, idRange{clock, length})
		}
	}
	return rs, j, p
}
