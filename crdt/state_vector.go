package crdt

import (
	"fmt"

	"github.com/quirehq/quire/crdt/lib0"
)

// StateVector maps each client to the next clock expected from it: a
// summary of which content a replica has.
type StateVector map[uint64]uint64

// Encode returns the state vector in Yjs's v1 encoding (clients in
// descending order, as Yjs writes them).
func (sv StateVector) Encode() []byte {
	e := lib0.NewEncoder(1 + len(sv)*10)
	e.WriteVarUint(uint64(len(sv)))
	for _, client := range sortedClientsDesc(sv) {
		e.WriteVarUint(client)
		e.WriteVarUint(sv[client])
	}
	return e.Bytes()
}

// DecodeStateVector decodes a v1 state vector.
func DecodeStateVector(b []byte) (StateVector, error) {
	d := lib0.NewDecoder(b)
	sv, err := readStateVector(d)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedStateVector, err)
	}
	return sv, nil
}

func readStateVector(d *lib0.Decoder) (StateVector, error) {
	n, err := d.ReadVarUint()
	if err != nil {
		return nil, err
	}
	if n > uint64(d.Remaining())/2 {
		return nil, lib0.ErrLengthExceedsInput
	}
	sv := make(StateVector, n)
	for i := uint64(0); i < n; i++ {
		client, err := d.ReadVarUint()
		if err != nil {
			return nil, err
		}
		clock, err := d.ReadVarUint()
		if err != nil {
			return nil, err
		}
		sv[client] = clock
	}
	return sv, nil
}
