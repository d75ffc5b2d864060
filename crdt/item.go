package crdt

import (
	"unsafe"

	"github.com/quirehq/quire/crdt/lib0"
)

// Item flags. The first four match the meaning of Yjs's info bits; the rest
// record which optional fields are set and what kind of struct this is.
const (
	flagKeep        uint16 = 1 << 0
	flagCountable   uint16 = 1 << 1
	flagDeleted     uint16 = 1 << 2
	flagMarker      uint16 = 1 << 3
	flagGC          uint16 = 1 << 4 // a GC struct: a collected range, no content
	flagSkip        uint16 = 1 << 5 // a Skip struct: a gap in a decoded update
	flagOrigin      uint16 = 1 << 6
	flagRightOrigin uint16 = 1 << 7
	flagParentSub   uint16 = 1 << 8
	// flagParentSubBit records, on a decoded item that has origins, that
	// its encoding set the "has parentSub" bit without writing the key
	// (Yjs sets it for every map item). It keeps the bit on re-encoding
	// until integration copies the key from a neighbour.
	flagParentSubBit uint16 = 1 << 9
	// flagScratch marks a decoded struct that lives in reusable memory
	// (decodedUpdate.box) until detach copies it.
	flagScratch uint16 = 1 << 10
	// flagWideOrigins records that the origins did not fit in 32-bit
	// client and clock: they are in the rare record instead.
	flagWideOrigins uint16 = 1 << 11
	// flagRare records that cptr points to the item's rare record, which
	// holds the content pointer in turn (see itemRare).
	flagRare uint16 = 1 << 12
	// flagWideText marks a string item whose text is not all ASCII: its
	// byte length then differs from its length in UTF-16 units, and text
	// measures it (see textBytes) instead of the item storing it.
	flagWideText uint16 = 1 << 13
	// flagWideOwn records that the item's own ID or length does not fit
	// in 32 bits: they are in the rare record (see Item.setOwn).
	flagWideOwn uint16 = 1 << 14
)

// packedID is an origin in eight bytes. Yjs picks client IDs as random
// 32-bit numbers and a document's clocks stay far below 2^32, so nearly
// every origin fits; one that does not is kept whole in the item's rare
// record (flagWideOrigins), and an update may still carry any ID up to
// 2^53.
type packedID struct{ client, clock uint32 }

// packID returns id in eight bytes, if it fits.
func packID(id ID) (packedID, bool) {
	if id.Client>>32 != 0 || id.Clock>>32 != 0 {
		return packedID{}, false
	}
	return packedID{uint32(id.Client), uint32(id.Clock)}, true
}

func (p packedID) unpack() ID { return ID{Client: uint64(p.client), Clock: uint64(p.clock)} }

// parentRef is the parent an encoded item names before integration: a
// root type by name or the item that holds a nested type.
type parentRef struct {
	root   string
	id     ID
	isRoot bool
}

// Item is one struct of the document: a run of content inserted by one
// client at consecutive clocks, linked into its parent's sequence. GC
// structs (collected ranges) are Items with flagGC and no content, so that
// a client's structs fit in one slice.
//
// An Item does not name its parent: the store keeps each client's types as
// runs of clocks (structStore.parentOf), as a client mostly writes into
// one type at a time. Before integration an item names its parent in its
// rare record (pref) or through its neighbours, and resolve hands the type
// to integrate.
type Item struct {
	left, right *Item
	// cptr is the content; ckind, its content reference number, says what
	// it points to. Two words less than an interface field and a switch
	// away from one. Text and deleted content, nearly every item of a
	// document, have no record of their own: a string item's cptr is the
	// first byte of its UTF-8 text (see text), and a
	// deleted item's length is all its content (cptr nil). GC and Skip
	// structs have no content either. With flagRare, cptr points to the
	// item's rare record instead, and the record holds the content
	// pointer: use ptr and setPtr.
	cptr unsafe.Pointer
	// origin (valid with flagOrigin) is the ID left of the insertion
	// point, rightOrigin (valid with flagRightOrigin) the ID right of it;
	// both are in rare instead with flagWideOrigins. Use originID and
	// rightOriginID.
	origin, rightOrigin packedID
	// client, clock and len32 are the item's ID and its length in units,
	// packed as the origins are; with flagWideOwn (one of them 2^32 or
	// more) they are in the rare record instead. Use id, length, setID
	// and setLength. Packed, an Item is 56 bytes: a loaded document is
	// mostly Items (TestItemSize).
	client, clock uint32
	len32         uint32
	info          uint16
	ckind         uint8
}

// wideOwn is an item's ID and length when one of them does not fit in 32
// bits (flagWideOwn).
type wideOwn struct {
	id     ID
	length int
}

// id returns the item's ID: its client and the clock of its first unit.
func (it *Item) id() ID {
	if it.info&flagWideOwn != 0 {
		return it.rare().own.id
	}
	return ID{Client: uint64(it.client), Clock: uint64(it.clock)}
}

