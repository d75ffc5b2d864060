package crdt

import (
	"math/rand/v2"
	"testing"
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
			l.push(&Item{id: ID{Client: 1, Clock: clock}, length: length})
			clock += uint64(length)
		}
		if round%2 == 1 && n > 2 {
			// Open a gap: insert in the middle (a split, as it were) and
			// remove it again, leaving the buffer's gap somewhere.
			i := 1 + rng.IntN(n-1)
			it := l.at(i)
			l.insert(i, &Item{id: it.id, length: 0})
			l.remove(i, 1)
		}
		scan := func(c uint64) int {
			for i := range l.len() {
				it := l.at(i)
				if c >= it.id.Clock && c < it.id.Clock+uint64(it.length) {
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
