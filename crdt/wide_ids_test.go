package crdt_test

import (
	"bytes"
	"testing"

	"github.com/quirehq/quire/crdt"
	"github.com/quirehq/quire/crdt/lib0"
)

// Items keep their origins in eight bytes when client and clock fit in 32
// bits, and whole otherwise. These tests use client IDs and clocks beyond
// 2^32 (valid in Yjs, up to 2^53) and check that nothing is lost: the same
// text and the same encoding whatever the delivery order, after a load, and
// after MergeUpdates.

// wideItem encodes a one-struct client block holding a text item.
func wideItem(e *lib0.Encoder, client, clock uint64, origin, right *crdt.ID, text string) {
	e.WriteVarUint(1)
	e.WriteVarUint(client)
	e.WriteVarUint(clock)
	info := byte(4) // string content
	if origin != nil {
		info |= 0x80
	}
	if right != nil {
		info |= 0x40
	}
	e.WriteUint8(info)
	if origin != nil {
		e.WriteVarUint(origin.Client)
		e.WriteVarUint(origin.Clock)
	}
	if right != nil {
		e.WriteVarUint(right.Client)
		e.WriteVarUint(right.Clock)
	}
	if origin == nil && right == nil {
		e.WriteVarUint(1)
		e.WriteVarString("t")
	}
	e.WriteVarString(text)
}

func TestWideOrigins(t *testing.T) {
	const c5, big, c7 = 5, 1 << 40, 7
	const clk = 1 << 33
	var us [][]byte
	// Client 5: a collected range of 2^33 units, then "ab" at clock 2^33.
	e := lib0.NewEncoder(0)
	e.WriteVarUint(1)
	e.WriteVarUint(2)
	e.WriteVarUint(c5)
	e.WriteVarUint(0)
	e.WriteUint8(0)
	e.WriteVarUint(clk)
	e.WriteUint8(4)
	e.WriteVarUint(1)
	e.WriteVarString("t")
	e.WriteVarString("ab")
	e.WriteVarUint(0)
	us = append(us, bytes.Clone(e.Bytes()))
	// A client beyond 2^32 inserts "x" between a and b, client 7 "y"
	// after it.
	e = lib0.NewEncoder(0)
	e.WriteVarUint(1)
	wideItem(e, big, 0, &crdt.ID{Client: c5, Clock: clk}, &crdt.ID{Client: c5, Clock: clk + 1}, "x")
	e.WriteVarUint(0)
	us = append(us, bytes.Clone(e.Bytes()))
	e = lib0.NewEncoder(0)
	e.WriteVarUint(1)
	wideItem(e, c7, 0, &crdt.ID{Client: big, Clock: 0}, &crdt.ID{Client: c5, Clock: clk + 1}, "y")
	e.WriteVarUint(0)
	us = append(us, bytes.Clone(e.Bytes()))
	// Delete "b".
	e = lib0.NewEncoder(0)
	e.WriteVarUint(0)
	e.WriteVarUint(1)
	e.WriteVarUint(c5)
	e.WriteVarUint(1)
	e.WriteVarUint(clk + 1)
	e.WriteVarUint(1)
	us = append(us, bytes.Clone(e.Bytes()))

	apply := func(order []int) (*crdt.Doc, string) {
		d := crdt.NewDoc(crdt.Options{ClientID: 99})
		txt, _ := d.Text("t")
		for _, i := range order {
			if err := d.ApplyUpdate(us[i], nil); err != nil {
				t.Fatalf("update %d: %v", i, err)
			}
		}
		return d, txt.String()
	}
	a, sa := apply([]int{0, 1, 2, 3})
	b, sb := apply([]int{3, 2, 1, 0})
	if sa != "axy" || sb != "axy" {
		t.Fatalf("texts %q and %q, want \"axy\"", sa, sb)
	}
	state := a.EncodeStateAsUpdate()
	if got := b.EncodeStateAsUpdate(); !bytes.Equal(got, state) {
		t.Fatalf("delivery order changes the encoding:\n%x\n%x", state, got)
	}
	merged, err := crdt.MergeUpdates(us...)
	if err != nil {
		t.Fatal(err)
	}
	for name, u := range map[string][]byte{"state": state, "merged": merged} {
		d := crdt.NewDoc(crdt.Options{ClientID: 99})
		txt, _ := d.Text("t")
		if err := d.ApplyUpdate(u, nil); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if txt.String() != "axy" || !bytes.Equal(d.EncodeStateAsUpdate(), state) {
			t.Fatalf("%s: loaded %q, encoding differs: %v", name, txt.String(), !bytes.Equal(d.EncodeStateAsUpdate(), state))
		}
	}
}