// length returns the item's length in clock units.
func (it *Item) length() int {
	if it.info&flagWideOwn != 0 {
		return it.rare().own.length
	}
	return int(it.len32)
}

// setID sets the item's ID, keeping its length.
func (it *Item) setID(id ID) { it.setOwn(id, it.length()) }

// advance drops the item's first k units from its ID and length (not from
// its content).
func (it *Item) advance(k int) {
	id := it.id()
	id.Clock += uint64(k)
	it.setOwn(id, it.length()-k)
}

// setLength sets the item's length, keeping its ID.
func (it *Item) setLength(n int) {
	if it.info&flagWideOwn == 0 && uint64(n)>>32 == 0 {
		it.len32 = uint32(n)
		return
	}
	it.setLengthSlow(n)
}

// setLengthSlow is setLength for a wide item or length.
func (it *Item) setLengthSlow(n int) { it.setOwnSlow(it.id(), n) }

// setOwn sets the item's ID and length: packed when all fit in 32 bits,
// else in the rare record.
func (it *Item) setOwn(id ID, n int) {
	if (id.Client|id.Clock|uint64(n))>>32 == 0 && it.info&(flagWideOwn|flagRare) == 0 {
		it.client, it.clock, it.len32 = uint32(id.Client), uint32(id.Clock), uint32(n)
		return
	}
	it.setOwnSlow(id, n)
}

// setOwnSlow is setOwn for an item with a rare record or a wide ID.
func (it *Item) setOwnSlow(id ID, n int) {
	if id.Client>>32 == 0 && id.Clock>>32 == 0 && uint64(n)>>32 == 0 {
		it.client, it.clock, it.len32 = uint32(id.Client), uint32(id.Clock), uint32(n)
		it.info &^= flagWideOwn
		if r := it.rare(); r != nil && r.own != nil {
			// (Also a record copied from a wide item.)
			cp := *r
			cp.own = nil
			it.putRare(&cp)
		}
		return
	}
	var r itemRare
	if old := it.rare(); old != nil {
		r = *old
	}
	r.own = &wideOwn{id: id, length: n}
	it.client, it.clock, it.len32 = 0, 0, 0
	it.putRare(&r)
	it.info |= flagWideOwn
}

// maxTextBytes bounds the UTF-8 bytes of one string item. Updates
// cannot name longer strings (a longer one is refused as malformed); local
// inserts of that much text are refused with ErrUnsupportedValue, and
// items are not merged beyond it.
const maxTextBytes = 1<<32 - 1

// text returns a string item's text.
// Its length must be the text's length in UTF-16 units: ASCII text is
// as many bytes long, other text is measured.
func (it *Item) text() string {
	if it.info&(flagWideText|flagWideOwn|flagRare) == 0 {
		// (ASCII, packed, no rare record: the usual item.)
		return unsafe.String((*byte)(it.cptr), int(it.len32))
	}
	return it.textSlow()
}

// textSlow is text for other items.
func (it *Item) textSlow() string {
	p := (*byte)(it.ptr())
	if it.info&flagWideText == 0 {
		return unsafe.String(p, it.length())
	}
	return unsafe.String(p, textBytes(p, it.length()))
}

// textBytes returns the byte length of the valid UTF-8 text at p that
// holds units UTF-16 code units (counted as lib0.UTF16Len does: a
// four-byte sequence is a surrogate pair, two units). Bytes are at least
// as many as units, so eight units left mean eight bytes may be read.
func textBytes(p *byte, units int) int {
	i, n := 0, 0
	for n < units {
		if units-n >= 8 && *(*uint64)(unsafe.Add(unsafe.Pointer(p), i))&0x8080808080808080 == 0 {
			i, n = i+8, n+8
			continue
		}
		switch c := *(*byte)(unsafe.Add(unsafe.Pointer(p), i)); {
		case c < 0x80:
			i, n = i+1, n+1
		case c < 0xe0:
			i, n = i+2, n+1
		case c < 0xf0:
			i, n = i+3, n+1
		default:
			i, n = i+4, n+2
		}
	}
	return i
}

// setText makes s a string item's text (kind and length unchanged); ascii
// says whether s is all ASCII (false is always safe: text then measures).
func (it *Item) setText(s string, ascii bool) {
	it.setPtr(unsafe.Pointer(unsafe.StringData(s)))
	if ascii {
		it.info &^= flagWideText
	} else {
		it.info |= flagWideText
	}
}

// textASCII reports whether a string item's text is known to be ASCII.
func (it *Item) textASCII() bool { return it.info&flagWideText == 0 }

