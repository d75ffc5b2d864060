package sync

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/quirehq/quire/crdt"
)

// Idle documents. A live crdt.Doc takes several times the memory of its
// encoded state (the bytes of Y.encodeStateAsUpdate): every item is a
// struct with links. A room whose document saw no change for
// Options.HibernateAfter drops the Doc (hibernates); it stays a room, with
// its members and awareness. A document holding pending content (waiting
// for missing dependencies) never hibernates: that content is in neither
// the encoded state nor the store.
//
// A hibernating room whose every update is stored (its persistence queue
// is empty: each Append has returned, so the update is durable) holds no
// copy of the document at all, only its state vector (dormant): the store
// has it. What needs the document's content loads it from the store on
// demand (restore) into the cache below, outside the room's lock, one load
// at a time, and before anyone is synced against it: a sync step 1 is
// then answered from the bytes (crdt.DiffUpdate), and the next update
// rebuilds the Doc from them (wake). The rebuilt Doc must have the state
// vector the room kept; if not, the store lost or gained something behind
// the room's back, and the room fails (its members reconnect, the next
// one reloads). A load that fails closes only the connection that needed
// it (1011), and the room stays dormant for the next attempt. A room that
// hibernates with updates not yet stored keeps its encoded state until
// they are. Joining (the server's sync step 1, awareness) needs only the
// state vector, so it loads nothing.
//
// The cache: the sync step 2 frame of the whole document, whose payload
// (encoded) is the encoded state; one buffer serves both. A sync step 1
// with an empty state vector (a client that holds nothing yet, as every
// new tab) is answered with that message as is, so that many clients
// joining one document cost one encoding (or one load). Any change drops
// it; a cache unused for HibernateAfter is dropped once the room is
// dormant-eligible.
//
// Invariant, under the room's mu: doc != nil, or encoded != nil, or the
// room is dormant (sv != nil, nothing unsaved).

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

// restoreTimeout bounds one load of a dormant document from the store.
const restoreTimeout = 30 * time.Second

// restoring is a load of a dormant room's document under way; others
// needing it wait for done and share err.
type restoring struct {
	done chan struct{}
	err  error
}

// dormant reports whether the room holds no copy of its document. Called
// with mu held.
func (r *room) dormant() bool { return r.doc == nil && r.encoded == nil }

// lockLoaded locks mu with the document in memory: live, or its encoded
// state cached, loading it from the store first if the room is dormant.
// On error mu is not held. A failed room is returned locked as it is.
func (r *room) lockLoaded() error {
	for {
		r.mu.Lock()
		if r.failed || !r.dormant() {
			return nil
		}
		r.mu.Unlock()
		if err := r.restore(); err != nil {
			return err
		}
	}
}

// restore loads a dormant room's document from the store into the cache.
// Concurrent callers share one load. Called without mu.
func (r *room) restore() error {
	r.mu.Lock()
	if r.failed || !r.dormant() {
		r.mu.Unlock()
		return nil
	}
	if ld := r.restoring; ld != nil {
		r.mu.Unlock()
		<-ld.done
		return ld.err
	}
	ld := &restoring{done: make(chan struct{})}
	r.restoring = ld
	r.mu.Unlock()

	msg, n, err := r.loadStored()

	r.mu.Lock()
	r.restoring = nil
	if err == nil && r.dormant() && !r.failed {
		r.cacheMessage(msg, n)
	}
	r.mu.Unlock()
	if err != nil {
		r.log.Error("document unavailable: loading it back failed", "err", err)
		// Only the connection that needed the document is closed.
		err = &closeError{code: closeInternalError, reason: reasonUnavailable, err: err}
	}
	ld.err = err
	close(ld.done)
	return err
}

// stateMismatch is why a room fails on waking: its document, loaded back
// from the store, has a state vector other than the one the room kept
// (the store lost something, or something else wrote to it).
type stateMismatch struct{ got, want crdt.StateVector }

func (e *stateMismatch) Error() string {
	return fmt.Sprintf("the stored document has state vector %v, the room had %v", e.got, e.want)
}

// loadStored reads the document from the store and returns it as the
// sync step 2 frame to cache, whose last n bytes are the document.
// Whether it holds exactly what the room had is checked when the room
// wakes (wake): the live document gives its state vector for free, while
// reading it from the bytes (crdt.StateVectorFromUpdate) costs about as
// much as the load, on every client of a join storm.
func (r *room) loadStored() (msg []byte, n int, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic loading: %v", p)
		}
	}()
	ctx, cancel := context.WithTimeout(r.srv.persistCtx, restoreTimeout)
	defer cancel()
	start := time.Now()
	if al, ok := r.srv.store.(appendLoader); ok {
		// Loaded after room for the frame's header, which is written
		// in front of the document once its length is known.
		msg, err = al.LoadAppend(ctx, r.name, make([]byte, step2Headroom))
		if err == nil {
			n = len(msg) - step2Headroom
			header := step2Header(n)
			msg = msg[step2Headroom-len(header):]
			copy(msg, header)
		}
	} else {
		var state []byte
		if state, err = r.srv.store.Load(ctx, r.name); err == nil {
			msg, n = syncFrame(syncStep2, state), len(state)
		}
	}
	if err != nil {
		return nil, 0, fmt.Errorf("%w: loading: %w", errDocumentUnavailable, err)
	}
	if n == 0 { // nothing stored: the empty document
		msg, n = syncFrame(syncStep2, emptyUpdate), len(emptyUpdate)
	}
	r.log.Debug("dormant document loaded", "bytes", n, "took", time.Since(start))
	return msg, n, nil
}