// TestWideClientEdits edits as a client beyond 2^32 (splits, merges,
// concurrent inserts) next to an ordinary one and checks convergence and
// that a load of the result encodes the same.
func TestWideClientEdits(t *testing.T) {
	w := crdt.NewDoc(crdt.Options{ClientID: 1<<45 + 3})
	n := crdt.NewDoc(crdt.Options{ClientID: 3})
	wt, _ := w.Text("t")
	nt, _ := n.Text("t")
	sync := func() {
		for _, p := range [][2]*crdt.Doc{{w, n}, {n, w}} {
			u, err := p[0].EncodeDiff(p[1].EncodeStateVector())
			if err != nil {
				t.Fatal(err)
			}
			if err := p[1].ApplyUpdate(u, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	edit := func(d *crdt.Doc, f func(*crdt.Transaction) error) {
		t.Helper()
		var err error
		d.Transact(nil, func(txn *crdt.Transaction) { err = f(txn) })
		if err != nil {
			t.Fatal(err)
		}
	}
	edit(w, func(x *crdt.Transaction) error { return wt.Insert(x, 0, "hello world", nil) })
	sync()
	edit(w, func(x *crdt.Transaction) error { return wt.Insert(x, 5, ",", nil) })
	edit(n, func(x *crdt.Transaction) error { return nt.Insert(x, 5, "!", nil) })
	edit(n, func(x *crdt.Transaction) error { return nt.Delete(x, 1, 2) })
	edit(w, func(x *crdt.Transaction) error { return wt.Insert(x, 3, "__", nil) })
	sync()
	if wt.String() != nt.String() {
		t.Fatalf("diverged: %q and %q", wt.String(), nt.String())
	}
	state := w.EncodeStateAsUpdate()
	if !bytes.Equal(state, n.EncodeStateAsUpdate()) {
		t.Fatal("the replicas encode differently")
	}
	l := crdt.NewDoc(crdt.Options{ClientID: 9})
	lt, _ := l.Text("t")
	if err := l.ApplyUpdate(state, nil); err != nil {
		t.Fatal(err)
	}
	if lt.String() != wt.String() || !bytes.Equal(l.EncodeStateAsUpdate(), state) {
		t.Fatalf("load: %q, want %q (or the encoding differs)", lt.String(), wt.String())
	}
}

// TestWideClientTypes has a client beyond 2^32 set and overwrite map
// keys (items with a key as well as a wide ID), edit non-ASCII text
// (split inside emoji and CJK runs) and delete an array of nested maps
// (collected content), and checks that a replica and a load agree with it
// on content and encoding.
func TestWideClientTypes(t *testing.T) {
	w := crdt.NewDoc(crdt.Options{ClientID: 1<<50 + 11})
	m, _ := w.Map("m")
	txt, _ := w.Text("t")
	arr, _ := w.Array("a")
	var updates [][]byte
	w.OnUpdate(func(u []byte, _ any) { updates = append(updates, bytes.Clone(u)) })
	do := func(f func(*crdt.Transaction) error) {
		t.Helper()
		var err error
		w.Transact(nil, func(txn *crdt.Transaction) { err = f(txn) })
		if err != nil {
			t.Fatal(err)
		}
	}
	do(func(x *crdt.Transaction) error { _, err := m.Set(x, "k", "v1"); return err })
	do(func(x *crdt.Transaction) error { _, err := m.Set(x, "k", "v2"); return err })
	do(func(x *crdt.Transaction) error { _, err := m.Set(x, "j", 3.5); return err })
	do(func(x *crdt.Transaction) error { return txt.Insert(x, 0, "日本語😀テキスト", nil) })
	do(func(x *crdt.Transaction) error { return txt.Insert(x, 2, "ab", nil) })
	do(func(x *crdt.Transaction) error { return txt.Insert(x, 7, "€", nil) })
	do(func(x *crdt.Transaction) error { return txt.Delete(x, 1, 2) })
	do(func(x *crdt.Transaction) error {
		_, err := arr.Insert(x, 0, map[string]any{"a": 1.0}, "s", map[string]any{"b": "c"})
		return err
	})
	do(func(x *crdt.Transaction) error { return arr.Delete(x, 0, 2) })

	want := txt.String()
	if want != "日b語😀€テキスト" {
		t.Fatalf("text %q", want)
	}
	state := w.EncodeStateAsUpdate()
	r := crdt.NewDoc(crdt.Options{ClientID: 5})
	for i := len(updates) - 1; i >= 0; i-- { // out of order: pending first
		if err := r.ApplyUpdate(updates[i], nil); err != nil {
			t.Fatal(err)
		}
	}
	l := crdt.NewDoc(crdt.Options{ClientID: 6})
	if err := l.ApplyUpdate(state, nil); err != nil {
		t.Fatal(err)
	}
	for name, d := range map[string]*crdt.Doc{"replica": r, "load": l} {
		dt, _ := d.Text("t")
		dm, _ := d.Map("m")
		da, _ := d.Array("a")
		if dt.String() != want {
			t.Errorf("%s: text %q, want %q", name, dt.String(), want)
		}
		if v, _ := dm.Get("k"); v != "v2" {
			t.Errorf("%s: k = %v", name, v)
		}
		if got := da.ToJSON(); len(got) != 1 {
			t.Errorf("%s: array %v", name, got)
		}
		if !bytes.Equal(d.EncodeStateAsUpdate(), state) {
			t.Errorf("%s: encoding differs", name)
		}
	}
}