// textFits reports whether a string item's text, with addBytes more
// bytes, stays within maxTextBytes. Text takes at most three bytes per
// unit, so only an item near the bound is measured.
func (it *Item) textFits(addBytes int) bool {
	// (A wide item's len32 is zero: it is measured.)
	return it.info&flagWideOwn == 0 && 3*uint64(it.len32)+uint64(addBytes) <= maxTextBytes || it.textFitsExactly(addBytes)
}

// textFitsExactly is textFits measured.
func (it *Item) textFitsExactly(addBytes int) bool {
	return uint64(len(it.text()))+uint64(addBytes) <= maxTextBytes
}

// itemRare is the part of an Item that most items lack: a map key, an
// unresolved parent, origins that do not fit in 32 bits. An item that has
// one points to it with cptr (flagRare), and the record holds the content
// pointer, so that the other items pay nothing for it. A record is shared
// between copies of an item and never modified: setters replace it.
type itemRare struct {
	parentSub string // valid with flagParentSub: the map key
	// pref is set on decoded items that name their parent explicitly,
	// until integration resolves it.
	pref *parentRef
	// wide holds origin and rightOrigin with flagWideOrigins.
	wide *[2]ID
	// own holds the item's ID and length with flagWideOwn.
	own  *wideOwn
	cptr unsafe.Pointer // the item's content pointer
}

// empty reports whether the record holds nothing but the content pointer.
func (r *itemRare) empty() bool {
	return r.parentSub == "" && r.pref == nil && r.wide == nil && r.own == nil
}

// rare returns the item's rare record, or nil.
func (it *Item) rare() *itemRare {
	if it.info&flagRare == 0 {
		return nil
	}
	return (*itemRare)(it.cptr)
}

// ptr returns the content pointer (see Item.cptr).
func (it *Item) ptr() unsafe.Pointer {
	if it.info&flagRare != 0 {
		return (*itemRare)(it.cptr).cptr
	}
	return it.cptr
}

// setPtr sets the content pointer.
func (it *Item) setPtr(p unsafe.Pointer) {
	if it.info&flagRare != 0 {
		r := *(*itemRare)(it.cptr)
		r.cptr = p
		it.cptr = unsafe.Pointer(&r)
		return
	}
	it.cptr = p
}

// putRare makes r (nil: none) the item's rare record, moving the content
// pointer into it.
func (it *Item) putRare(r *itemRare) {
	p := it.ptr()
	if r == nil || r.empty() {
		it.info &^= flagRare
		it.cptr = p
		return
	}
	r.cptr = p
	it.cptr = unsafe.Pointer(r)
	it.info |= flagRare
}

// parentSub returns the map key (valid with flagParentSub).
func (it *Item) parentSub() string {
	if r := it.rare(); r != nil {
		return r.parentSub
	}
	return ""
}

// pref returns the parent an unintegrated item names, or nil.
func (it *Item) pref() *parentRef {
	if r := it.rare(); r != nil {
		return r.pref
	}
	return nil
}

// setRare sets the map key and the named parent, keeping wide origins and
// a wide ID.
func (it *Item) setRare(parentSub string, pref *parentRef) {
	var wide *[2]ID
	var own *wideOwn
	if r := it.rare(); r != nil {
		if it.info&flagWideOrigins != 0 {
			wide = r.wide
		}
		if it.info&flagWideOwn != 0 {
			own = r.own
		}
	}
	if parentSub == "" && pref == nil && wide == nil && own == nil {
		it.putRare(nil)
		return
	}
	r := &itemRare{parentSub: parentSub, wide: wide, own: own}
	if pref != nil {
		p := *pref
		r.pref = &p
	}
	it.putRare(r)
}

// storeOrigins sets both origins' IDs (flags unchanged): packed when both
// fit, else whole in a new rare record.
func (it *Item) storeOrigins(o, r ID) {
	po, ok1 := packID(o)
	pr, ok2 := packID(r)
	if ok1 && ok2 {
		it.origin, it.rightOrigin = po, pr
		if it.info&flagWideOrigins != 0 {
			it.info &^= flagWideOrigins
			it.setRare(it.parentSub(), it.pref())
		}
		return
	}
	nr := itemRare{}
	if old := it.rare(); old != nil {
		nr = *old
	}
	nr.wide = &[2]ID{o, r}
	it.putRare(&nr)
	it.origin, it.rightOrigin = packedID{}, packedID{}
	it.info |= flagWideOrigins
}

// dropPref forgets the named parent, keeping the map key.
func (it *Item) dropPref() {
	if r := it.rare(); r != nil && r.pref != nil {
		it.setRare(r.parentSub, nil)
	}
}

func (it *Item) deleted() bool   { return it.info&flagDeleted != 0 }
func (it *Item) countable() bool { return it.info&flagCountable != 0 }
func (it *Item) isGC() bool      { return it.info&flagGC != 0 }
func (it *Item) isSkip() bool    { return it.info&flagSkip != 0 }
func (it *Item) keep() bool      { return it.info&flagKeep != 0 }
func (it *Item) hasParentSub() bool {
	return it.info&flagParentSub != 0
}

