package crdt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
	"unsafe"

	"github.com/quirehq/quire/crdt/lib0"
)

// maxClock bounds clocks: Yjs clocks are JavaScript numbers, exact to 2^53.
const maxClock = 1 << 53

var (
	errClockOverflow = errors.New("clock exceeds 2^53")
	errZeroLength    = errors.New("struct of length zero")
	errSelfReference = errors.New("item refers to its own client's future")
	errUnknownRef    = errors.New("unknown content or type reference")
	errTextTooLong   = errors.New("string of 4 GiB or more in one struct")
)

// decodedUpdate is a v1 update in memory: structs per client in clock order
// (Skip structs included) and the delete set. Structs are not integrated.
type decodedUpdate struct {
	structs map[uint64][]*Item
	// An update with structs of one client only (the usual case) has them
	// in oneClient/one instead of in structs: the decoded items themselves,
	// in clock order, without a slice of pointers to them.
	oneClient uint64
	one       []Item
	ds        deleteSet
	// A delete set of one client (the usual case) is in dsClient/dsRanges
	// instead of in ds, when dsOne is set.
	dsOne    bool
	dsClient uint64
	dsRanges []idRange
	// dsBuf holds dsRanges when they are few (one range, usually).
	dsBuf [2]idRange
	// With scratch set, an update of one struct is decoded into box, and
	// the struct is flagged flagScratch: it must be detached (copied to
	// the heap) before anything keeps it (see Item.detach). Typing merges
	// most such structs into an existing item, so they need no memory of
	// their own.
	scratch bool
	box     itemBox
}

// decodeUpdate parses a complete v1 update. It validates everything that can
// be checked without a document, so that applying the result cannot fail
// half way because of bad bytes.
func decodeUpdate(b []byte) (*decodedUpdate, error) {
	u := new(decodedUpdate)
	if err := decodeUpdateInto(b, u); err != nil {
		return nil, err
	}
	if u.one != nil {
		u.structs = map[uint64][]*Item{u.oneClient: itemPointers(u.one)}
		u.one = nil
	}
	if u.dsOne {
		u.ds = deleteSet{u.dsClient: append([]idRange(nil), u.dsRanges...)}
		putRanges(u.dsRanges)
		u.dsOne, u.dsRanges = false, nil
	}
	return u, nil
}

// decodeUpdateInto is decodeUpdate into u, which must be zero, except
// that the structs of an update with a single client are left in u.one and
// a delete set of one client in u.dsClient/u.dsRanges.
func decodeUpdateInto(b []byte, u *decodedUpdate) error {
	d := lib0.NewDecoder(b)
	if err := readStructs(d, u); err != nil {
		return fmt.Errorf("%w: structs at byte %d: %w", ErrMalformedUpdate, d.Pos(), err)
	}
	if err := readDeleteSetInto(d, u); err != nil {
		return fmt.Errorf("%w: delete set at byte %d: %w", ErrMalformedUpdate, d.Pos(), err)
	}
	return nil
}

func readStructs(d *lib0.Decoder, u *decodedUpdate) error {
	numClients, err := readClientCount(d)
	if err != nil {
		return err
	}
	var out map[uint64][]*Item
	if numClients > 1 {
		out = make(map[uint64][]*Item, numClients)
	}
	for i := uint64(0); i < numClients; i++ {
		var box *itemBox
		if out == nil && u.scratch {
			box = &u.box
		}
		client, slab, err := readClientBlock(d, box)
		if err != nil {
			return err
		}
		if out == nil {
			u.oneClient, u.one = client, slab
			continue
		}
		// A client listed twice replaces its earlier entry, as in Yjs.
		out[client] = itemPointers(slab)
	}
	u.structs = out
	return nil
}

// readClientCount reads the number of client blocks of an update, bounded
// by the input: a block takes at least three bytes.
func readClientCount(d *lib0.Decoder) (uint64, error) {
	n, err := d.ReadVarUint()
	if err != nil {
		return 0, err
	}
	if n > uint64(d.Remaining())/3 {
		return 0, lib0.ErrLengthExceedsInput
	}
	return n, nil
}

