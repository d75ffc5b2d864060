package crdt

import (
	"math"
	"math/bits"
)

// A document load applies one update that holds a whole document: tens of
// thousands of structs of one client, each linked right behind its origin.
// This file holds what makes that case cheap: a clock directory that
// finds an origin in a step or two instead of a search, and a linking loop
// that keeps the client's list, delete ranges and current type in locals
// instead of looking them up again for every struct.

// Test hooks: with linkSlabOff set, loads take the general path for every
// struct; linkedHook, when set, learns how many structs each linkSlab call
// linked.
var (
	linkSlabOff bool
	linkedHook  func(n int)
)

// clockDir maps clocks to struct indexes for a list in slab mode, built
// over the decoded block the list is a prefix of. Entry k is the index of
// the struct holding clock base + k<<shift; the buckets are about half as
// long as the block's average struct, so a lookup steps over one or two
// structs from there. A split or merge ends slab mode and the directory
// with it (materialize); the transaction that built it drops it too
// (recycle), so that a loaded document does not keep it.
type clockDir struct {
	base  uint64
	shift uint
	idx   []int32
}

// minDirStructs is the block size from which a load builds a directory:
// below it a search is short anyway.
const minDirStructs = 128

// newClockDir builds the directory of slab, whose structs are contiguous in
// clock order (a decoded block). It returns nil for a small slab.
func newClockDir(slab []Item) *clockDir {
	n := len(slab)
	if n < minDirStructs || n > math.MaxInt32 {
		return nil
	}
	base := slab[0].startClock()
	span := slab[n-1].end() - base
	// 1<<shift > span/2n: fewer than 2n entries, buckets of about half an
	// average struct, so that a lookup mostly lands on its struct or the
	// next (guess); longer buckets sent a quarter of lookups to find.
	shift := uint(max(bits.Len64(span/uint64(n)), 1) - 1)
	dir := &clockDir{base: base, shift: shift, idx: getDirIndex(int((span-1)>>shift + 1))}
	k := uint64(0)
	for i := range slab {
		end := slab[i].end() - base
		for ; k<<shift < end; k++ {
			dir.idx[k] = int32(i)
		}
	}
	return dir
}

// find returns the index of the struct of l holding clock, or -1 when the
// directory cannot tell (clock outside l). l is in slab mode over the
// block the directory was built for.
func (dir *clockDir) find(l *structList, clock uint64) int {
	k := (clock - dir.base) >> dir.shift
	hi := len(l.slab) - 1
	if clock < dir.base || k >= uint64(len(dir.idx)) || hi < 0 || clock >= l.slab[hi].end() {
		return -1
	}
	i := int(dir.idx[k])
	for range 4 {
		if i >= hi || l.slab[i+1].startClock() > clock {
			return i
		}
		i++
	}
	// Many short structs in one bucket: bisect up to the next bucket's.
	if k+1 < uint64(len(dir.idx)) {
		hi = min(hi, int(dir.idx[k+1]))
	}
	return searchClocks(l, i, hi, clock)
}

// guess returns the index of the struct of linked holding clock when it
// is the one its bucket names or the next, and -1 otherwise (find then
// tells). linked is the prefix of the block that the list holds. Small
// enough to be inlined: the loop calling it keeps its registers.
func (dir *clockDir) guess(linked []Item, clock uint64) int {
	k := (clock - dir.base) >> dir.shift
	if clock < dir.base || k >= uint64(len(dir.idx)) {
		return -1
	}
	// linked[i] starts at or before clock: the directory says so. So does
	// the next, when clock is past linked[i].
	i := int(dir.idx[k])
	for range 2 {
		if i >= len(linked) || linked[i].info&flagWideOwn != 0 {
			return -1
		}
		if clock < uint64(linked[i].clock)+uint64(linked[i].len32) {
			return i
		}
		i++
	}
	return -1
}

// linkSlab links slab[from:] into the document for as long as each struct
// goes right behind its origin with nothing to resolve (integrateInOrder's
// case), and returns the index of the first struct it did not link: the
// general path takes that one. l is the list of the slab's client, in slab
// mode over slab[:from] with a directory, from >= 1.
//
// It does what integrateInOrder, add and integrateContent do per struct,
// with the client's list, its delete ranges and the current type held
// across structs.
func (s *structStore) linkSlab(txn *Transaction, l *structList, client uint64, slab []Item, from int) int {
	local := slab[from-1].end()
	var rs []idRange // client's delete ranges, while taken
	took := false
	var lastP *branch
	i := from
	for ; i < len(slab); i++ {
		it := &slab[i]
		const mask = flagOrigin | flagGC | flagSkip | flagParentSub | flagRare | flagScratch | flagWideOwn | flagWideOrigins
		if it.info&mask != flagOrigin || uint64(it.clock) != local {
			break
		}
		o := it.origin
		ol := l
		var left *Item
		if uint64(o.client) == client && uint64(o.clock) == local-1 {
			left = &slab[i-1] // (typing: right behind the previous struct)
		} else if uint64(o.client) == client {
			k := l.dir.guess(slab[:i], uint64(o.clock))
			if k < 0 {
				l.slab = slab[:i]
				if k = l.dir.find(l, uint64(o.clock)); k < 0 {
					break
				}
			}
			left = &slab[k]
		} else {
			ol = s.list(uint64(o.client))
			k := findIndex(ol, uint64(o.clock))
			if k < 0 {
				break
			}
			left = ol.at(k)
		}
		if left.info&(flagGC|flagParentSub) != 0 || left.end()-1 != uint64(o.clock) {
			break
		}
		right := left.right
		if it.info&flagRightOrigin == 0 {
			if right != nil {
				break
			}
		} else if right == nil || right.info&(flagGC|flagWideOwn) != 0 || right.client != it.rightOrigin.client || right.clock != it.rightOrigin.clock {
			break
		}
		p := ol.parentAt(left.startClock())
		if p != lastP || p == nil {
			// (Checked once per run of structs in one type: nothing
			// here deletes a type.)
			if p == nil || (p.item != nil && p.item.deleted()) {
				break
			}
			l.noteParent(uint64(it.clock), p)
			txn.addChanged(p)
			lastP = p
		}
		it.linkBetween(left, right, p)
		local += uint64(it.len32)
		switch it.ckind {
		case refString:
		case refDeleted:
			it.info |= flagDeleted
			if !took {
				rs, took = txn.takeDeletes(client), true
			}
			c, n := uint64(it.clock), uint64(it.len32)
			if k := len(rs); k > 0 && rs[k-1].clock+rs[k-1].len == c {
				rs[k-1].len += n
			} else {
				rs = append(rs, idRange{c, n})
			}
		default:
			if took {
				txn.putDeletes(client, rs)
				took = false
			}
			l.slab = slab[:i+1]
			it.integrateContent(txn)
		}
	}
	l.slab = slab[:i] // (the list holds what is linked, and only that)
	if took {
		txn.putDeletes(client, rs)
	}
	if linkedHook != nil {
		linkedHook(i - from)
	}
	return i
}