func (it *Item) originID() optID {
	if it.info&flagWideOrigins != 0 {
		return optID{ID: it.rare().wide[0], ok: it.info&flagOrigin != 0}
	}
	return optID{ID: it.origin.unpack(), ok: it.info&flagOrigin != 0}
}

func (it *Item) rightOriginID() optID {
	if it.info&flagWideOrigins != 0 {
		return optID{ID: it.rare().wide[1], ok: it.info&flagRightOrigin != 0}
	}
	return optID{ID: it.rightOrigin.unpack(), ok: it.info&flagRightOrigin != 0}
}

func (it *Item) setOrigin(o optID) {
	if p, fits := packID(o.ID); fits && it.info&flagWideOrigins == 0 {
		it.origin = p
	} else {
		it.storeOrigins(o.ID, it.rightOriginID().ID)
	}
	if o.ok {
		it.info |= flagOrigin
	} else {
		it.info &^= flagOrigin
	}
}

func (it *Item) setRightOrigin(o optID) {
	if p, fits := packID(o.ID); fits && it.info&flagWideOrigins == 0 {
		it.rightOrigin = p
	} else {
		it.storeOrigins(it.originID().ID, o.ID)
	}
	if o.ok {
		it.info |= flagRightOrigin
	} else {
		it.info &^= flagRightOrigin
	}
}

// lastID is the ID of the item's last unit.
func (it *Item) lastID() ID {
	id := it.id()
	id.Clock += uint64(it.length()) - 1
	return id
}

// startClock returns the clock of the item's first unit (its ID's).
func (it *Item) startClock() uint64 {
	if it.info&flagWideOwn != 0 {
		return it.rare().own.id.Clock
	}
	return uint64(it.clock)
}

// end returns the clock right after the item.
func (it *Item) end() uint64 {
	if it.info&flagWideOwn != 0 {
		o := it.rare().own
		return o.id.Clock + uint64(o.length)
	}
	return uint64(it.clock) + uint64(it.len32)
}

// visible reports whether the item counts towards its parent's length.
func (it *Item) visible() bool { return it.info&(flagDeleted|flagCountable) == flagCountable }

// next returns the nearest undeleted item to the right.
func (it *Item) next() *Item {
	n := it.right
	for n != nil && n.deleted() {
		n = n.right
	}
	return n
}

// prev returns the nearest undeleted item to the left.
func (it *Item) prev() *Item {
	n := it.left
	for n != nil && n.deleted() {
		n = n.left
	}
	return n
}

func newItem(id ID, left *Item, origin optID, right *Item, rightOrigin optID, parentSub *string, c content) *Item {
	it := new(Item)
	initItem(it, id, left, origin, right, rightOrigin, parentSub, c)
	return it
}

// initItem is newItem in the given memory.
func initItem(it *Item, id ID, left *Item, origin optID, right *Item, rightOrigin optID, parentSub *string, c content) {
	*it = Item{left: left, right: right}
	it.setOwn(id, c.length())
	it.setContent(c)
	it.setOrigin(origin)
	it.setRightOrigin(rightOrigin)
	if parentSub != nil {
		it.setRare(*parentSub, nil)
		it.info |= flagParentSub
	}
	if c.countable() {
		it.info |= flagCountable
	}
}

// toGC turns the item into a GC struct in place: the range stays in the
// store, everything else is dropped.
func (it *Item) toGC() {
	id, n := it.id(), it.length()
	it.info = flagGC | flagDeleted // (no rare record either)
	it.setContent(nil)
	it.setOwn(id, n)
	it.left, it.right = nil, nil
}