// step2Headroom is room for the start of a sync step 2 frame: the frame's
// header (at most 10 bytes), two one-byte message types and the payload's
// length, a varuint of at most 5 bytes (any document a store holds).
const step2Headroom = 10 + 2 + 5

// step2Header is the start of syncFrame(syncStep2, payload) for a payload
// of n bytes.
func step2Header(n int) []byte {
	return appendVarBytesStart(make([]byte, 0, step2Headroom), messageSync, syncStep2, true, n)
}

// cache keeps state, the document's encoded state, as the payload of its
// sync step 2 frame: one buffer for both. Called with mu held.
func (r *room) cache(state []byte) {
	r.cacheMessage(syncFrame(syncStep2, state), len(state))
}

// cacheMessage caches msg, a sync step 2 frame whose last n bytes are
// the document's encoded state. Called with mu held.
func (r *room) cacheMessage(msg []byte, n int) {
	end := len(msg)
	r.fullStep2 = msg
	r.encoded = msg[end-n : end : end]
	r.cachedAt = time.Now()
}

// snapshot returns the document's encoded state, encoding it once per
// change. Called with mu held, the document in memory (lockLoaded).
func (r *room) snapshot() ([]byte, error) {
	if r.encoded == nil {
		if r.doc == nil {
			return nil, errDormant
		}
		r.cache(r.doc.EncodeStateAsUpdate())
	}
	return r.encoded, nil
}

// errDormant is returned when the document's content is needed under mu
// while it is only in the store: a caller that did not lockLoaded.
var errDormant = errors.New("sync: document not loaded")

// stateVector returns the document's encoded state vector, once per
// change. It needs no load: a dormant room keeps it. Called with mu held.
func (r *room) stateVector() ([]byte, error) {
	if r.sv != nil {
		return r.sv, nil
	}
	if r.doc != nil {
		r.sv = r.doc.EncodeStateVector()
		return r.sv, nil
	}
	if r.encoded == nil {
		return nil, errDormant // not reached: a dormant room keeps sv
	}
	sv, err := crdt.StateVectorFromUpdate(r.encoded)
	if err != nil {
		return nil, fmt.Errorf("state vector of a hibernating document: %w", err)
	}
	r.sv = sv
	return sv, nil
}

// step2 returns the sync step 2 frame for a client with state vector
// sv: what it lacks. The message for an empty sv is the cache. Called
// with mu held, the document in memory (lockLoaded).
func (r *room) step2(sv []byte) ([]byte, error) {
	if len(sv) == len(emptyStateVector) && sv[0] == emptyStateVector[0] {
		if _, err := r.snapshot(); err != nil {
			return nil, err
		}
		r.cachedAt = time.Now()
		return r.fullStep2, nil
	}
	var diff []byte
	var err error
	if r.doc == nil {
		state, err := r.snapshot()
		if err != nil {
			return nil, err
		}
		diff, err = crdt.DiffUpdate(state, sv)
		if err != nil {
			return nil, invalidPayload("malformed state vector", err)
		}
	} else if diff, err = r.doc.EncodeDiff(sv); err != nil {
		return nil, invalidPayload("malformed state vector", err)
	}
	return syncFrame(syncStep2, diff), nil
}

// changed records that the document changed: the caches are stale.
// Called with mu held.
func (r *room) changed(now time.Time) {
	r.encoded, r.sv, r.fullStep2 = nil, nil, nil
	r.lastChange = now
}

// wake rebuilds the live document of a hibernating room. Called with mu
// held, the document in memory (lockLoaded).
func (r *room) wake() error {
	if r.doc != nil {
		return nil
	}
	state, err := r.snapshot()
	if err != nil {
		return err
	}
	doc := crdt.NewDoc(crdt.Options{})
	if err := doc.ApplyUpdate(state, nil); err != nil {
		return fmt.Errorf("rebuilding a hibernated document: %w", err)
	}
	if r.sv != nil {
		// The bytes came from the store if the room was dormant: they
		// must be what the room had (an error fails the room).
		want, err := crdt.DecodeStateVector(r.sv)
		if err != nil {
			return fmt.Errorf("rebuilding a hibernated document: %w", err)
		}
		if got := doc.StateVector(); !maps.Equal(got, want) {
			return fmt.Errorf("%w: %w", errDocumentUnavailable, &stateMismatch{got: got, want: want})
		}
	}
	doc.OnUpdate(r.onUpdate)
	r.doc = doc
	return nil
}

// hibernate drops the live document if it has not changed since before
// cutoff, and the cached encoded state if it is all stored and was not
// used since cutoff. It returns about how many bytes of encoded state it
// dropped (the live document takes several times that), else 0.
func (r *room) hibernate(cutoff time.Time) int {
	select {
	case <-r.ready: // the load has published doc (or failed)
	default:
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failed || r.lastChange.After(cutoff) {
		return 0
	}
	stored := r.persisted == nil // nothing queued nor being stored
	freed := 0
	if r.doc != nil {
		if r.doc.HasPending() {
			return 0
		}
		if _, err := r.stateVector(); err != nil {
			return 0
		}
		if !stored {
			// Keep the bytes until the store has them.
			if _, err := r.snapshot(); err != nil {
				return 0
			}
		}
		r.doc = nil
		freed += int(r.size)
	}
	if stored && r.encoded != nil && !r.cachedAt.After(cutoff) {
		if _, err := r.stateVector(); err != nil {
			return freed
		}
		freed += len(r.encoded)
		r.encoded, r.fullStep2 = nil, nil
	}
	return freed
}
