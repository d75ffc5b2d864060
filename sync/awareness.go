package sync

import (
	"cmp"
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/quirehq/quire/crdt/lib0"
)

// Awareness is y-protocols' presence channel (cursors, user names): each
// client ID has a JSON state and a clock that its owner increments on every
// change. An awareness update is a varuint count followed, per client, by
// varuint client ID, varuint clock and a varstring JSON state; the state
// "null" says the client is gone. The server keeps the room's table so that
// newcomers see who is there, and removes the states a connection
// controlled when it ends, which the client cannot do itself.

// maxClock is the largest clock a JavaScript peer reads exactly (2^53-1);
// removal never increments past it.
const maxClock = 1<<53 - 1

// nullState is the JSON of a removed client's state.
const nullState = "null"

// awarenessEntry is one client of an awareness update.
type awarenessEntry struct {
	client uint64
	clock  uint64
	state  string // JSON; nullState for a removed client
}

// awarenessClient is what the room knows of one client ID. Like
// y-protocols' meta map, a removed client keeps its clock, so that a
// delayed update with an older clock cannot bring it back; the table lives
// as long as the room.
type awarenessClient struct {
	clock   uint64
	state   string // valid only while present
	present bool
	owner   *conn // the connection that last set the state; removes it when it ends
}

// awarenessTable is a room's awareness, guarded by the room's mutex (as are
// the conns' owned sets it updates).
type awarenessTable struct {
	clients map[uint64]*awarenessClient
}

// apply merges entries received from conn from with y-protocols' rule: an
// entry wins if its clock is higher than the known one, or equal and
// removing a present state. It returns the entries that won, which are
// what the other members must hear. A state set by from is owned by it.
func (a *awarenessTable) apply(entries []awarenessEntry, from *conn) []awarenessEntry {
	var changed []awarenessEntry
	for _, e := range entries {
		cur := a.clients[e.client]
		var clock uint64
		if cur != nil {
			clock = cur.clock
		}
		removal := e.state == nullState
		if !(clock < e.clock || (clock == e.clock && removal && cur != nil && cur.present)) {
			continue
		}
		if cur == nil {
			if a.clients == nil {
				a.clients = make(map[uint64]*awarenessClient)
			}
			cur = &awarenessClient{}
			a.clients[e.client] = cur
		}
		cur.clock = e.clock
		if removal {
			a.drop(e.client, cur)
		} else {
			if cur.owner != from {
				// A state belongs to the connection that last set it:
				// y-websocket sends its own client's state only, and a
				// client that reconnected before the server noticed its
				// old socket died must not lose its state when that
				// socket is finally dropped.
				if cur.owner != nil {
					cur.owner.awareness.remove(e.client)
				}
				cur.owner = from
				from.awareness.add(e.client)
			}
			cur.present, cur.state = true, e.state
		}
		changed = append(changed, awarenessEntry{client: e.client, clock: cur.clock, state: e.state})
	}
	return changed
}

// drop forgets client's state (keeping its clock) and its owner's claim.
func (a *awarenessTable) drop(client uint64, cur *awarenessClient) {
	if cur.owner != nil {
		cur.owner.awareness.remove(client)
	}
	cur.present, cur.state, cur.owner = false, "", nil
}

// removeOwned removes the states c controls, as its peers must be told when
// it is gone: each with its clock incremented and state null, so that every
// receiver accepts the removal whatever it holds.
func (a *awarenessTable) removeOwned(c *conn) []awarenessEntry {
	var removed []awarenessEntry
	for client := range c.awareness.all() {
		cur := a.clients[client]
		if cur == nil || !cur.present || cur.owner != c {
			continue
		}
		a.drop(client, cur)
		if cur.clock < maxClock {
			cur.clock++
		}
		removed = append(removed, awarenessEntry{client: client, clock: cur.clock, state: nullState})
	}
	c.awareness = clientSet{}
	return sortEntries(removed)
}

// present returns every present state, ordered by client ID.
func (a *awarenessTable) present() []awarenessEntry {
	var states []awarenessEntry
	for client, cur := range a.clients {
		if cur.present {
			states = append(states, awarenessEntry{client: client, clock: cur.clock, state: cur.state})
		}
	}
	return sortEntries(states)
}

func sortEntries(es []awarenessEntry) []awarenessEntry {
	slices.SortFunc(es, func(a, b awarenessEntry) int { return cmp.Compare(a.client, b.client) })
	return es
}

// decodeAwarenessUpdate decodes an awareness update. States must be valid
// JSON: clients JSON.parse them, and one that throws would break every
// other member's message handler, so a bad state is the sender's error.
func decodeAwarenessUpdate(b []byte) ([]awarenessEntry, error) {
	d := lib0.NewDecoder(b)
	n, err := d.ReadVarUint()
	if err != nil {
		return nil, err
	}
	// An entry takes at least three bytes: bound the count before
	// allocating for it.
	if n > uint64(d.Remaining())/3 {
		return nil, fmt.Errorf("%d entries claimed in %d bytes: %w", n, d.Remaining(), lib0.ErrLengthExceedsInput)
	}
	entries := make([]awarenessEntry, 0, n)
	for range n {
		var e awarenessEntry
		if e.client, err = d.ReadVarUint(); err != nil {
			return nil, err
		}
		if e.clock, err = d.ReadVarUint(); err != nil {
			return nil, err
		}
		if e.state, err = d.ReadVarString(); err != nil {
			return nil, err
		}
		if !json.Valid([]byte(e.state)) {
			return nil, fmt.Errorf("state of client %d is not JSON", e.client)
		}
		// JSON.parse(" null ") is null too: compare the normal form.
		if strings.Trim(e.state, " \t\r\n") == nullState {
			e.state = nullState
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// encodeAwarenessUpdate encodes entries as an awareness update.
func encodeAwarenessUpdate(entries []awarenessEntry) []byte {
	size := 1
	for _, e := range entries {
		size += len(e.state) + 16
	}
	enc := lib0.NewEncoder(size)
	enc.WriteVarUint(uint64(len(entries)))
	for _, e := range entries {
		enc.WriteVarUint(e.client)
		enc.WriteVarUint(e.clock)
		enc.WriteVarString(e.state)
	}
	return enc.Bytes()
}

// clientSet is the set of awareness client IDs a connection owns states
// of. A y-websocket connection owns one, its own client's; that one is
// kept inline, and a map is made only for more (a connection per set
// would otherwise cost a map's header and group, over a hundred bytes,
// for one ID). Guarded by the room's mutex, as conn.awareness.
type clientSet struct {
	first    uint64
	hasFirst bool
	more     map[uint64]struct{}
}

func (s *clientSet) has(id uint64) bool {
	if s.hasFirst && s.first == id {
		return true
	}
	_, ok := s.more[id]
	return ok
}

func (s *clientSet) add(id uint64) {
	switch {
	case s.has(id):
	case !s.hasFirst:
		s.first, s.hasFirst = id, true
	default:
		if s.more == nil {
			s.more = make(map[uint64]struct{})
		}
		s.more[id] = struct{}{}
	}
}

func (s *clientSet) remove(id uint64) {
	if s.hasFirst && s.first == id {
		s.hasFirst = false
		return
	}
	delete(s.more, id)
}

func (s *clientSet) len() int {
	n := len(s.more)
	if s.hasFirst {
		n++
	}
	return n
}

// all yields the IDs in no particular order.
func (s *clientSet) all() iter.Seq[uint64] {
	return func(yield func(uint64) bool) {
		if s.hasFirst && !yield(s.first) {
			return
		}
		for id := range s.more {
			if !yield(id) {
				return
			}
		}
	}
}
