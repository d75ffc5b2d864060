package crdt

import (
	"math/rand/v2"
	"slices"

	"github.com/quirehq/quire/crdt/lib0"
)

// Options configures a Doc. The zero value is a document with a random
// client ID and garbage collection on, like `new Y.Doc()`.
type Options struct {
	// ClientID identifies this replica's edits. Zero picks a random 32-bit
	// ID, as Yjs does. Two replicas must never edit with the same ID.
	ClientID uint64
	// KeepDeleted keeps the content of deleted items (Yjs's gc: false),
	// for snapshots and history; by default it is collected.
	KeepDeleted bool
}

// Doc is a Yjs-compatible document: a set of named root types whose
// content replicas merge without conflicts.
//
// A Doc is not safe for concurrent use: callers serialise access (the sync
// package gives each room its own lock). Update subscribers run
// synchronously inside the call that caused the change.
type Doc struct {
	clientID uint64
	gc       bool
	store    *structStore
	roots    map[string]*branch

	txn   *Transaction   // the open transaction, if any
	queue []*Transaction // transactions awaiting clean-up, in order
	spare *Transaction   // a recycled transaction

	enc            *lib0.Encoder // scratch encoder for updates
	scratchClients []uint64
	updateBuf      []byte // the unused tail of the chunk small updates come from
	spareUpdate    *decodedUpdate
	encodeHint     int // size of the last full state encoding

	updateSubs []subscription[func(update []byte, origin any)]
	afterTxn   []subscription[func(*Transaction)]
	nextSubID  int
}

type subscription[F any] struct {
	id int
	fn F
}

// NewDoc returns an empty document.
func NewDoc(opts Options) *Doc {
	id := opts.ClientID
	if id == 0 {
		id = uint64(rand.Uint32())
	}
	return &Doc{
		clientID: id,
		gc:       !opts.KeepDeleted,
		store:    newStructStore(),
		roots:    make(map[string]*branch),
	}
}

// ClientID returns the ID this replica's edits are made under.
func (d *Doc) ClientID() uint64 { return d.clientID }

// OnUpdate registers fn to receive every change to the document as a v1
// update, with the origin of the transaction that made it. It returns a
// function that removes the subscription. fn must not retain update beyond
// the call unless it copies it... it is a fresh slice, so it may.
func (d *Doc) OnUpdate(fn func(update []byte, origin any)) (unsubscribe func()) {
	d.nextSubID++
	id := d.nextSubID
	d.updateSubs = append(d.updateSubs, subscription[func([]byte, any)]{id, fn})
	return func() {
		d.updateSubs = slices.DeleteFunc(d.updateSubs, func(s subscription[func([]byte, any)]) bool { return s.id == id })
	}
}

// OnAfterTransaction registers fn to run when a transaction ends, before
// its deleted content is collected.
func (d *Doc) OnAfterTransaction(fn func(*Transaction)) (unsubscribe func()) {
	d.nextSubID++
	id := d.nextSubID
	d.afterTxn = append(d.afterTxn, subscription[func(*Transaction)]{id, fn})
	return func() {
		d.afterTxn = slices.DeleteFunc(d.afterTxn, func(s subscription[func(*Transaction)]) bool { return s.id == id })
	}
}

// Transact runs fn in one local transaction: all edits fn makes reach
// subscribers as a single update. Nested calls join the open transaction.
func (d *Doc) Transact(origin any, fn func(*Transaction)) {
	d.transact(origin, true, fn)
}

// StateVector returns the next expected clock of every client.
func (d *Doc) StateVector() StateVector { return d.store.stateVector() }

// EncodeStateVector returns the document's state vector in v1 encoding.
func (d *Doc) EncodeStateVector() []byte { return d.store.stateVector().Encode() }

// HasPending reports whether the document holds structs or deletes that
// wait for content it has not received.
func (d *Doc) HasPending() bool {
	return len(d.store.pending) > 0 || len(d.store.pendingDeletes) > 0
}

// root returns the root type named name, creating it (of no kind yet).
func (d *Doc) root(name string) *branch {
	b := d.roots[name]
	if b == nil {
		b = &branch{doc: d, name: name, kind: kindUnset}
		d.roots[name] = b
	}
	return b
}

// rootOfKind returns the root named name as kind, fixing its kind on first
// use.
func (d *Doc) rootOfKind(name string, kind Kind) (*branch, error) {
	b := d.root(name)
	if b.kind == kindUnset {
		b.kind = kind
		return b, nil
	}
	if b.kind != kind {
		return nil, ErrTypeMismatch
	}
	return b, nil
}

// RootNames returns the names of the root types that hold content or have
// been requested, sorted.
func (d *Doc) RootNames() []string {
	names := make([]string, 0, len(d.roots))
	for name := range d.roots {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// RootKind returns the kind of the root named name: the kind it was first
// requested as or, for a root known only from applied updates, the kind
// its content implies (maps have keyed entries, text holds strings or
// formatting, XML fragments hold XML nodes, arrays anything else). It
// returns false when there is no such root or nothing to infer from.
func (d *Doc) RootKind(name string) (Kind, bool) {
	b := d.roots[name]
	if b == nil {
		return 0, false
	}
	if b.kind != kindUnset {
		return b.kind, true
	}
	list, xml := false, false
	for n := b.start; n != nil; n = n.right {
		if n.isGC() {
			continue
		}
		switch c := n.content().(type) {
		case *contentString, *contentFormat, *contentEmbed:
			return KindText, true
		case *contentType:
			switch c.b.kind {
			case KindXmlElement, KindXmlText, KindXmlHook:
				xml = true
			}
			list = true
		case *contentDeleted:
		default:
			list = true
		}
	}
	switch {
	case xml:
		return KindXmlFragment, true
	case list:
		return KindArray, true
	case len(b.mapItems) > 0:
		return KindMap, true
	}
	return 0, false
}

// SetClientID changes the ID this replica's future edits are made under.
// It exists for replicas that must use a specific ID, including 0, which
// Options.ClientID cannot express (zero there means "pick one").
func (d *Doc) SetClientID(id uint64) { d.clientID = id }
