package sync

import (
	"fmt"

	"github.com/quirehq/quire/crdt/lib0"
)

// The y-protocols message framing that y-websocket speaks: every WebSocket
// binary message is one message, a varuint type followed by a payload.
// Sync messages carry a varuint sub-type and a varbytes payload (a state
// vector for step 1, a v1 update for step 2 and update); awareness
// messages carry one varbytes awareness update (see awareness.go).
const (
	messageSync           = 0
	messageAwareness      = 1
	messageAuth           = 2 // server → client only (permission denied); refused when received
	messageQueryAwareness = 3

	syncStep1  = 0 // payload: the sender's state vector; answered with step 2
	syncStep2  = 1 // payload: the update the receiver lacks
	syncUpdate = 2 // payload: an update made after the initial exchange
)

// keepaliveMessage is an awareness update with no clients: [messageAwareness,
// varbytes of length 1 holding the count 0]. y-websocket closes a socket on
// which no message arrived for 30 s (WebSocket pongs are invisible to
// browser code), so idle members get one every PingInterval. It is the
// cheapest message y-websocket handles without effect: applyAwarenessUpdate
// reads a count of zero, changes nothing and emits no event, and the
// provider sends no reply. A sync step 1 would also do, but makes every
// idle client compute and send a step 2 back.
var keepaliveMessage = []byte{messageAwareness, 1, 0}

// message is one decoded incoming message. Only the framing is decoded
// here; payloads are checked by whoever uses them.
type message struct {
	kind    uint64 // messageSync, messageAwareness, ...
	sub     uint64 // for messageSync: syncStep1, syncStep2 or syncUpdate
	payload []byte // aliases the received bytes
}

// decodeMessage decodes the framing of b. A message of a type the server
// does not handle (auth, or one from another protocol) is returned without
// reading its payload, whose layout is unknown, for dispatch to refuse; a
// sync message of an unknown sub-type is malformed. Bytes after the
// payload are ignored, as y-protocols does.
func decodeMessage(b []byte) (message, error) {
	d := lib0.NewDecoder(b)
	kind, err := d.ReadVarUint()
	if err != nil {
		return message{}, invalidPayload("malformed message", err)
	}
	m := message{kind: kind}
	switch kind {
	case messageSync:
		if m.sub, err = d.ReadVarUint(); err != nil {
			return message{}, invalidPayload("malformed sync message", err)
		}
		if m.sub > syncUpdate {
			// y-protocols throws on it too: no client sends one.
			return message{}, invalidPayload("unknown sync message type", fmt.Errorf("sync sub-type %d", m.sub))
		}
		if m.payload, err = d.ReadVarBytes(); err != nil {
			return message{}, invalidPayload("malformed sync message", err)
		}
	case messageAwareness:
		if m.payload, err = d.ReadVarBytes(); err != nil {
			return message{}, invalidPayload("malformed awareness message", err)
		}
	}
	return m, nil
}