// resolve finds the items an unintegrated item refers to. When a referenced
// client's content is not in the store yet it returns that client and false;
// otherwise it resolves left and right and returns the type the item goes
// into (nil: none, it becomes a GC struct) and true.
func (it *Item) resolve(txn *Transaction, s *structStore) (parent *branch, missing uint64, ok bool) {
	origin, rightOrigin := it.originID(), it.rightOriginID()
	if origin.ok && origin.Client != it.id().Client && origin.Clock >= s.state(origin.Client) {
		return nil, origin.Client, false
	}
	if rightOrigin.ok && rightOrigin.Client != it.id().Client && rightOrigin.Clock >= s.state(rightOrigin.Client) {
		return nil, rightOrigin.Client, false
	}
	pref := it.pref()
	if p := pref; p != nil && !p.isRoot && it.id().Client != p.id.Client && p.id.Clock >= s.state(p.id.Client) {
		return nil, p.id.Client, false
	}
	if origin.ok {
		it.left = s.itemCleanEnd(txn, origin.ID)
		it.setOrigin(someID(it.left.lastID()))
	}
	if rightOrigin.ok {
		if r := s.lastRight; r != nil && r.id() == rightOrigin.ID {
			// The struct the previous resolve found starts exactly here:
			// itemCleanStart would return it.
			it.right = r
		} else {
			it.right = s.itemCleanStart(txn, rightOrigin.ID)
			if s.rightHints {
				s.lastRight = it.right
			}
		}
		it.setRightOrigin(someID(it.right.id()))
	}
	switch {
	case (it.left != nil && it.left.isGC()) || (it.right != nil && it.right.isGC()):
	case pref == nil:
		// The parent is implied by the neighbours.
		if it.left != nil {
			parent = s.parentOf(it.left)
			it.copyParentSub(it.left)
		} else if it.right != nil {
			parent = s.parentOf(it.right)
			it.copyParentSub(it.right)
		}
	case pref.isRoot:
		parent = txn.doc.root(pref.root)
	default:
		parentItem := s.find(pref.id)
		if ct, isType := parentItem.content().(*contentType); isType && !parentItem.isGC() {
			parent = ct.b
		}
		// Otherwise a collected parent (or, in a hostile update, an item
		// that holds no type): the content cannot live anywhere.
	}
	it.dropPref()
	it.info &^= flagParentSubBit // the neighbour's key is authoritative now
	return parent, 0, true
}

func (it *Item) copyParentSub(from *Item) {
	if from.hasParentSub() {
		it.setRare(from.parentSub(), it.pref())
		it.info |= flagParentSub
	} else {
		it.setRare("", it.pref())
		it.info &^= flagParentSub
	}
}

// integrate links a resolved item into type p (nil: none, the item becomes
// a GC struct), starting offset units into it (the first offset units are
// already known). This is YATA as Yjs implements it; the conflict rules
// must match Yjs exactly so that every replica orders concurrent inserts
// the same way.
func (it *Item) integrate(txn *Transaction, offset int, p *branch) {
	s := txn.doc.store
	if offset > 0 {
		id := it.id()
		id.Clock += uint64(offset)
		it.setID(id)
		it.left = s.itemCleanEnd(txn, ID{Client: it.id().Client, Clock: it.startClock() - 1})
		it.setOrigin(someID(it.left.lastID()))
		it.cutFront(offset)
		it.setLength(it.length() - offset)
	}
	if p == nil {
		// No parent: the content was collected elsewhere; keep the range.
		it.toGC()
		s.add(txn, it, nil)
		return
	}
	if (it.left == nil && (it.right == nil || it.right.left != nil)) || (it.left != nil && it.left.right != it.right) {
		it.left = it.findLeft(txn, p)
	}
	// Link in.
	if it.left != nil {
		it.right = it.left.right
		it.left.right = it
	} else {
		var r *Item
		if it.hasParentSub() {
			r = p.mapItems[it.parentSub()]
			for r != nil && r.left != nil {
				r = r.left
			}
		} else {
			r = p.start
			p.start = it
		}
		it.right = r
	}
	if it.right != nil {
		it.right.left = it
	} else if it.hasParentSub() {
		if p.mapItems == nil {
			p.mapItems = make(map[string]*Item)
		}
		p.mapItems[it.parentSub()] = it
		if it.left != nil {
			// The previous value of this key is overwritten.
			it.left.delete(txn)
		}
	}
	if !it.hasParentSub() && it.visible() {
		p.length += it.length()
	}
	s.add(txn, it, p)
	it.integrateContent(txn)
	txn.addChanged(p)
	if (p.item != nil && p.item.deleted()) || (it.hasParentSub() && it.right != nil) {
		// The parent is gone, or a concurrent write to the same key wins.
		it.delete(txn)
	}
}

// extendLeft integrates a resolved text item by appending it to its left
// neighbour when that is what the transaction's clean-up would do once it
// is linked in: the left item is its client's last struct, ends right
// before it, holds undeleted text, sits right before the same right
// neighbour and has the same right origin. The document and every encoding
// come out as after integrate and the merge (remote typing is the usual
// case); the store entry, the linking and the merge are saved. It reports
// whether it did.
func (it *Item) extendLeft(txn *Transaction, p *branch) bool {
	l := it.left
	if it.ckind != refString || l == nil || l.ckind != refString || p == nil || l.right != it.right {
		return false
	}
	if (l.info|it.info)&(flagDeleted|flagParentSub|flagKeep) != 0 || it.info&flagRare != 0 {
		return false
	}
	id, lid, n := it.id(), l.id(), it.length()
	if lid.Client != id.Client || l.end() != id.Clock || !it.originID().equal(someID(l.lastID())) {
		return false
	}
	if !l.rightOriginID().equal(it.rightOriginID()) || (p.item != nil && p.item.deleted()) {
		return false
	}
	s := txn.doc.store
	text := it.text()
	if s.state(id.Client) != id.Clock || !l.textFits(len(text)) || s.parentOf(l) != p {
		return false
	}
	txn.noteBefore(id.Client, id.Clock)
	s.appendText(l, text, n)
	l.setLength(l.length() + n)
	p.length += n
	txn.addChanged(p)
	return true
}

