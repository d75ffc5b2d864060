package crdt

import (
	"errors"
	"fmt"

	"github.com/quirehq/quire/crdt/lib0"
)

// maxClock bounds clocks: Yjs clocks are JavaScript numbers, exact to 2^53.
const maxClock = 1 << 53

var (
	errClockOverflow = errors.New("clock exceeds 2^53")
	errZeroLength    = errors.New("struct of length zero")
	errSelfReference = errors.New("item refers to its own client's future")
	errUnknownRef    = errors.New("unknown content or type reference")
)

// decodedUpdate is a v1 update in memory: structs per client in clock order
// (Skip structs included) and the delete set. Structs are not integrated.
type decodedUpdate struct {
	structs map[uint64][]*Item
	ds      deleteSet
}

// decodeUpdate parses a complete v1 update. It validates everything that can
// be checked without a document, so that applying the result cannot fail
// half way because of bad bytes.
func decodeUpdate(b []byte) (*decodedUpdate, error) {
	d := lib0.NewDecoder(b)
	u := &decodedUpdate{}
	var err error
	if u.structs, err = readStructs(d); err != nil {
		return nil, fmt.Errorf("%w: structs at byte %d: %w", ErrMalformedUpdate, d.Pos(), err)
	}
	if u.ds, err = readDeleteSet(d); err != nil {
		return nil, fmt.Errorf("%w: delete set at byte %d: %w", ErrMalformedUpdate, d.Pos(), err)
	}
	return u, nil
}

func readStructs(d *lib0.Decoder) (map[uint64][]*Item, error) {
	numClients, err := d.ReadVarUint()
	if err != nil {
		return nil, err
	}
	if numClients > uint64(d.Remaining())/3 {
		return nil, lib0.ErrLengthExceedsInput
	}
	out := make(map[uint64][]*Item, numClients)
	for i := uint64(0); i < numClients; i++ {
		numStructs, err := d.ReadVarUint()
		if err != nil {
			return nil, err
		}
		client, err := d.ReadVarUint()
		if err != nil {
			return nil, err
		}
		clock, err := d.ReadVarUint()
		if err != nil {
			return nil, err
		}
		// Every struct takes at least two bytes.
		if numStructs > uint64(d.Remaining())/2 {
			return nil, lib0.ErrLengthExceedsInput
		}
		refs := make([]*Item, 0, numStructs)
		for j := uint64(0); j < numStructs; j++ {
			it, err := readStruct(d, ID{Client: client, Clock: clock})
			if err != nil {
				return nil, err
			}
			clock += uint64(it.length)
			if clock > maxClock {
				return nil, errClockOverflow
			}
			refs = append(refs, it)
		}
		// A client listed twice replaces its earlier entry, as in Yjs.
		out[client] = refs
	}
	return out, nil
}

func readStruct(d *lib0.Decoder, id ID) (*Item, error) {
	info, err := d.ReadUint8()
	if err != nil {
		return nil, err
	}
	switch info & 0x1f {
	case refGC, refSkip:
		n, err := d.ReadVarUint()
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, errZeroLength
		}
		if n > maxClock {
			return nil, errClockOverflow
		}
		it := &Item{id: id, length: int(n), info: flagGC | flagDeleted}
		if info&0x1f == refSkip {
			it.info = flagSkip
		}
		return it, nil
	}
	it := &Item{id: id}
	if info&0x80 != 0 {
		if it.origin, err = readID(d); err != nil {
			return nil, err
		}
		it.info |= flagOrigin
		if it.origin.Client == id.Client && it.origin.Clock >= id.Clock {
			return nil, errSelfReference
		}
	}
	if info&0x40 != 0 {
		if it.rightOrigin, err = readID(d); err != nil {
			return nil, err
		}
		it.info |= flagRightOrigin
		if it.rightOrigin.Client == id.Client && it.rightOrigin.Clock >= id.Clock {
			return nil, errSelfReference
		}
	}
	if info&0xc0 != 0 && info&0x20 != 0 {
		it.info |= flagParentSubBit
	}
	if info&0xc0 == 0 {
		// No origins: the parent is named explicitly.
		isRoot, err := d.ReadVarUint()
		if err != nil {
			return nil, err
		}
		ref := &parentRef{isRoot: isRoot == 1}
		if ref.isRoot {
			if ref.root, err = d.ReadVarString(); err != nil {
				return nil, err
			}
		} else {
			if ref.id, err = readID(d); err != nil {
				return nil, err
			}
			if ref.id.Client == id.Client && ref.id.Clock >= id.Clock {
				return nil, errSelfReference
			}
		}
		it.pref = ref
		if info&0x20 != 0 {
			if it.parentSub, err = d.ReadVarString(); err != nil {
				return nil, err
			}
			it.info |= flagParentSub
		}
	}
	if it.content, err = readContent(d, info&0x1f); err != nil {
		return nil, err
	}
	it.length = it.content.length()
	if it.length == 0 {
		return nil, errZeroLength
	}
	if it.content.countable() {
		it.info |= flagCountable
	}
	return it, nil
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
