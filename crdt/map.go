package crdt

import (
	"slices"

	"github.com/quirehq/quire/crdt/lib0"
)

// Map is a shared map from strings to values (Y.Map). Concurrent writes to
// one key resolve to the same winner on every replica.
type Map struct{ b *branch }

// Map returns the root map named name.
func (d *Doc) Map(name string) (*Map, error) {
	b, err := d.rootOfKind(name, KindMap)
	if err != nil {
		return nil, err
	}
	return &Map{b}, nil
}

// Set writes value under key. Values are as for Array.Insert, plus
// lib0.BigInt and lib0.Undefined. When value is a NewType the created type
// is returned. With a nil txn the write is a transaction of its own.
func (m *Map) Set(txn *Transaction, key string, value any) (any, error) {
	if err := m.b.checkAlive(); err != nil {
		return nil, err
	}
	var created *branch
	var err error
	withTxn(m.b, txn, func(txn *Transaction) {
		created, err = m.b.mapSet(txn, key, value)
	})
	if err != nil || created == nil {
		return nil, err
	}
	return created.public(), nil
}

// Delete removes key (in a transaction of its own when txn is nil).
func (m *Map) Delete(txn *Transaction, key string) error {
	if err := m.b.checkAlive(); err != nil {
		return err
	}
	withTxn(m.b, txn, func(txn *Transaction) { m.b.mapDelete(txn, key) })
	return nil
}

// Get returns the value of key.
func (m *Map) Get(key string) (any, bool) { return m.b.mapGet(key) }

// Has reports whether key has a value.
func (m *Map) Has(key string) bool {
	_, ok := m.b.mapGet(key)
	return ok
}

// Keys returns the keys with values, sorted.
func (m *Map) Keys() []string {
	keys := m.b.mapKeys()
	slices.Sort(keys)
	return keys
}

// Len returns the number of keys with values.
func (m *Map) Len() int { return len(m.b.mapKeys()) }

// ToJSON returns the map as plain values, nested types converted.
func (m *Map) ToJSON() map[string]any {
	out := make(map[string]any)
	for _, k := range m.b.mapKeys() {
		v, _ := m.b.mapGet(k)
		out[k] = toJSON(v)
	}
	return out
}

// toJSON converts nested types into plain values, as Yjs's toJSON does.
func toJSON(v any) any {
	switch x := v.(type) {
	case *Array:
		return x.ToJSON()
	case *Map:
		return x.ToJSON()
	case *Text:
		return x.String()
	case *XmlText:
		return x.String()
	case *XmlElement:
		return x.String()
	case *XmlFragment:
		return x.String()
	case *XmlHook:
		return (&Map{x.b}).ToJSON()
	case lib0.Object:
		return x.Map()
	}
	return v
}
