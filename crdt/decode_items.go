package crdt

import (
	"encoding/binary"
	"unsafe"

	"github.com/quirehq/quire/crdt/lib0"
)

// The decoding of a document load's usual items, the bulk of its work.

// maxArenaString is the longest string carved from an arena chunk; a
// longer one gets an allocation of its own.
const maxArenaString = 256

// minFastItemInput is the unread input readItemsFast needs: its header
// fields (info, two IDs, a length: at most 19 bytes) are each read with
// one eight-byte load.
const minFastItemInput = 32

// readItemsFast decodes the usual structs of a document's update from b,
// the unread input, into the zero items of slab, one after the other from
// clock on, for as long as each is an item with a left origin, maybe a
// right origin, no parent named and no map key, both origins of the
// block's own client, holding ASCII text or deleted content, with at least
// minFastItemInput bytes of input left. It returns how many structs it
// decoded, the bytes they took and the clock after them. It stops at
// anything else, malformed input included, without writing that item: the
// caller decodes it with readStructInto, which gives the error.
//
// On amd64 an assembly loop does the work (decode_items_amd64.s);
// readItemsGo, the same loop in Go, serves elsewhere and is what the
// assembly is checked against.
func (ar *decodeArena) readItemsFast(b []byte, slab []Item, clock uint64) (count, taken int, next uint64) {
	if haveItemsAsm {
		return ar.readItemsAsm(b, slab, clock)
	}
	return ar.readItemsGo(b, slab, clock)
}

// readItemsGo is readItemsFast in Go. The bulk of a document load is this
// loop, so it makes no call: every header field is read from one
// eight-byte load, and a string is checked and copied to the arena in
// words. (A call would cost more than the
// copy: every value the loop keeps in a register is saved before it and
// loaded again after it.) A string the arena's chunk has no room for, or
// longer than maxArenaString, ends the loop; readStructInto takes it. The
// loads go through word8, without bounds checks, each covered by a check
// of its own: the header's by the minFastItemInput bytes the loop
// requires, a string's by the room its copy requires.
func (ar *decodeArena) readItemsGo(b []byte, slab []Item, clock uint64) (count, taken int, next uint64) {
	if ar.client>>32 != 0 {
		return 0, 0, clock
	}
	c := uint32(ar.client)
	prefix := ar.clientPrefix
	k := prefix.Len() // (an ID is the client's k bytes, then its clock)
	if k == 0 {
		return 0, 0, clock
	}
	in := unsafe.Pointer(unsafe.SliceData(b))
	p := 0
	for count < len(slab) && len(b)-p >= minFastItemInput && clock>>32 == 0 {
		// The header: an info byte, two IDs of at most k+3 bytes (k is at
		// most 8) and a length, read from words that end within the 32
		// bytes checked (the last at p+1+2*(8+3)+8 at most).
		q := p
		info := *(*byte)(unsafe.Add(in, q))
		kind := info & 0x1f
		if info&0xa0 != 0x80 || (kind != refString && kind != refDeleted) {
			break
		}
		o, n, ok := lib0.VarUint3(word8(in, q+1+k))
		if !prefix.Matches(word8(in, q+1)) || !ok || o >= clock {
			break
		}
		q += 1 + k + n
		flags := flagOrigin
		var right packedID
		if info&0x40 != 0 {
			r, n, ok := lib0.VarUint3(word8(in, q+k))
			if !prefix.Matches(word8(in, q)) || !ok || r >= clock {
				break
			}
			q += k + n
			right = packedID{c, uint32(r)}
			flags |= flagRightOrigin
		}
		// The length: one or two bytes (below 16384) here.
		w := word8(in, q)
		length := w & 0xff
		q++
		if length >= 0x80 {
			if w&0x8000 != 0 {
				break
			}
			length = length&0x7f | w>>1&(0x7f<<7)
			q++
		}
		if length == 0 {
			break
		}
		var text unsafe.Pointer
		if kind == refString {
			// Copied to the arena in blocks of 16 bytes, read whole from
			// the input: the input and the arena must both have room for
			// every block. The last block's mask keeps the string's bytes
			// for the ASCII check; what the copy writes past the string is
			// free space the next string overwrites.
			n, a := int(length), len(ar.bytes)
			span := (n + 15) &^ 15
			if n > maxArenaString || len(b)-q < span || cap(ar.bytes)-a < span {
				break
			}
			dst := unsafe.Add(unsafe.Pointer(unsafe.SliceData(ar.bytes)), a)
			var high uint64
			j := 0
			for ; j+16 < n; j += 16 {
				w0, w1 := word8(in, q+j), word8(in, q+j+8)
				high |= w0 | w1
				putWord8(dst, j, w0)
				putWord8(dst, j+8, w1)
			}
			w0, w1 := word8(in, q+j), word8(in, q+j+8)
			bits := uint64(8 * (n - j)) // (8 to 128)
			m0 := ^uint64(0) >> (64 - min(bits, 64))
			m1 := ^uint64(0) >> (128 - bits) // (0 for a shift of 64 or more)
			if (high|w0&m0|w1&m1)&0x8080808080808080 != 0 {
				break
			}
			putWord8(dst, j, w0)
			putWord8(dst, j+8, w1)
			ar.bytes = ar.bytes[:a+n]
			text = dst
			q += n
			flags |= flagCountable
		}
		// (The item is zero, fresh from the slab: field by field is cheaper
		// than a copy of a whole Item.)
		it := &slab[count]
		it.cptr = text
		it.origin, it.rightOrigin = packedID{c, uint32(o)}, right
		it.client, it.clock, it.len32 = c, uint32(clock), uint32(length)
		it.info, it.ckind = flags, kind
		clock += length
		count++
		p = q
	}
	return count, p, clock
}

// word8 returns the eight bytes at p+i as a little-endian integer, with
// no bounds check: the caller checked that they are there.
func word8(p unsafe.Pointer, i int) uint64 {
	return binary.LittleEndian.Uint64((*[8]byte)(unsafe.Add(p, i))[:])
}

// putWord8 stores v at p+i as eight little-endian bytes, with no bounds
// check: the caller checked that they are there.
func putWord8(p unsafe.Pointer, i int, v uint64) {
	binary.LittleEndian.PutUint64((*[8]byte)(unsafe.Add(p, i))[:], v)
}
