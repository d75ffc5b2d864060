package crdt

// ID names one unit of content: the client that created it and that
// client's logical clock at creation. Clocks count units (UTF-16 code units
// of text, array elements, ...), so an Item of length n owns n IDs.
type ID struct {
	Client uint64
	Clock  uint64
}

// optID is an ID that may be absent, as origins are.
type optID struct {
	ID
	ok bool
}

func someID(id ID) optID { return optID{ID: id, ok: true} }

// equal compares two optional IDs the way Yjs's compareIDs does: both
// absent, or both present and equal.
func (a optID) equal(b optID) bool {
	if !a.ok || !b.ok {
		return a.ok == b.ok
	}
	return a.ID == b.ID
}