// itemPointers returns pointers to the items of slab, in order.
func itemPointers(slab []Item) []*Item {
	refs := make([]*Item, len(slab))
	for i := range slab {
		refs[i] = &slab[i]
	}
	return refs
}

// readClientBlock reads one client's block: struct count, client, start
// clock, then the structs in clock order, into one slab.
// A lone struct is decoded into scratch when it is not nil.
func readClientBlock(d *lib0.Decoder, scratch *itemBox) (client uint64, slab []Item, err error) {
	numStructs, err := d.ReadVarUint()
	if err != nil {
		return 0, nil, err
	}
	var ar decodeArena
	var clientRaw []byte
	if client, clientRaw, err = d.ReadVarUintBytes(); err != nil {
		return 0, nil, err
	}
	ar.clientPrefix = lib0.NewWordPrefix(clientRaw)
	ar.client = client
	clock, err := d.ReadVarUint()
	if err != nil {
		return 0, nil, err
	}
	// Every struct takes at least two bytes.
	if numStructs > uint64(d.Remaining())/2 {
		return 0, nil, lib0.ErrLengthExceedsInput
	}
	if numStructs == 1 {
		// The usual update: one struct, allocated with its string content.
		box := scratch
		if box == nil {
			box = new(itemBox)
		}
		slab = box.it[:]
	} else {
		// One allocation for all the client's items.
		slab = make([]Item, numStructs)
	}
	for j := 0; j < len(slab); j++ {
		// Runs of the usual items first, then one struct of any kind.
		k, n, next := ar.readItemsFast(d.Unread(), slab[j:], clock)
		d.Advance(n)
		j, clock = j+k, next
		if j == len(slab) {
			break
		}
		it := &slab[j]
		if err := readStructInto(d, ID{Client: client, Clock: clock}, it, &ar, len(slab)-j); err != nil {
			return 0, nil, err
		}
		clock += uint64(it.length())
		if clock > maxClock {
			return 0, nil, errClockOverflow
		}
	}
	if numStructs == 1 && scratch != nil {
		slab[0].info |= flagScratch
	}
	return client, slab, nil
}

func readStruct(d *lib0.Decoder, id ID) (*Item, error) {
	it := &Item{}
	ar := decodeArena{single: true}
	if err := readStructInto(d, id, it, &ar, 1); err != nil {
		return nil, err
	}
	return it, nil
}

// itemBox holds a lone decoded struct.
type itemBox struct {
	it [1]Item
}

// decodeArena hands out the bytes of decoded strings in chunks, to spare
// an allocation per decoded string.
type decodeArena struct {
	bytes []byte
	// single is set when only one struct is read: no chunks then.
	single bool
	// client is the client of the block being read, clientPrefix its
	// encoding: most IDs in a block name that client, and comparing bytes
	// is cheaper than decoding a five-byte integer.
	client       uint64
	clientPrefix lib0.WordPrefix
}

// readID reads an ID.
func (ar *decodeArena) readID(d *lib0.Decoder) (ID, error) {
	if clock, ok := d.ReadVarUintAfter(&ar.clientPrefix); ok {
		return ID{Client: ar.client, Clock: clock}, nil
	}
	if d.SkipWordPrefix(&ar.clientPrefix) {
		clock, err := d.ReadVarUint()
		return ID{Client: ar.client, Clock: clock}, err
	}
	return readID(d)
}

// str returns a copy of b as a string, carved from a shared chunk. rest
// bounds the string bytes still to come (the unread input).
func (ar *decodeArena) str(b []byte, rest int) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > maxArenaString || len(b) == 1 || ar.single {
		return string(b) // (one-byte strings need no allocation)
	}
	if len(b) > cap(ar.bytes)-len(ar.bytes) {
		ar.bytes = make([]byte, 0, min(2048, len(b)+rest))
	}
	start := len(ar.bytes)
	ar.bytes = append(ar.bytes, b...)
	return unsafe.String(&ar.bytes[start], len(b))
}

