//go:build amd64 && !purego

package crdt

import "unsafe"

// haveItemsAsm says whether readItemsAsm has an assembly loop behind it.
const haveItemsAsm = true

// decodeItemsAMD64 is readItemsGo's loop in assembly (decode_items_amd64.s)
// over in[:inLen], into items[:n], with the client's ID prefix as mask and
// word (k bytes), and the arena chunk arena[arenaLen:arenaCap] for the
// strings. It writes no pointer: an item's text pointer stays nil, and
// readItemsAsm sets it (a pointer written from assembly would bypass the
// garbage collector's write barrier). It returns the items decoded, the
// input taken, the clock after them and the arena's new length.
//
//go:noescape
func decodeItemsAMD64(in *byte, inLen int, items *Item, n int, clock uint64, client uint64, k int, mask, word uint64, arena *byte, arenaLen, arenaCap int) (count, taken int, next uint64, arenaEnd int)

// maxAsmBatch bounds the items of one call to the assembly loop, which
// cannot be preempted: a few hundred microseconds at most.
const maxAsmBatch = 4096

// readItemsAsm is readItemsFast through decodeItemsAMD64.
func (ar *decodeArena) readItemsAsm(b []byte, slab []Item, clock uint64) (count, taken int, next uint64) {
	k := ar.clientPrefix.Len()
	if ar.client>>32 != 0 || k == 0 {
		return 0, 0, clock
	}
	mask, word := ar.clientPrefix.Parts()
	for count < len(slab) {
		batch := slab[count:min(len(slab), count+maxAsmBatch)]
		in := b[taken:]
		if len(in) < minFastItemInput {
			break
		}
		a := len(ar.bytes)
		arena := unsafe.SliceData(ar.bytes)
		n, used, nextClock, end := decodeItemsAMD64(unsafe.SliceData(in), len(in), &batch[0], len(batch), clock,
			ar.client, k, mask, word, arena, a, cap(ar.bytes))
		// The strings lie in the arena one after the other, in item order.
		for i := range batch[:n] {
			if it := &batch[i]; it.ckind == refString {
				it.cptr = unsafe.Add(unsafe.Pointer(arena), a)
				a += int(it.len32)
			}
		}
		ar.bytes = ar.bytes[:end]
		count, taken, clock = count+n, taken+used, nextClock
		if n < len(batch) {
			break
		}
	}
	return count, taken, clock
}
