package loadtest

import (
	"errors"
	"fmt"

	"github.com/quirehq/quire/crdt/lib0"
)

// Protocol is a framing of y-protocols messages on the WebSocket.
type Protocol string

// The framings the clients speak.
const (
	// YWebsocket is y-websocket's framing: the URL path names the
	// document, every binary message is one y-protocols message.
	YWebsocket Protocol = "y-websocket"
	// Hocuspocus is @hocuspocus/provider's framing: every message starts
	// with the document name (a varstring), and the first one carries an
	// auth token.
	Hocuspocus Protocol = "hocuspocus"
)

// y-protocols message types and sync sub-types; Hocuspocus adds a few
// (syncReply answers a step 1 without asking for one back).
const (
	msgSync       = 0
	msgAwareness  = 1
	msgAuth       = 2
	msgSyncReply  = 4
	syncStep1     = 0
	syncStep2     = 1
	syncUpdate    = 2
	authToken     = 0
	authDenied    = 1
	emptyUpdateV1 = "\x00\x00" // no structs, no deletions
)

// frame wraps a y-protocols message for protocol p and document doc.
func frame(p Protocol, doc string, msg []byte) []byte {
	if p != Hocuspocus {
		return msg
	}
	e := lib0.NewEncoder(len(doc) + len(msg) + 4)
	e.WriteVarString(doc)
	e.WriteRaw(msg)
	return e.Bytes()
}

// unframe returns the y-protocols message inside b.
func unframe(p Protocol, b []byte) ([]byte, error) {
	if p != Hocuspocus {
		return b, nil
	}
	d := lib0.NewDecoder(b)
	if _, err := d.ReadVarString(); err != nil {
		return nil, fmt.Errorf("hocuspocus document name: %w", err)
	}
	return b[d.Pos():], nil
}

func syncMessage(sub uint64, payload []byte) []byte {
	e := lib0.NewEncoder(len(payload) + 8)
	e.WriteVarUint(msgSync)
	e.WriteVarUint(sub)
	e.WriteVarBytes(payload)
	return e.Bytes()
}

// authMessage is Hocuspocus's token message (type auth, sub-type token).
func authMessage(token string) []byte {
	e := lib0.NewEncoder(len(token) + 4)
	e.WriteVarUint(msgAuth)
	e.WriteVarUint(authToken)
	e.WriteVarString(token)
	return e.Bytes()
}

// awarenessMessage announces one client's presence, as a provider does
// when it connects: clock 1 and a small user state.
func awarenessMessage(client uint64, state string) []byte {
	var u lib0.Encoder
	u.WriteVarUint(1)
	u.WriteVarUint(client)
	u.WriteVarUint(1)
	u.WriteVarString(state)
	e := lib0.NewEncoder(u.Len() + 4)
	e.WriteVarUint(msgAwareness)
	e.WriteVarBytes(u.Bytes())
	return e.Bytes()
}

// inbound is a decoded y-protocols message from the server.
type inbound struct {
	kind, sub uint64
	payload   []byte
}

func decodeInbound(b []byte) (inbound, error) {
	d := lib0.NewDecoder(b)
	kind, err := d.ReadVarUint()
	if err != nil {
		return inbound{}, err
	}
	m := inbound{kind: kind}
	switch kind {
	case msgSync, msgSyncReply:
		if m.sub, err = d.ReadVarUint(); err != nil {
			return m, err
		}
		if m.sub <= syncUpdate {
			m.payload, err = d.ReadVarBytes()
		}
	case msgAuth:
		m.sub, err = d.ReadVarUint()
	}
	return m, err
}

// clockRange is how far an update takes one client: its structs end at
// clock end.
type clockRange struct {
	client, end uint64
}

var errUnknownContent = errors.New("unknown content kind")

// clockEnds reads the struct headers of a v1 update and returns, per client
// listed, where its structs end. Contents are skipped by their encoded
// length; the delete set is not read.
func clockEnds(update []byte) ([]clockRange, error) {
	d := lib0.NewDecoder(update)
	clients, err := d.ReadVarUint()
	if err != nil {
		return nil, err
	}
	if clients > uint64(d.Remaining()) {
		return nil, lib0.ErrLengthExceedsInput
	}
	out := make([]clockRange, 0, clients)
	for range clients {
		structs, err1 := d.ReadVarUint()
		client, err2 := d.ReadVarUint()
		clock, err3 := d.ReadVarUint()
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, err
		}
		if structs > uint64(d.Remaining()) {
			return nil, lib0.ErrLengthExceedsInput
		}
		for range structs {
			n, err := structLength(d)
			if err != nil {
				return nil, err
			}
			clock += n
		}
		out = append(out, clockRange{client, clock})
	}
	return out, nil
}

// structLength reads one struct and returns its length in clock units.
func structLength(d *lib0.Decoder) (uint64, error) {
	info, err := d.ReadUint8()
	if err != nil {
		return 0, err
	}
	ref := info & 0x1f
	if ref == 0 || ref == 10 { // GC, Skip
		return d.ReadVarUint()
	}
	if info&0x80 != 0 { // left origin
		if err := skipVarUints(d, 2); err != nil {
			return 0, err
		}
	}
	if info&0x40 != 0 { // right origin
		if err := skipVarUints(d, 2); err != nil {
			return 0, err
		}
	}
	if info&0xc0 == 0 { // no origin: the parent is written
		named, err := d.ReadVarUint()
		if err != nil {
			return 0, err
		}
		if named == 1 {
			_, err = d.ReadVarString()
		} else {
			err = skipVarUints(d, 2)
		}
		if err != nil {
			return 0, err
		}
		if info&0x20 != 0 {
			if _, err := d.ReadVarString(); err != nil {
				return 0, err
			}
		}
	}
	switch ref {
	case 1: // deleted
		return d.ReadVarUint()
	case 2: // JSON: n strings
		n, err := d.ReadVarUint()
		if err != nil {
			return 0, err
		}
		for range n {
			if _, err := d.ReadVarString(); err != nil {
				return 0, err
			}
		}
		return n, nil
	case 3: // binary
		_, err := d.ReadVarBytes()
		return 1, err
	case 4: // string: its length in UTF-16 code units
		s, err := d.ReadVarString()
		n := uint64(0)
		for _, r := range s {
			n++
			if r >= 0x10000 {
				n++
			}
		}
		return n, err
	case 5: // embed
		_, err := d.ReadVarString()
		return 1, err
	case 6: // format
		_, err1 := d.ReadVarString()
		_, err2 := d.ReadVarString()
		return 1, errors.Join(err1, err2)
	case 7: // type
		t, err := d.ReadVarUint()
		if err == nil && (t == 3 || t == 5) {
			_, err = d.ReadVarString()
		}
		return 1, err
	case 8: // any: n values
		n, err := d.ReadVarUint()
		if err != nil {
			return 0, err
		}
		for range n {
			if _, err := d.ReadAny(); err != nil {
				return 0, err
			}
		}
		return n, nil
	case 9: // subdocument
		_, err1 := d.ReadVarString()
		_, err2 := d.ReadAny()
		return 1, errors.Join(err1, err2)
	}
	return 0, fmt.Errorf("%w %d", errUnknownContent, ref)
}

func skipVarUints(d *lib0.Decoder, n int) error {
	for range n {
		if _, err := d.ReadVarUint(); err != nil {
			return err
		}
	}
	return nil
}