// readStructInto decodes one struct into it. String contents come from ar,
// whose content chunk is refilled for up to left structs at a time.
func readStructInto(d *lib0.Decoder, id ID, it *Item, ar *decodeArena, left int) error {
	info, err := d.ReadUint8()
	if err != nil {
		return err
	}
	switch info & 0x1f {
	case refGC, refSkip:
		n, err := d.ReadVarUint()
		if err != nil {
			return err
		}
		if n == 0 {
			return errZeroLength
		}
		if n > maxClock {
			return errClockOverflow
		}
		*it = Item{info: flagGC | flagDeleted}
		if info&0x1f == refSkip {
			it.info = flagSkip
		}
		it.setOwn(id, int(n))
		return nil
	}
	if (id.Client|id.Clock)>>32 == 0 && it.info&(flagWideOwn|flagRare) == 0 {
		it.client, it.clock = uint32(id.Client), uint32(id.Clock) // (setOwn, inlined)
	} else {
		it.setOwn(id, 0)
	}
	var rareKey string
	var rareRef *parentRef
	if info&0x80 != 0 {
		o, err := ar.readID(d)
		if err != nil {
			return err
		}
		if p, fits := packID(o); fits { // (setOrigin on a fresh item)
			it.origin = p
			it.info |= flagOrigin
		} else {
			it.setOrigin(someID(o))
		}
		if o.Client == id.Client && o.Clock >= id.Clock {
			return errSelfReference
		}
	}
	if info&0x40 != 0 {
		r, err := ar.readID(d)
		if err != nil {
			return err
		}
		if p, fits := packID(r); fits && it.info&flagWideOrigins == 0 {
			it.rightOrigin = p
			it.info |= flagRightOrigin
		} else {
			it.setRightOrigin(someID(r))
		}
		if r.Client == id.Client && r.Clock >= id.Clock {
			return errSelfReference
		}
	}
	if info&0xc0 != 0 && info&0x20 != 0 {
		it.info |= flagParentSubBit
	}
	if info&0xc0 == 0 {
		// No origins: the parent is named explicitly.
		isRoot, err := d.ReadVarUint()
		if err != nil {
			return err
		}
		ref := parentRef{isRoot: isRoot == 1}
		if ref.isRoot {
			if ref.root, err = d.ReadVarString(); err != nil {
				return err
			}
		} else {
			if ref.id, err = ar.readID(d); err != nil {
				return err
			}
			if ref.id.Client == id.Client && ref.id.Clock >= id.Clock {
				return errSelfReference
			}
		}
		var key string
		if info&0x20 != 0 {
			if key, err = d.ReadVarString(); err != nil {
				return err
			}
			it.info |= flagParentSub
		}
		// (Set once the content is: setting that would copy the record.)
		rareKey, rareRef = key, &ref
	}
	if info&0x1f == refString {
		raw, err := d.ReadVarBytes()
		if err != nil {
			return err
		}
		var s string
		var n int
		ascii := false
		switch {
		case isASCII(raw): // valid, one unit per byte
			s, n, ascii = ar.str(raw, d.Remaining()), len(raw), true
		case utf8.Valid(raw):
			s = ar.str(raw, d.Remaining())
			n = lib0.UTF16Len(s)
		default:
			s = lib0.ToValidUTF8(raw)
			n = lib0.UTF16Len(s)
		}
		if n == 0 {
			return errZeroLength
		}
		if uint64(len(s)) > maxTextBytes {
			return errTextTooLong
		}
		// (setContent, length and countable without interface calls.)
		it.setText(s, ascii)
		it.ckind = refString
		it.setLength(n)
		it.info |= flagCountable
	} else if info&0x1f == refDeleted {
		n, err := d.ReadVarUint()
		if err != nil {
			return err
		}
		if n > maxClock {
			return errClockOverflow
		}
		if n == 0 {
			return errZeroLength
		}
		it.ckind = refDeleted
		it.setLength(int(n))
	} else {
		c, err := readContent(d, info&0x1f)
		if err != nil {
			return err
		}
		it.setContent(c)
		it.setLength(c.length())
		if it.length() == 0 {
			return errZeroLength
		}
		if c.countable() {
			it.info |= flagCountable
		}
	}
	if rareRef != nil {
		it.setRare(rareKey, rareRef)
	}
	return nil
}

