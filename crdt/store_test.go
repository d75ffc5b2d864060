package crdt

import (
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/quirehq/quire/crdt/lib0"
)

// TestFindIndexAgainstScan checks findIndex and findIndexNear against a
// linear scan on random struct lists: lengths even and wildly uneven (the
// interpolation's worst case), lists with and without a gap in the buffer,
// hints left anywhere by earlier searches, lists in slab mode and lists
// that left it, and clocks inside, at the edges of and beyond the
// structs.
func TestFindIndexAgainstScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 300 {
		n := 1 + rng.IntN(3000)
		l := &structList{}
		// Rounds 2 and 3 of every four build the list in slab mode, as a
		// load does; round 3's gap then gives it its slots.
		slabMode := round%4 >= 2
		var slab []Item
		if slabMode {
			slab = make([]Item, n)
			l.slab = slab[:0]
		}
		var clock uint64
		for i := range n {
			length := 1 + rng.IntN(4)
			switch round % 3 {
			case 1: // uneven: mostly short, now and then huge
				if rng.IntN(50) == 0 {
					length = 1 + rng.IntN(1<<20)
				}
			case 2: // a few giant structs early, then short ones
				if clock < 1<<24 && rng.IntN(4) == 0 {
					length = 1 << 22
				}
			}
			it := &Item{}
			if slabMode {
				it = &slab[i]
			}
			it.setOwn(ID{Client: 1, Clock: clock}, length)
			l.push(it)
			clock += uint64(length)
		}
		if slabMode && (l.slab == nil || l.a != nil) {
			t.Fatalf("round %d: pushing the slab's items in order left slab mode", round)
		}
		if round%2 == 1 && n > 2 {
			// Open a gap: insert in the middle (a split, as it were) and
			// remove it again, leaving the buffer's gap somewhere.
			i := 1 + rng.IntN(n-1)
			it := l.at(i)
			extra := &Item{}
			extra.setOwn(it.id(), 0)
			l.insert(i, extra)
			l.remove(i, 1)
			if l.slab != nil || l.len() != n || (slabMode && l.at(i) != &slab[i]) {
				t.Fatalf("round %d: after an insert and a remove: slab mode %v, %d structs, want %d in slots", round, l.slab != nil, l.len(), n)
			}
		}
		scan := func(c uint64) int {
			for i := range l.len() {
				it := l.at(i)
				if c >= it.startClock() && c < it.startClock()+uint64(it.length()) {
					return i
				}
			}
			return -1
		}
		for range 200 {
			c := rng.Uint64N(clock + 3)
			if rng.IntN(8) == 0 {
				l.hint = rng.IntN(l.len() + 2)
			}
			want := scan(c)
			if got := findIndex(l, c); got != want {
				t.Fatalf("round %d (%d structs, gap %d+%d): findIndex(%d) = %d, want %d", round, l.len(), l.gap, l.gapLen, c, got, want)
			}
			from := rng.IntN(l.len()+4) - 2
			if want >= 0 {
				if got := findIndexNear(l, c, from); got != want {
					t.Fatalf("round %d: findIndexNear(%d, from %d) = %d, want %d", round, c, from, got, want)
				}
			}
		}
	}
}

// TestTextBytes checks textBytes, which finds a non-ASCII item's byte
// length from its length in units, against the bytes of random strings of
// ASCII, two-, three- and four-byte runes, at every rune boundary.
func TestTextBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	runes := []rune{'a', 'Z', ' ', 'é', 'ß', 'ж', '€', '日', '語', '😀', '𝄞'}
	for range 500 {
		var s []rune
		for range rng.IntN(40) {
			if rng.IntN(3) == 0 {
				for range rng.IntN(20) {
					s = append(s, 'x') // ASCII runs, read eight at a time
				}
			}
			s = append(s, runes[rng.IntN(len(runes))])
		}
		str := string(s)
		for i := 0; i <= len(s); i++ {
			prefix := string(s[:i])
			units := lib0.UTF16Len(prefix)
			if len(str) == 0 {
				continue
			}
			if got := textBytes(unsafe.StringData(str), units); got != len(prefix) {
				t.Fatalf("%q: %d units: %d bytes, want %d", str, units, got, len(prefix))
			}
		}
	}
}

