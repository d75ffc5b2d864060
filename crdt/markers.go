package crdt

// maxMarkers bounds the position cache of one type. Every local insert or
// delete updates all markers, so more markers cost more on each edit than
// the shorter walks they allow save (counted on automerge-paper and
// seph-blog1: 8 does better than 16 on both).
const maxMarkers = 8

// marker remembers that item p starts at visible index index.
type marker struct {
	p     *Item
	index int
	used  uint64
}

// markerCache speeds up index lookups in long sequences: typing happens
// near where the last edit happened, so a walk from a remembered position
// is short. It is only a cache; clearing it never changes a result.
// Sequences with formatting do not use it (as in Yjs), because a walk that
// starts mid-text would not know the attributes in force.
type markerCache struct {
	ms   []marker
	tick uint64
}

func (c *markerCache) clear() { c.ms = c.ms[:0] }

// find returns an item and its start index near index, to walk from.
func (c *markerCache) find(b *branch, index int) (*Item, int) {
	if b.start == nil || index == 0 || b.hasFormatting {
		return b.start, 0
	}
	best, bestDist := -1, 0
	for i := range c.ms {
		if d := abs(index - c.ms[i].index); best < 0 || d < bestDist {
			best, bestDist = i, d
		}
	}
	p, pindex := b.start, 0
	if best >= 0 {
		p, pindex = c.ms[best].p, c.ms[best].index
	}
	for p.right != nil && pindex < index {
		if p.visible() {
			n := p.length()
			if index < pindex+n {
				break
			}
			pindex += n
		}
		p = p.right
	}
	for p.left != nil && pindex > index {
		p = p.left
		if p.visible() {
			pindex -= p.length()
		}
	}
	c.tick++
	switch {
	case best >= 0 && abs(c.ms[best].index-pindex) < b.length/maxMarkers+1:
		c.ms[best] = marker{p: p, index: pindex, used: c.tick}
	case len(c.ms) < maxMarkers:
		c.ms = append(c.ms, marker{p: p, index: pindex, used: c.tick})
	default:
		oldest := 0
		for i := range c.ms {
			if c.ms[i].used < c.ms[oldest].used {
				oldest = i
			}
		}
		c.ms[oldest] = marker{p: p, index: pindex, used: c.tick}
	}
	return p, pindex
}

// update shifts markers after a local insert (length > 0) or delete
// (length < 0) at index.
func (c *markerCache) update(index, length int) {
	ms := c.ms[:0]
	for _, m := range c.ms {
		if length > 0 {
			// Move to a visible item so that "before or after the
			// insertion" is well defined.
			p := m.p
			for p != nil && !p.visible() {
				p = p.left
				if p != nil && p.visible() {
					m.index -= p.length()
				}
			}
			if p == nil {
				continue
			}
			m.p = p
		}
		if index < m.index || (length > 0 && index == m.index) {
			m.index = max(index, m.index+length)
		}
		ms = append(ms, m)
	}
	c.ms = ms
}

// replaced re-points markers at an item merged into its left neighbour.
func (c *markerCache) replaced(right, left *Item) {
	for i := range c.ms {
		if c.ms[i].p == right {
			c.ms[i].p = left
			if left.visible() {
				c.ms[i].index -= left.length()
			}
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