// integrateInOrder is resolve and integrate (at offset 0) for the usual
// struct of a document load: its origin is the end of a struct in the
// store, its right origin (if any) the start of that struct's right
// neighbour, so nothing was inserted between them concurrently, and it is
// text or array content of a live parent. It reports false, having changed
// nothing, for any other struct, which then takes the general path. The
// outcome is the general path's: resolve finds the same neighbours without
// splitting, takes the parent from the left one, and integrate has no
// conflict to resolve when the left neighbour's right is the right origin.
func (it *Item) integrateInOrder(txn *Transaction, s *structStore) bool {
	const need = flagOrigin
	if it.info&(flagOrigin|flagGC|flagSkip|flagParentSub) != need || it.info&flagRare != 0 {
		return false
	}
	// (findIndex finds nothing when the origin is not in the store yet:
	// then the struct waits, on the general path.)
	origin := it.originID().ID
	l := s.list(origin.Client)
	i := findIndex(l, origin.Clock)
	if i < 0 {
		return false
	}
	left := l.at(i)
	if left.isGC() || left.hasParentSub() || left.end()-1 != origin.Clock {
		return false
	}
	// Without a conflict the right origin is the left neighbour's right:
	// when that struct starts at the right origin it is the one the store
	// holds there (every linked struct is in the store), and no search is
	// needed. Otherwise there is a conflict to resolve or a struct to
	// split: the general path's work.
	right := left.right
	if it.info&flagRightOrigin == 0 {
		if right != nil {
			return false
		}
	} else if right == nil || right.id() != it.rightOriginID().ID || right.isGC() {
		return false
	}
	p := l.parentAt(left.startClock()) // (left is not a GC struct)
	if p == nil || (p.item != nil && p.item.deleted()) {
		return false
	}
	it.linkBetween(left, right, p)
	s.add(txn, it, p)
	it.integrateContent(txn)
	txn.addChanged(p)
	return true
}

// linkBetween links the item in type p between left (not nil) and right,
// which are neighbours, with no conflict to resolve: the in-order case
// of integration.
func (it *Item) linkBetween(left, right *Item, p *branch) {
	it.left, it.right = left, right
	it.info &^= flagParentSubBit
	left.right = it
	if right != nil {
		right.left = it
	}
	if it.visible() {
		p.length += it.length()
	}
}

// detach returns the item itself, or, for a struct decoded into scratch
// memory, a copy on the heap (a text item together with its content).
func (it *Item) detach() *Item {
	if it.info&flagScratch == 0 {
		return it
	}
	cp := new(Item)
	*cp = *it
	cp.info &^= flagScratch
	return cp
}

// findLeft resolves conflicts with concurrent inserts between it.left and
// it.right in type p and returns the item the new item must follow.
func (it *Item) findLeft(txn *Transaction, p *branch) *Item {
	left := it.left
	var o *Item
	if left != nil {
		o = left.right
	} else if it.hasParentSub() {
		o = p.mapItems[it.parentSub()]
		for o != nil && o.left != nil {
			o = o.left
		}
	} else {
		o = p.start
	}
	if o == nil || o == it.right {
		return left
	}
	s := txn.doc.store
	// Items between the origin and o; conflicting is a subset of before.
	before := map[*Item]struct{}{}
	conflicting := map[*Item]struct{}{}
	origin, rightOrigin := it.originID(), it.rightOriginID()
	for o != nil && o != it.right {
		before[o] = struct{}{}
		conflicting[o] = struct{}{}
		if origin.equal(o.originID()) {
			// Same left origin: the lower client goes left.
			if o.id().Client < it.id().Client {
				left = o
				clear(conflicting)
			} else if rightOrigin.equal(o.rightOriginID()) {
				// Same integration points; it goes before o.
				break
			}
		} else if o.info&flagOrigin != 0 {
			oo := s.find(o.originID().ID)
			if _, inBefore := before[oo]; !inBefore {
				break
			}
			if _, conf := conflicting[oo]; !conf {
				left = o
				clear(conflicting)
			}
		} else {
			break
		}
		o = o.right
	}
	return left
}

// delete marks the item deleted in txn.
func (it *Item) delete(txn *Transaction) {
	if it.deleted() {
		return
	}
	p := txn.doc.store.parentOf(it)
	if it.visible() && !it.hasParentSub() {
		p.length -= it.length()
	}
	it.info |= flagDeleted
	txn.collect = true
	txn.addDelete(it.id().Client, it.startClock(), uint64(it.length()))
	txn.addChanged(p)
	if it.ckind != refString && it.ckind != refDeleted {
		it.content().delete(txn)
	}
}