// TestItemSize guards the Item's size: a loaded document is mostly Items,
// so a field more is a seventh more memory.
func TestItemSize(t *testing.T) {
	if got := unsafe.Sizeof(Item{}); got != 56 {
		t.Fatalf("an Item is %d bytes, want 56", got)
	}
}

// TestParentRuns checks the store's parent runs (an Item has no parent
// field) on a client that keeps switching types: two root texts, a root
// map with nested texts, deletes, splits and merges. After every
// transaction each item of every type must map back to that type, in the
// editing document, in a replica fed the updates one by one, and in a
// document loaded from the whole state (whose lists start in slab mode);
// the three must encode the same bytes.
func TestParentRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	d := NewDoc(Options{ClientID: 7})
	replica := NewDoc(Options{ClientID: 8})
	var updates [][]byte
	d.OnUpdate(func(u []byte, _ any) { updates = append(updates, u) })
	a, _ := d.Text("a")
	b, _ := d.Text("b")
	m, _ := d.Map("m")
	var nested []*Text
	edit := func(txn *Transaction, x *Text) {
		if n := x.Len(); n > 0 && rng.IntN(3) == 0 {
			i := rng.IntN(n)
			if err := x.Delete(txn, i, 1+rng.IntN(min(n-i, 4))); err != nil {
				t.Fatal(err)
			}
			return
		}
		if err := x.Insert(txn, rng.IntN(x.Len()+1), "xyz"[:1+rng.IntN(3)], nil); err != nil {
			t.Fatal(err)
		}
	}
	for step := range 400 {
		d.Transact(nil, func(txn *Transaction) {
			for range 1 + rng.IntN(3) {
				switch k := rng.IntN(10); {
				case k < 3:
					edit(txn, a)
				case k < 6:
					edit(txn, b)
				case k < 7:
					v, err := m.Set(txn, string(rune('p'+rng.IntN(4))), NewType{Kind: KindText})
					if err != nil {
						t.Fatal(err)
					}
					nested = append(nested, v.(*Text))
				case len(nested) > 0:
					x := nested[rng.IntN(len(nested))]
					if x.b.checkAlive() == nil {
						edit(txn, x)
					}
				}
			}
		})
		for _, u := range updates {
			if err := replica.ApplyUpdate(u, nil); err != nil {
				t.Fatal(err)
			}
		}
		updates = updates[:0]
		if step%50 != 49 {
			continue
		}
		state := d.EncodeStateAsUpdate()
		loaded := NewDoc(Options{ClientID: 9})
		if err := loaded.ApplyUpdate(state, nil); err != nil {
			t.Fatal(err)
		}
		for _, doc := range []*Doc{d, replica, loaded} {
			checkParentRuns(t, doc)
			if got := doc.EncodeStateAsUpdate(); string(got) != string(state) {
				t.Fatalf("step %d: client %d encodes a different state", step, doc.clientID)
			}
		}
		if l := d.store.list(7); len(l.parents) < 2 {
			t.Fatalf("step %d: %d parent runs: the test no longer switches types", step, len(l.parents))
		}
	}
}

// checkParentRuns fails unless every item reachable from d's root types
// maps back to the type holding it.
func checkParentRuns(t *testing.T, d *Doc) {
	t.Helper()
	var walk func(b *branch)
	check := func(b *branch, it *Item) {
		if it.isGC() {
			return
		}
		if p := d.store.parentOf(it); p != b {
			t.Fatalf("client %d: item %v is in %p, parentOf says %p", d.clientID, it.id(), b, p)
		}
		if it.ckind == refType && !it.deleted() {
			walk(it.content().(*contentType).b)
		}
	}
	walk = func(b *branch) {
		for it := b.start; it != nil; it = it.right {
			check(b, it)
		}
		for _, it := range b.mapItems {
			for ; it != nil; it = it.left {
				check(b, it)
			}
		}
	}
	for _, b := range d.roots {
		walk(b)
	}
}
