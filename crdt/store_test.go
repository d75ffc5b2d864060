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
// hints left anywhere by earlier searches, and clocks inside, at the
// edges of and beyond the structs.
func TestFindIndexAgainstScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 300 {
		n := 1 + rng.IntN(3000)
		l := &structList{}
		var clock uint64
		for range n {
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
			it.setOwn(ID{Client: 1, Clock: clock}, length)
			l.push(it)
			clock += uint64(length)
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