// gc drops the content of a deleted item. When its parent was collected
// too, the item becomes a GC struct.
func (it *Item) gc(s *structStore, parentGCd bool) {
	if it.isGC() {
		return
	}
	if it.ckind != refString && it.ckind != refDeleted {
		it.content().gc(s)
	}
	s.dropTail(it)
	if parentGCd {
		it.toGC()
	} else if it.ckind != refDeleted {
		// Like Yjs, the countable flag is left as it was: it only matters
		// together with "not deleted".
		it.setPtr(nil)
		it.ckind = refDeleted
		it.info &^= flagWideText
	}
}

// split cuts the item diff units in and returns the new right half, linked
// after it.
func (it *Item) split(txn *Transaction, diff int) *Item {
	id, n := it.id(), it.length()
	right := new(Item)
	var rc content
	var rtext string
	switch it.ckind {
	case refString:
		// Text (the usual split): both halves keep their part of the
		// bytes; the left one may no longer append in place.
		var ltext string
		ltext, rtext = splitString(it.text(), n, diff)
		it.setText(ltext, it.textASCII())
		txn.doc.store.dropTail(it)
	case refDeleted:
	default:
		rc = it.content().splice(diff)
	}
	*right = Item{
		left:        it,
		right:       it.right,
		origin:      it.origin,
		rightOrigin: it.rightOrigin,
		info:        it.info&(flagDeleted|flagKeep|flagRightOrigin|flagParentSub|flagWideOrigins) | flagOrigin,
	}
	if r := it.rare(); r != nil {
		cp := *r // (integrated: no pref)
		right.putRare(&cp)
	}
	right.setOwn(ID{Client: id.Client, Clock: id.Clock + uint64(diff)}, n-diff)
	right.setOrigin(someID(ID{Client: id.Client, Clock: id.Clock + uint64(diff) - 1}))
	switch it.ckind {
	case refString:
		right.ckind = refString
		right.setText(rtext, it.textASCII())
		right.info |= flagCountable
	case refDeleted:
		right.ckind = refDeleted
	default:
		right.setContent(rc)
		if rc.countable() {
			right.info |= flagCountable
		}
	}
	// The left half keeps its rightOrigin: changing it would break sync.
	it.right = right
	if right.right != nil {
		right.right.left = right
	}
	txn.mergeStructs = append(txn.mergeStructs, right)
	if right.hasParentSub() && right.right == nil {
		// (The right half's clocks are the item's: its type is the item's.)
		txn.doc.store.parentOf(it).mapItems[right.parentSub()] = right
	}
	it.setLength(diff)
	return right
}

// mergeWith appends right to it when both are the same run of content, and
// reports whether it did.
func (it *Item) mergeWith(s *structStore, right *Item) bool {
	if it.isGC() {
		if !right.isGC() {
			return false
		}
		it.setLength(it.length() + right.length())
		return true
	}
	// (Cheap field tests first; all of them are pure.)
	if right.isGC() ||
		it.right != right ||
		it.end() != right.startClock() ||
		it.id().Client != right.id().Client ||
		it.deleted() != right.deleted() ||
		!right.originID().equal(someID(it.lastID())) ||
		!it.rightOriginID().equal(right.rightOriginID()) ||
		it.ckind != right.ckind {
		return false
	}
	switch it.ckind {
	case refDeleted:
	case refString:
		if !it.textFits(len(right.text())) {
			return false
		}
		s.appendText(it, right.text(), right.length())
	case refJSON, refAny:
		if !it.content().mergeWith(right.content()) {
			return false
		}
	default:
		return false
	}
	if p := s.parentOf(it); p != nil {
		p.markers.replaced(right, it)
	}
	if right.keep() {
		it.info |= flagKeep
	}
	it.right = right.right
	if it.right != nil {
		it.right.left = it
	}
	it.setLength(it.length() + right.length())
	return true
}

// write encodes the item starting offset units in. l is the item's
// client's list when the item is integrated (the parent of an item without
// origins is looked up there), nil for a decoded one.
func (it *Item) write(e *lib0.Encoder, offset int, l *structList) {
	if it.isGC() {
		e.WriteUint8(refGC)
		e.WriteVarUint(uint64(it.length() - offset))
		return
	}
	if it.isSkip() {
		e.WriteUint8(refSkip)
		e.WriteVarUint(uint64(it.length() - offset))
		return
	}
	origin := it.originID()
	if offset > 0 {
		origin = someID(ID{Client: it.id().Client, Clock: it.startClock() + uint64(offset) - 1})
	}
	info := it.ckind & 0x1f
	if origin.ok {
		info |= 0x80
	}
	if it.info&flagRightOrigin != 0 {
		info |= 0x40
	}
	if it.info&(flagParentSub|flagParentSubBit) != 0 {
		info |= 0x20
	}
	e.WriteUint8(info)
	if origin.ok {
		e.WriteVarUint(origin.Client)
		e.WriteVarUint(origin.Clock)
	}
	if ro := it.rightOriginID(); ro.ok {
		e.WriteVarUint(ro.Client)
		e.WriteVarUint(ro.Clock)
	}
	if !origin.ok && it.info&flagRightOrigin == 0 {
		writeParent(e, it, l)
		if it.hasParentSub() {
			e.WriteVarString(it.parentSub())
		}
	}
	switch it.ckind {
	case refString:
		if offset == 0 {
			e.WriteVarString(it.text())
		} else {
			_, r := splitString(it.text(), it.length(), offset)
			e.WriteVarString(r)
		}
	case refDeleted:
		e.WriteVarUint(uint64(it.length() - offset))
	default:
		it.content().write(e, offset)
	}
}

