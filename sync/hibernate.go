package sync

import (
	"fmt"
	"runtime/debug"
	"time"

	"github.com/quirehq/quire/crdt"
)

// Idle documents. A live crdt.Doc takes several times the memory of its
// encoded state (the bytes of Y.encodeStateAsUpdate): every item is a
// struct with links. A room whose document saw no change for
// Options.HibernateAfter keeps only the encoded state and drops the Doc;
// it stays a room, with its members and awareness. While it hibernates,
// a sync step 1 is answered from the bytes (crdt.DiffUpdate), and the
// server's own step 1 sends their state vector; the next update rebuilds
// the Doc from them first (wake). A document holding pending content
// (waiting for missing dependencies) never hibernates: that content is
// not in the encoded state.
//
// The encoded state is also a cache for live rooms: a sync step 1 with an
// empty state vector (a client that holds nothing yet, as every new tab)
// is answered with it without encoding the document again, so that many
// clients joining one document cost one encoding. Any change drops it.
//
// Invariant, under the room's mu: doc != nil or encoded != nil.

// emptyStateVector is the state vector of a document with nothing in it:
// zero clients.
var emptyStateVector = []byte{0}

// emptyUpdate is an update with nothing in it (no structs, no deletions),
// as a client that holds nothing the server lacks answers the server's
// sync step 1: applying it changes nothing, so it does not wake a
// hibernating room. A client whose answer holds the document's deletions
// (Yjs sends its whole delete set) wakes it: telling whether those are
// all known needs the live document.
var emptyUpdate = []byte{0, 0}

// snapshot returns the document's encoded state, encoding it once per
// change. Called with mu held.
func (r *room) snapshot() []byte {
	if r.encoded == nil {
		r.encoded = r.doc.EncodeStateAsUpdate()
	}
	return r.encoded
}

// stateVector returns the document's encoded state vector, once per
// change. Called with mu held.
func (r *room) stateVector() ([]byte, error) {
	if r.sv != nil {
		return r.sv, nil
	}
	if r.doc != nil {
		r.sv = r.doc.EncodeStateVector()
		return r.sv, nil
	}
	sv, err := crdt.StateVectorFromUpdate(r.encoded)
	if err != nil {
		return nil, fmt.Errorf("state vector of a hibernating document: %w", err)
	}
	r.sv = sv
	return sv, nil
}

// step2 returns the sync step 2 message for a client with state vector
// sv: what it lacks. The message for an empty sv is cached with the
// encoded state. Called with mu held.
func (r *room) step2(sv []byte) ([]byte, error) {
	if len(sv) == len(emptyStateVector) && sv[0] == emptyStateVector[0] {
		if r.fullStep2 == nil {
			r.fullStep2 = encodeSync(syncStep2, r.snapshot())
		}
		return r.fullStep2, nil
	}
	var diff []byte
	var err error
	if r.doc == nil {
		diff, err = crdt.DiffUpdate(r.encoded, sv)
	} else {
		diff, err = r.doc.EncodeDiff(sv)
	}
	if err != nil {
		return nil, err
	}
	return encodeSync(syncStep2, diff), nil
}

// changed records that the document changed: the caches are stale.
// Called with mu held.
func (r *room) changed(now time.Time) {
	r.encoded, r.sv, r.fullStep2 = nil, nil, nil
	r.lastChange = now
}

// wake rebuilds the live document of a hibernating room. Called with mu
// held.
func (r *room) wake() error {
	if r.doc != nil {
		return nil
	}
	doc := crdt.NewDoc(crdt.Options{})
	if err := doc.ApplyUpdate(r.encoded, nil); err != nil {
		return fmt.Errorf("rebuilding a hibernated document: %w", err)
	}
	doc.OnUpdate(r.onUpdate)
	r.doc = doc
	return nil
}

// hibernate drops the live document if it has not changed since before
// cutoff, keeping its encoded state. It returns the size of that state if
// it did, else 0.
func (r *room) hibernate(cutoff time.Time) int {
	select {
	case <-r.ready: // the load has published doc (or failed)
	default:
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.doc == nil || r.failed || r.lastChange.After(cutoff) || r.doc.HasPending() {
		return 0
	}
	n := len(r.snapshot())
	r.doc = nil
	r.fullStep2 = nil // a copy of encoded, rebuilt by the next client holding nothing
	return n
}

// Returning memory to the operating system. The Go runtime collects
// garbage when the program allocates, and gives freed pages back to the
// system slowly: a server whose documents just went idle allocates little,
// so the live documents it dropped would stay in its resident memory for
// minutes. After a sweep that let documents of at least releaseMinBytes
// (encoded; live ones are several times larger) hibernate, the server
// collects and returns the memory at once, at most every releaseEvery.
const (
	releaseMinBytes = 256 << 10
	releaseEvery    = 30 * time.Second
)

// releaseMemory runs after a hibernation sweep that let documents of
// slept encoded bytes hibernate. Called by the keep-alive loop only.
func (s *Server) releaseMemory(now time.Time, slept int) {
	if slept < releaseMinBytes || now.Sub(s.lastRelease) < releaseEvery {
		return
	}
	s.lastRelease = now
	debug.FreeOSMemory()
}