// isASCII reports whether b holds only ASCII bytes, eight at a time.
func isASCII(b []byte) bool {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if binary.LittleEndian.Uint64(b[i:])&0x8080808080808080 != 0 {
			return false
		}
	}
	for ; i < len(b); i++ {
		if b[i] >= 0x80 {
			return false
		}
	}
	return true
}

func readID(d *lib0.Decoder) (ID, error) {
	client, err := d.ReadVarUint()
	if err != nil {
		return ID{}, err
	}
	clock, err := d.ReadVarUint()
	return ID{Client: client, Clock: clock}, err
}

func readContent(d *lib0.Decoder, ref uint8) (content, error) {
	switch ref {
	case refDeleted:
		n, err := d.ReadVarUint()
		if err != nil {
			return nil, err
		}
		if n > maxClock {
			return nil, errClockOverflow
		}
		return &contentDeleted{n: int(n)}, nil
	case refJSON:
		n, err := d.ReadVarUint()
		if err != nil {
			return nil, err
		}
		if n > uint64(d.Remaining()) {
			return nil, lib0.ErrLengthExceedsInput
		}
		raw := make([]string, 0, n)
		for i := uint64(0); i < n; i++ {
			s, err := d.ReadVarString()
			if err != nil {
				return nil, err
			}
			if s != "undefined" {
				// Yjs parses and re-stringifies JSON content; keep the
				// normalised text so that re-encoding matches it.
				if s, err = normalizeJSON(s); err != nil {
					return nil, err
				}
			}
			raw = append(raw, s)
		}
		return &contentJSON{raw: raw}, nil
	case refBinary:
		b, err := d.ReadVarBytes()
		if err != nil {
			return nil, err
		}
		return &contentBinary{b: append([]byte(nil), b...)}, nil
	case refString:
		s, err := d.ReadVarString()
		if err != nil {
			return nil, err
		}
		return newContentString(s), nil
	case refEmbed:
		raw, err := d.ReadVarString()
		if err != nil {
			return nil, err
		}
		v, err := parseJSON(raw)
		if err != nil {
			return nil, err
		}
		if raw, err = stringifyJSON(v); err != nil {
			return nil, err
		}
		return &contentEmbed{raw: raw, value: v}, nil
	case refFormat:
		key, err := d.ReadVarString()
		if err != nil {
			return nil, err
		}
		raw, err := d.ReadVarString()
		if err != nil {
			return nil, err
		}
		v, err := parseJSON(raw)
		if err != nil {
			return nil, err
		}
		if raw, err = stringifyJSON(v); err != nil {
			return nil, err
		}
		return &contentFormat{key: key, raw: raw, value: v}, nil
	case refType:
		kind, err := d.ReadVarUint()
		if err != nil {
			return nil, err
		}
		b := &branch{kind: Kind(kind)}
		switch Kind(kind) {
		case KindArray, KindMap, KindText, KindXmlFragment, KindXmlText:
		case KindXmlElement, KindXmlHook:
			if b.name, err = d.ReadVarString(); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("%w: type %d", errUnknownRef, kind)
		}
		return &contentType{b: b}, nil
	case refAny:
		n, err := d.ReadVarUint()
		if err != nil {
			return nil, err
		}
		if n > uint64(d.Remaining()) {
			return nil, lib0.ErrLengthExceedsInput
		}
		vals := make([]any, 0, n)
		for i := uint64(0); i < n; i++ {
			v, err := d.ReadAny()
			if err != nil {
				return nil, err
			}
			vals = append(vals, v)
		}
		return &contentAny{vals: vals}, nil
	case refDoc:
		guid, err := d.ReadVarString()
		if err != nil {
			return nil, err
		}
		opts, err := d.ReadAny()
		if err != nil {
			return nil, err
		}
		return &contentDoc{doc: &SubDoc{GUID: guid, Opts: normalizeSubDocOpts(opts)}}, nil
	}
	return nil, fmt.Errorf("%w: content %d", errUnknownRef, ref)
}
