package crdt

// Array is a shared list of values (Y.Array).
type Array struct{ b *branch }

// Array returns the root array named name.
func (d *Doc) Array(name string) (*Array, error) {
	b, err := d.rootOfKind(name, KindArray)
	if err != nil {
		return nil, err
	}
	return &Array{b}, nil
}

// Len returns the number of elements.
func (a *Array) Len() int { return a.b.length }

// Insert inserts values at index. Values are lib0 Any values (nil, bool,
// numbers, strings, []any, maps and lib0.Object), []byte, *SubDoc or a
// NewType, which creates a nested type; the created types are returned in
// order. With a nil txn the insert is a transaction of its own.
func (a *Array) Insert(txn *Transaction, index int, values ...any) ([]any, error) {
	if err := a.b.checkAlive(); err != nil {
		return nil, err
	}
	var created []*branch
	var err error
	withTxn(a.b, txn, func(txn *Transaction) {
		created, err = a.b.insert(txn, index, values)
	})
	return publics(created), err
}

// Push appends values.
func (a *Array) Push(txn *Transaction, values ...any) ([]any, error) {
	return a.Insert(txn, a.b.length, values...)
}

// Delete removes length elements from index (in a transaction of its own
// when txn is nil).
func (a *Array) Delete(txn *Transaction, index, length int) error {
	if err := a.b.checkAlive(); err != nil {
		return err
	}
	var err error
	withTxn(a.b, txn, func(txn *Transaction) {
		err = a.b.deleteRange(txn, index, length)
	})
	return err
}

// Get returns the element at index.
func (a *Array) Get(index int) (any, bool) { return a.b.listGet(index) }

// Values returns all elements. Nested types appear as their handles.
func (a *Array) Values() []any { return a.b.listValues() }

// ToJSON returns the array as plain values, nested types converted.
func (a *Array) ToJSON() []any {
	vals := a.b.listValues()
	for i, v := range vals {
		vals[i] = toJSON(v)
	}
	return vals
}

func publics(bs []*branch) []any {
	if len(bs) == 0 {
		return nil
	}
	out := make([]any, len(bs))
	for i, b := range bs {
		out[i] = b.public()
	}
	return out
}
