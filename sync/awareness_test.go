package sync

import (
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

func (c *testClient) awarenessOf(client uint64) (state string, clock uint64, present bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	state, present = c.awareness[client]
	return state, c.clocks[client], present
}

func (c *testClient) awarenessUpdates() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.awUpdates)
}

// updatesAbout counts the awareness updates received that mention client.
func (c *testClient) updatesAbout(client uint64) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, u := range c.awUpdates {
		if slices.ContainsFunc(u, func(e awarenessEntry) bool { return e.client == client }) {
			n++
		}
	}
	return n
}

func TestAwareness(t *testing.T) {
	h := newHarness(t, Options{})
	a, b := h.dial("doc"), h.dial("doc")
	waitFor(t, "both members", func() bool { return h.members("doc") == 2 })

	// Added: forwarded to the others, not echoed.
	a.write(awarenessMessage(awarenessEntry{client: 11, clock: 1, state: `{"user":"ann"}`}))
	waitFor(t, "b to see ann", func() bool { s, _, ok := b.awarenessOf(11); return ok && s == `{"user":"ann"}` })

	// A newcomer receives the present states on connect.
	c := h.dial("doc")
	waitFor(t, "c to see ann", func() bool { _, _, ok := c.awarenessOf(11); return ok })

	// An update with a clock that is not newer is dropped, not forwarded;
	// a newer one is.
	before := b.updatesAbout(11)
	a.write(awarenessMessage(awarenessEntry{client: 11, clock: 1, state: `{"user":"stale"}`}))
	a.write(awarenessMessage(awarenessEntry{client: 11, clock: 2, state: `{"user":"ann","cursor":3}`}))
	waitFor(t, "the newer state", func() bool { s, _, _ := b.awarenessOf(11); return s == `{"user":"ann","cursor":3}` })
	if n := b.updatesAbout(11) - before; n != 1 {
		t.Errorf("b received %d awareness updates, want 1 (the stale one dropped)", n)
	}

	// b's own client, then a query from c: every state.
	b.write(awarenessMessage(awarenessEntry{client: 22, clock: 5, state: `{"user":"bob"}`}))
	waitFor(t, "a to see bob", func() bool { _, _, ok := a.awarenessOf(22); return ok })
	waitFor(t, "c to see bob", func() bool { _, _, ok := c.awarenessOf(22); return ok })
	before = c.updatesAbout(22)
	c.write([]byte{messageQueryAwareness})
	waitFor(t, "the query's answer", func() bool { return c.updatesAbout(22) > before })
	c.with(func(c *testClient) {
		last := c.awUpdates[len(c.awUpdates)-1]
		got := []uint64{}
		for _, e := range last {
			got = append(got, e.client)
		}
		if !slices.Equal(got, []uint64{11, 22}) {
			t.Errorf("query answered with clients %v, want [11 22]", got)
		}
	})
	if _, _, ok := a.awarenessOf(11); ok {
		t.Error("a's own state was echoed to it")
	}

	// When a leaves, its client is removed everywhere: clock+1, state null.
	a.close()
	for _, other := range []*testClient{b, c} {
		waitFor(t, "ann's removal", func() bool {
			_, clock, ok := other.awarenessOf(11)
			return !ok && clock == 3
		})
	}
	if _, _, ok := c.awarenessOf(22); !ok {
		t.Error("bob was removed with ann")
	}

	// An explicit removal by its owner is forwarded too; a later newcomer
	// sees nobody, and a query is answered with zero clients.
	b.write(awarenessMessage(awarenessEntry{client: 22, clock: 6, state: "null"}))
	waitFor(t, "bob's removal", func() bool { _, clock, ok := c.awarenessOf(22); return !ok && clock == 6 })
	d := h.dial("doc")
	d.write([]byte{messageQueryAwareness})
	waitFor(t, "the query's answer", func() bool { return d.awarenessUpdates() == 1 })
	d.with(func(d *testClient) {
		if len(d.awUpdates[0]) != 0 {
			t.Errorf("newcomer got states %v", d.awUpdates[0])
		}
	})
}