// writeParent encodes the parent of an item that has no origins: a root
// type by name, or the ID of the item holding a nested type.
func writeParent(e *lib0.Encoder, it *Item, l *structList) {
	if pref := it.pref(); pref != nil { // an unintegrated item (pending, or merging updates)
		if pref.isRoot {
			e.WriteVarUint(1)
			e.WriteVarString(pref.root)
		} else {
			e.WriteVarUint(0)
			e.WriteVarUint(pref.id.Client)
			e.WriteVarUint(pref.id.Clock)
		}
		return
	}
	p := l.parentAt(it.startClock())
	if p.item == nil {
		e.WriteVarUint(1)
		e.WriteVarString(p.name)
		return
	}
	e.WriteVarUint(0)
	e.WriteVarUint(p.item.id().Client)
	e.WriteVarUint(p.item.startClock())
}

// content returns the item's content, nil for GC and Skip structs. Text
// and deleted content come as a copy (they have no record of their own):
// changing it changes nothing in the item.
func (it *Item) content() content {
	switch it.ckind {
	case refString:
		return &contentString{s: it.text(), n: it.length()}
	case refDeleted:
		return &contentDeleted{n: it.length()}
	case refFormat:
		return (*contentFormat)(it.ptr())
	case refType:
		return (*contentType)(it.ptr())
	case refAny:
		return (*contentAny)(it.ptr())
	case refJSON:
		return (*contentJSON)(it.ptr())
	case refEmbed:
		return (*contentEmbed)(it.ptr())
	case refBinary:
		return (*contentBinary)(it.ptr())
	case refDoc:
		return (*contentDoc)(it.ptr())
	}
	return nil
}

// setContent makes c the item's content (the length is the caller's).
// Text and deleted content are taken over, not kept.
func (it *Item) setContent(c content) {
	var p unsafe.Pointer
	it.info &^= flagWideText
	switch x := c.(type) {
	case nil:
		it.setPtr(nil)
		it.ckind = 0
		return
	case *contentString:
		it.setText(x.s, isASCII(unsafe.Slice(unsafe.StringData(x.s), len(x.s))))
		it.ckind = refString
		return
	case *contentDeleted:
		it.setPtr(nil)
		it.ckind = refDeleted
		return
	case *contentFormat:
		p = unsafe.Pointer(x)
	case *contentType:
		p = unsafe.Pointer(x)
	case *contentAny:
		p = unsafe.Pointer(x)
	case *contentJSON:
		p = unsafe.Pointer(x)
	case *contentEmbed:
		p = unsafe.Pointer(x)
	case *contentBinary:
		p = unsafe.Pointer(x)
	case *contentDoc:
		p = unsafe.Pointer(x)
	default:
		panic(errInternal)
	}
	it.setPtr(p)
	it.ckind = c.ref()
}

// str returns the item's text, if that is what it holds.
func (it *Item) str() (string, bool) {
	if it.ckind != refString {
		return "", false
	}
	return it.text(), true
}

// cutFront drops the first offset units of the item's content (the length
// is the caller's).
func (it *Item) cutFront(offset int) {
	switch it.ckind {
	case refString:
		_, r := splitString(it.text(), it.length(), offset)
		it.setText(r, it.textASCII())
	case refDeleted:
	default:
		it.setContent(it.content().splice(offset))
	}
}

// integrateContent does what the content needs when the item is linked in:
// deleted content marks the item deleted; a nested type learns its place.
func (it *Item) integrateContent(txn *Transaction) {
	switch it.ckind {
	case refString:
	case refDeleted:
		id := it.id()
		txn.addDelete(id.Client, id.Clock, uint64(it.length()))
		it.info |= flagDeleted
	default:
		it.content().integrate(txn, it)
	}
}

// format returns the item's format content, if that is what it holds.
func (it *Item) format() (*contentFormat, bool) {
	if it.ckind != refFormat {
		return nil, false
	}
	return (*contentFormat)(it.ptr()), true
}