func TestAwarenessTable(t *testing.T) {
	srv := &Server{log: slog.New(slog.DiscardHandler)}
	c1, c2 := newConn(srv, "doc", 1, ""), newConn(srv, "doc", 2, "")
	var a awarenessTable
	// Clock 0 is not newer than "unknown" (y-protocols ignores it too).
	if got := a.apply([]awarenessEntry{{client: 1, clock: 0, state: `{}`}}, c1); len(got) != 0 {
		t.Errorf("clock 0 accepted: %v", got)
	}
	a.apply([]awarenessEntry{{client: 1, clock: 1, state: `{"a":1}`}}, c1)
	// c2 updates c1's client (the client reconnected): c2 owns it now.
	a.apply([]awarenessEntry{{client: 1, clock: 2, state: `{"a":2}`}}, c2)
	if c1.awareness.has(1) {
		t.Error("the old connection still owns the state")
	}
	if got := a.removeOwned(c1); len(got) != 0 {
		t.Errorf("the old connection removed %v", got)
	}
	// Equal clock: only a removal of a present state wins.
	if got := a.apply([]awarenessEntry{{client: 1, clock: 2, state: `{"a":3}`}}, c1); len(got) != 0 {
		t.Errorf("equal clock update accepted: %v", got)
	}
	if got := a.apply([]awarenessEntry{{client: 1, clock: 2, state: nullState}}, c1); len(got) != 1 {
		t.Errorf("equal clock removal rejected")
	}
	if c2.awareness.has(1) {
		t.Error("removed client still owned")
	}
	// Re-added later by c2: now c2's.
	a.apply([]awarenessEntry{{client: 1, clock: 3, state: `{"a":4}`}}, c2)
	if got := a.removeOwned(c1); len(got) != 0 {
		t.Errorf("c1 removed %v", got)
	}
	got := a.removeOwned(c2)
	if len(got) != 1 || got[0] != (awarenessEntry{client: 1, clock: 4, state: nullState}) {
		t.Errorf("c2 removed %v", got)
	}
	if p := a.present(); len(p) != 0 {
		t.Errorf("present after removal: %v", p)
	}
}

func TestDecodeAwarenessUpdate(t *testing.T) {
	ok := encodeAwarenessUpdate([]awarenessEntry{{client: 7, clock: 2, state: ` null `}, {client: 8, clock: 1, state: `{"x":[1,2]}`}})
	entries, err := decodeAwarenessUpdate(ok)
	if err != nil {
		t.Fatal(err)
	}
	if entries[0].state != nullState || entries[1].state != `{"x":[1,2]}` {
		t.Errorf("decoded %v", entries)
	}
	for name, b := range map[string][]byte{
		"empty":           {},
		"count too large": {200, 1},
		"truncated":       ok[:len(ok)-2],
		"not JSON":        encodeAwarenessUpdate([]awarenessEntry{{client: 1, clock: 1, state: `{"x"`}}),
		"undefined":       encodeAwarenessUpdate([]awarenessEntry{{client: 1, clock: 1, state: `undefined`}}),
	} {
		if _, err := decodeAwarenessUpdate(b); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

// TestClientSet checks clientSet against a map under random operations on
// a few IDs, so that the inline first ID is removed and re-added while
// others are in the map.
func TestClientSet(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	for round := range 200 {
		var s clientSet
		want := map[uint64]struct{}{}
		for range 50 {
			id := rng.Uint64N(4)
			if rng.IntN(3) == 0 {
				s.remove(id)
				delete(want, id)
			} else {
				s.add(id)
				want[id] = struct{}{}
			}
			got := slices.Sorted(s.all())
			if exp := slices.Sorted(maps.Keys(want)); !slices.Equal(got, exp) || s.len() != len(exp) {
				t.Fatalf("round %d: set holds %v (len %d), want %v", round, got, s.len(), exp)
			}
			for id := range uint64(4) {
				if _, ok := want[id]; s.has(id) != ok {
					t.Fatalf("round %d: has(%d) = %v", round, id, !ok)
				}
			}
		}
	}
}
