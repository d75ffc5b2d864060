package crdt

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"unicode/utf16"

	"github.com/quirehq/quire/crdt/lib0"
)

// The cases in this file and in xml_test.go were recorded with yjs 13.6.33:
// a throwaway node script performed the same edits with the same client IDs
// and printed every update a document emitted per step (local edits, and
// the clean-up transactions Yjs runs after remote changes to formatted
// text), followed by each document's final state, toString() and
// JSON.stringify(toDelta()).

type yOp struct {
	op     string
	path   []any
	index  int
	length int
	text   string
	attrs  Attrs
	key    string
	value  any
	nodes  []NewType
}

type yStep struct {
	doc     int
	sync    bool // apply what doc lacks from from
	from    int
	ops     []yOp // applied in one transaction
	updates []string
}

type yResult struct {
	state, text, delta, xml string
}

type yCase struct {
	name        string
	clients     []uint64
	keepDeleted bool
	steps       []yStep
	want        []yResult
}

func path(p ...any) []any { return p }

func runYCases(t *testing.T, cases []yCase) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runYCase(t, c) })
	}
}

func runYCase(t *testing.T, c yCase) {
	t.Helper()
	docs := make([]*Doc, len(c.clients))
	recording := -1
	var got []string
	for i, id := range c.clients {
		docs[i] = NewDoc(Options{ClientID: id, KeepDeleted: c.keepDeleted})
		docs[i].OnUpdate(func(u []byte, _ any) {
			if recording == i {
				got = append(got, hex.EncodeToString(u))
			}
		})
	}
	for si, st := range c.steps {
		recording, got = st.doc, nil
		d := docs[st.doc]
		if st.sync {
			u, err := docs[st.from].EncodeDiff(d.EncodeStateVector())
			if err != nil {
				t.Fatal(err)
			}
			if err := d.ApplyUpdate(u, nil); err != nil {
				t.Fatalf("step %d: %v", si, err)
			}
		} else {
			var err error
			d.Transact(nil, func(txn *Transaction) {
				for _, op := range st.ops {
					if err = applyYOp(txn, d, op); err != nil {
						return
					}
				}
			})
			if err != nil {
				t.Fatalf("step %d: %v", si, err)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(st.updates) {
			t.Fatalf("step %d: updates differ from Yjs\ngot  %v\nwant %v", si, got, st.updates)
		}
	}
	for i, want := range c.want {
		d := docs[i]
		if st := hex.EncodeToString(d.EncodeStateAsUpdate()); st != want.state {
			t.Errorf("doc %d: state differs\ngot  %s\nwant %s", i, st, want.state)
		}
		text, _ := d.Text("t")
		if s := text.String(); s != want.text {
			t.Errorf("doc %d: text %q, want %q", i, s, want.text)
		}
		if s := deltaJSON(t, text.Delta()); s != want.delta {
			t.Errorf("doc %d: delta\ngot  %s\nwant %s", i, s, want.delta)
		}
		x, _ := d.XmlFragment("x")
		if s := x.String(); s != want.xml {
			t.Errorf("doc %d: xml\ngot  %s\nwant %s", i, s, want.xml)
		}
	}
}

// deltaJSON renders a delta as JSON.stringify renders Yjs's.
func deltaJSON(t *testing.T, ops []DeltaOp) string {
	t.Helper()
	list := make([]any, len(ops))
	for i, op := range ops {
		o := lib0.Object{{Key: "insert", Value: toJSON(op.Insert)}}
		if op.Attributes != nil {
			o = append(o, lib0.Field{Key: "attributes", Value: op.Attributes})
		}
		list[i] = o
	}
	s, err := stringifyJSON(list)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func resolveYPath(d *Doc, p []any) (any, error) {
	var cur any
	var err error
	switch p[0] {
	case "t":
		cur, err = d.Text("t")
	case "x":
		cur, err = d.XmlFragment("x")
	}
	if err != nil {
		return nil, err
	}
	for _, step := range p[1:] {
		list, ok := cur.(interface{ Get(int) (any, bool) })
		if !ok {
			return nil, fmt.Errorf("%T has no children", cur)
		}
		if cur, ok = list.Get(step.(int)); !ok {
			return nil, fmt.Errorf("no child %v", step)
		}
	}
	return cur, nil
}

type textOps interface {
	Insert(txn *Transaction, index int, s string, attrs Attrs) error
	InsertEmbed(txn *Transaction, index int, embed any, attrs Attrs) (any, error)
	Delete(txn *Transaction, index, length int) error
	Format(txn *Transaction, index, length int, attrs Attrs) error
}

type xmlNodeOps interface {
	Insert(txn *Transaction, index int, nodes ...NewType) ([]any, error)
	Delete(txn *Transaction, index, length int) error
}

type attrOps interface {
	SetAttribute(txn *Transaction, key string, value any) error
	RemoveAttribute(txn *Transaction, key string) error
}

func applyYOp(txn *Transaction, d *Doc, op yOp) error {
	target, err := resolveYPath(d, op.path)
	if err != nil {
		return err
	}
	switch op.op {
	case "insert":
		return target.(textOps).Insert(txn, op.index, op.text, op.attrs)
	case "embed":
		_, err := target.(textOps).InsertEmbed(txn, op.index, op.value, op.attrs)
		return err
	case "delete":
		return target.(textOps).Delete(txn, op.index, op.length)
	case "format":
		return target.(textOps).Format(txn, op.index, op.length, op.attrs)
	case "setAttr":
		return target.(attrOps).SetAttribute(txn, op.key, op.value)
	case "removeAttr":
		return target.(attrOps).RemoveAttribute(txn, op.key)
	case "xinsert":
		_, err := target.(xmlNodeOps).Insert(txn, op.index, op.nodes...)
		return err
	case "xdelete":
		return target.(xmlNodeOps).Delete(txn, op.index, op.length)
	case "hset":
		_, err := target.(*XmlHook).Set(txn, op.key, op.value)
		return err
	}
	return fmt.Errorf("unknown op %q", op.op)
}

func TestTextAgainstYjs(t *testing.T) { runYCases(t, textCases) }

// TestTextLocalEditsAfterRemoteChanges edits unformatted text (where the
// position cache is in use) at random positions on two replicas that
// exchange updates in between, and checks every local edit against a plain
// string model: remote content must not leave stale cached positions.
func TestTextLocalEditsAfterRemoteChanges(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	docs := []*Doc{NewDoc(Options{ClientID: 1}), NewDoc(Options{ClientID: 2})}
	var pending [2][][]byte
	for i, d := range docs {
		d.OnUpdate(func(u []byte, origin any) {
			if origin == nil {
				pending[1-i] = append(pending[1-i], u)
			}
		})
	}
	pieces := []string{"a", "bc", "😀", "d🇩🇪", "é", "xyz"}
	for step := 0; step < 3000; step++ {
		i := rng.IntN(2)
		d := docs[i]
		if rng.IntN(4) == 0 {
			for _, u := range pending[i] {
				if err := d.ApplyUpdate(u, "remote"); err != nil {
					t.Fatal(err)
				}
			}
			pending[i] = nil
			continue
		}
		text, _ := d.Text("t")
		model := utf16.Encode([]rune(text.String()))
		if len(model) != text.Len() {
			t.Fatalf("step %d: Len %d, string has %d units", step, text.Len(), len(model))
		}
		if len(model) > 0 && rng.IntN(3) == 0 {
			// Keep deletions off surrogate pairs so the model stays exact.
			index := rng.IntN(len(model))
			n := 1 + rng.IntN(min(4, len(model)-index))
			if index > 0 && utf16.IsSurrogate(rune(model[index])) && model[index] >= 0xdc00 {
				index--
			}
			if end := index + n; end < len(model) && model[end] >= 0xdc00 && model[end] <= 0xdfff {
				n++
			}
			d.Transact(nil, func(txn *Transaction) {
				if err := text.Delete(txn, index, n); err != nil {
					t.Fatal(err)
				}
			})
			model = append(model[:index:index], model[index+n:]...)
		} else {
			index := rng.IntN(len(model) + 1)
			if index > 0 && index < len(model) && model[index] >= 0xdc00 && model[index] <= 0xdfff {
				index--
			}
			s := pieces[rng.IntN(len(pieces))]
			d.Transact(nil, func(txn *Transaction) {
				if err := text.Insert(txn, index, s, nil); err != nil {
					t.Fatal(err)
				}
			})
			model = append(model[:index:index], append(utf16.Encode([]rune(s)), model[index:]...)...)
		}
		if got, want := text.String(), string(utf16.Decode(model)); got != want {
			t.Fatalf("step %d: doc %d reads %q, want %q", step, i, got, want)
		}
	}
	for i, d := range docs {
		for _, u := range pending[i] {
			if err := d.ApplyUpdate(u, "remote"); err != nil {
				t.Fatal(err)
			}
		}
	}
	a, _ := docs[0].Text("t")
	b, _ := docs[1].Text("t")
	if a.String() != b.String() {
		t.Fatalf("replicas differ:\n%q\n%q", a.String(), b.String())
	}
}

func TestTextEditErrors(t *testing.T) {
	d := NewDoc(Options{ClientID: 1})
	text, _ := d.Text("t")
	d.Transact(nil, func(txn *Transaction) {
		if err := text.Insert(txn, 0, "abc", Attrs{{Key: "bold", Value: true}}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			err  error
			want error
		}{
			{"insert past end", text.Insert(txn, 4, "x", nil), ErrIndexOutOfRange},
			{"insert negative", text.Insert(txn, -1, "x", nil), ErrIndexOutOfRange},
			{"delete past end", text.Delete(txn, 2, 2), ErrIndexOutOfRange},
			{"format from past end", text.Format(txn, 4, 1, Attrs{{Key: "i", Value: true}}), ErrIndexOutOfRange},
			{"undefined attribute", text.Insert(txn, 0, "x", Attrs{{Key: "u", Value: lib0.Undefined{}}}), ErrUnsupportedValue},
			{"bigint attribute", text.Format(txn, 0, 1, Attrs{{Key: "n", Value: lib0.BigInt(1)}}), ErrUnsupportedValue},
			{"struct attribute", text.Format(txn, 0, 1, Attrs{{Key: "s", Value: struct{ A int }{1}}}), ErrUnsupportedValue},
		} {
			if !errors.Is(tc.err, tc.want) {
				t.Errorf("%s: got %v, want %v", tc.name, tc.err, tc.want)
			}
		}
		if _, err := text.InsertEmbed(txn, 0, nil, nil); !errors.Is(err, ErrUnsupportedValue) {
			t.Errorf("nil embed: got %v", err)
		}
		// Empty edits change nothing.
		if err := text.Insert(txn, 1, "", nil); err != nil {
			t.Error(err)
		}
		if err := text.Delete(txn, 1, 0); err != nil {
			t.Error(err)
		}
	})
	if got := deltaJSON(t, text.Delta()); got != `[{"insert":"abc","attributes":{"bold":true}}]` {
		t.Errorf("failed edits changed the text: %s", got)
	}

	// Edits on a type that was deleted are refused.
	arr, _ := d.Array("a")
	var nested *Text
	d.Transact(nil, func(txn *Transaction) {
		created, _ := arr.Insert(txn, 0, NewType{Kind: KindText})
		nested = created[0].(*Text)
		_ = arr.Delete(txn, 0, 1)
	})
	d.Transact(nil, func(txn *Transaction) {
		if err := nested.Insert(txn, 0, "x", nil); !errors.Is(err, ErrDeletedType) {
			t.Errorf("insert into deleted text: %v", err)
		}
	})
}

// TestTextGoValues checks that Go numbers and maps act as the JavaScript
// values they encode as: an int attribute equals the same float64, and a
// map is written with sorted keys.
func TestTextGoValues(t *testing.T) {
	d := NewDoc(Options{ClientID: 1})
	text, _ := d.Text("t")
	var updates []string
	d.OnUpdate(func(u []byte, _ any) { updates = append(updates, hex.EncodeToString(u)) })
	d.Transact(nil, func(txn *Transaction) {
		_ = text.Insert(txn, 0, "abcd", Attrs{{Key: "size", Value: 12}})
	})
	d.Transact(nil, func(txn *Transaction) {
		// Same value as a float: nothing to do.
		_ = text.Format(txn, 0, 4, Attrs{{Key: "size", Value: 12.0}})
	})
	if len(updates) != 1 {
		t.Fatalf("format with an equal value produced an update: %v", updates)
	}
	d.Transact(nil, func(txn *Transaction) {
		_ = text.Format(txn, 1, 2, Attrs{{Key: "link", Value: map[string]any{"z": 1, "a": "x"}}})
	})
	want := `[{"insert":"a","attributes":{"size":12}},{"insert":"bc","attributes":{"size":12,"link":{"a":"x","z":1}}},{"insert":"d","attributes":{"size":12}}]`
	if got := deltaJSON(t, text.Delta()); got != want {
		t.Errorf("delta\ngot  %s\nwant %s", got, want)
	}
	// A replica reads the same.
	r := NewDoc(Options{ClientID: 2})
	if err := r.ApplyUpdate(d.EncodeStateAsUpdate(), nil); err != nil {
		t.Fatal(err)
	}
	rt, _ := r.Text("t")
	if got := deltaJSON(t, rt.Delta()); got != want {
		t.Errorf("remote delta\ngot  %s\nwant %s", got, want)
	}
}

func TestTextWithoutTransaction(t *testing.T) {
	d := NewDoc(Options{ClientID: 1})
	text, _ := d.Text("t")
	n := 0
	d.OnUpdate(func([]byte, any) { n++ })
	if err := text.Insert(nil, 0, "hi", nil); err != nil {
		t.Fatal(err)
	}
	if err := text.Format(nil, 0, 1, Attrs{{Key: "b", Value: true}}); err != nil {
		t.Fatal(err)
	}
	if text.String() != "hi" || n != 2 {
		t.Errorf("got %q after %d updates", text.String(), n)
	}
}

var textCases = []yCase{
	{
		name:    "plain inserts and deletes",
		clients: []uint64{1},
		steps: []yStep{
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 0, text: "hello"}}, updates: []string{"01010100040101740568656c6c6f00"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 5, text: " world"}}, updates: []string{"010101058401040620776f726c6400"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 0, text: ">"}}, updates: []string{"0101010b440100013e00"}},
			{doc: 0, ops: []yOp{{op: "delete", path: path("t"), index: 3, length: 5}}, updates: []string{"000101010205"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 3, text: "XY"}}, updates: []string{"0101010cc40106010702585900"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 1, text: "a"}, {op: "insert", path: path("t"), index: 2, text: "b"}, {op: "delete", path: path("t"), index: 0, length: 1}}, updates: []string{"0101010ec4010b01000261620101010b01"}},
		},
		want: []yResult{
			{state: "010601000401017402686581010105840106046f726c6441010001c401060107025859c4010b010002616201010202050b01", text: "abheXYorld", delta: "[{\"insert\":\"abheXYorld\"}]", xml: ""},
		},
	},
	{
		name:    "insert with attributes and inheriting at boundaries",
		clients: []uint64{7},
		steps: []yStep{
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 0, text: "abc"}}, updates: []string{"01010700040101740361626300"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 3, text: "BOLD", attrs: Attrs{{Key: "bold", Value: true}}}}, updates: []string{"0103070386070204626f6c64047472756584070304424f4c4486070704626f6c64046e756c6c00"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 7, text: "x"}}, updates: []string{"01010709c407070708017800"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 3, text: "y"}}, updates: []string{"0101070ac407020703017900"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 5, text: "z"}}, updates: []string{"0101070bc407040705017a00"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 5, text: "i", attrs: Attrs{{Key: "italic", Value: true}}}}, updates: []string{"0105070cc60704070b066974616c69630474727565c6070c070b04626f6c64046e756c6cc4070d070b0169c6070e070b066974616c6963046e756c6cc6070f070b04626f6c64047472756500"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 0, text: "P", attrs: Attrs{}}}, updates: []string{"01010711440700015000"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 6, text: "Q", attrs: Attrs{{Key: "bold", Value: true}, {Key: "italic", Value: true}}}}, updates: []string{"01010712c4070c070d015100"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 13, text: "end", attrs: Attrs{{Key: "color", Value: "#f00"}, {Key: "bold", Value: nil}}}}, updates: []string{"0103071386070805636f6c6f720622236630302284071303656e6486071605636f6c6f72046e756c6c00"}},
		},
		want: []yResult{
			{state: "01120700040101740361626386070204626f6c6404747275658407030142840704034f4c4486070704626f6c64046e756c6cc4070707080178c4070207030179c407040705017ac60704070b066974616c69630474727565c6070c070b04626f6c64046e756c6cc4070d070b0169c6070e070b066974616c6963046e756c6cc6070f070b04626f6c6404747275654407000150c4070c070d015186070805636f6c6f720622236630302284071303656e6486071605636f6c6f72046e756c6c00", text: "PabcyBQizOLDxend", delta: "[{\"insert\":\"Pabcy\"},{\"insert\":\"B\",\"attributes\":{\"bold\":true}},{\"insert\":\"Q\",\"attributes\":{\"bold\":true,\"italic\":true}},{\"insert\":\"i\",\"attributes\":{\"italic\":true}},{\"insert\":\"zOLDx\",\"attributes\":{\"bold\":true}},{\"insert\":\"end\",\"attributes\":{\"color\":\"#f00\"}}]", xml: ""},
		},
	},
	{
		name:    "attribute key order follows javascript objects",
		clients: []uint64{12},
		steps: []yStep{
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 0, text: "ab", attrs: Attrs{{Key: "z", Value: float64(1)}, {Key: "10", Value: "a"}, {Key: "2", Value: "b"}, {Key: "a", Value: true}, {Key: "z", Value: float64(5)}}}}, updates: []string{"01090c0006010174013203226222860c0002313003226122860c01017a0135860c0201610474727565840c03026162860c050132046e756c6c860c06023130046e756c6c860c07017a046e756c6c860c080161046e756c6c00"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 1, text: "c", attrs: Attrs{}}}, updates: []string{"01090c0ac60c040c050132046e756c6cc60c0a0c05023130046e756c6cc60c0b0c05017a046e756c6cc60c0c0c050161046e756c6cc40c0d0c050163c60c0e0c05013203226222c60c0f0c0502313003226122c60c100c05017a0135c60c110c050161047472756500"}},
			{doc: 0, ops: []yOp{{op: "format", path: path("t"), index: 0, length: 3, attrs: Attrs{{Key: "b", Value: float64(2)}, {Key: "3", Value: float64(1)}}}}, updates: []string{"01040c13460c0001330131c60c130c0001620132860c090133046e756c6c860c150162046e756c6c00"}},
		},
		want: []yResult{
			{state: "01170c0006010174013203226222860c0002313003226122860c01017a0135860c0201610474727565840c030161840c040162860c050132046e756c6c860c06023130046e756c6c860c07017a046e756c6c860c080161046e756c6cc60c040c050132046e756c6cc60c0a0c05023130046e756c6cc60c0b0c05017a046e756c6cc60c0c0c050161046e756c6cc40c0d0c050163c60c0e0c05013203226222c60c0f0c0502313003226122c60c100c05017a0135c60c110c0501610474727565460c0001330131c60c130c0001620132860c090133046e756c6c860c150162046e756c6c00", text: "acb", delta: "[{\"insert\":\"a\",\"attributes\":{\"2\":\"b\",\"3\":1,\"10\":\"a\",\"b\":2,\"z\":5,\"a\":true}},{\"insert\":\"c\",\"attributes\":{\"3\":1,\"b\":2}},{\"insert\":\"b\",\"attributes\":{\"2\":\"b\",\"3\":1,\"10\":\"a\",\"b\":2,\"z\":5,\"a\":true}}]", xml: ""},
		},
	},
	{
		name:    "format ranges spanning items and removing formats",
		clients: []uint64{3},
		steps: []yStep{
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 0, text: "one two three"}}, updates: []string{"01010300040101740d6f6e652074776f20746872656500"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 4, text: "X"}}, updates: []string{"0101030dc403030304015800"}},
			{doc: 0, ops: []yOp{{op: "format", path: path("t"), index: 2, length: 6, attrs: Attrs{{Key: "bold", Value: true}}}}, updates: []string{"0102030ec60301030204626f6c640474727565c60306030704626f6c64046e756c6c00"}},
			{doc: 0, ops: []yOp{{op: "format", path: path("t"), index: 4, length: 6, attrs: Attrs{{Key: "italic", Value: true}, {Key: "bold", Value: true}}}}, updates: []string{"01030310c60303030d066974616c69630474727565c603080309066974616c6963046e756c6cc60311030904626f6c64046e756c6c0103010f01"}},
			{doc: 0, ops: []yOp{{op: "format", path: path("t"), index: 0, length: 14, attrs: Attrs{{Key: "bold", Value: nil}}}}, updates: []string{"000103020e011201"}},
			{doc: 0, ops: []yOp{{op: "format", path: path("t"), index: 1, length: 2, attrs: Attrs{{Key: "italic", Value: nil}}}}, updates: []string{}},
			{doc: 0, ops: []yOp{{op: "format", path: path("t"), index: 5, length: 1, attrs: Attrs{{Key: "size", Value: float64(12)}}}}, updates: []string{"01020313c6030d03040473697a65023132c6030403050473697a65046e756c6c00"}},
			{doc: 0, ops: []yOp{{op: "format", path: path("t"), index: 5, length: 1, attrs: Attrs{{Key: "size", Value: float64(12)}}}}, updates: []string{}},
			{doc: 0, ops: []yOp{{op: "format", path: path("t"), index: 0, length: 3, attrs: Attrs{{Key: "color", Value: "red"}}}}, updates: []string{"0102031546030005636f6c6f72052272656422c60302030305636f6c6f72046e756c6c00"}},
			{doc: 0, ops: []yOp{{op: "format", path: path("t"), index: 0, length: 3, attrs: Attrs{{Key: "color", Value: "blue"}}}}, updates: []string{"0102031746031505636f6c6f720622626c756522c60302031605636f6c6f720522726564220103011501"}},
		},
		want: []yResult{
			{state: "0113030004010174026f6e84030101658403020120840303017484030402776f8403060220748403080468726565c4030303040158c10301030201c10306030701c60303030d066974616c69630474727565c603080309066974616c6963046e756c6cc10311030901c6030d03040473697a65023132c6030403050473697a65046e756c6c41030001c60302030305636f6c6f72046e756c6c46031505636f6c6f720622626c756522c60302031605636f6c6f720522726564220103030e0212011501", text: "one Xtwo three", delta: "[{\"insert\":\"one\",\"attributes\":{\"color\":\"blue\"}},{\"insert\":\" \"},{\"insert\":\"X\",\"attributes\":{\"italic\":true}},{\"insert\":\"t\",\"attributes\":{\"italic\":true,\"size\":12}},{\"insert\":\"wo t\",\"attributes\":{\"italic\":true}},{\"insert\":\"hree\"}]", xml: ""},
		},
	},
	{
		name:    "object attribute values",
		clients: []uint64{5},
		steps: []yStep{
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 0, text: "link here", attrs: Attrs{{Key: "link", Value: lib0.Object{{Key: "href", Value: "a"}}}}}}, updates: []string{"0103050006010174046c696e6b0c7b2268726566223a2261227d840500096c696e6b2068657265860509046c696e6b046e756c6c00"}},
			{doc: 0, ops: []yOp{{op: "format", path: path("t"), index: 2, length: 3, attrs: Attrs{{Key: "link", Value: lib0.Object{{Key: "href", Value: "a"}}}}}}, updates: []string{}},
			{doc: 0, ops: []yOp{{op: "format", path: path("t"), index: 2, length: 3, attrs: Attrs{{Key: "link", Value: lib0.Object{{Key: "href", Value: "b"}}}}}}, updates: []string{"0102050bc605020503046c696e6b0c7b2268726566223a2262227dc605050506046c696e6b0c7b2268726566223a2261227d00"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 3, text: "q"}}, updates: []string{"0101050dc405030504017100"}},
			{doc: 0, ops: []yOp{{op: "format", path: path("t"), index: 0, length: 9, attrs: Attrs{{Key: "link", Value: nil}, {Key: "list", Value: []any{float64(1), float64(2)}}}}}, updates: []string{"0103050e460500046c697374055b312c325dc605080509046c697374046e756c6cc6050f0509046c696e6b0c7b2268726566223a2261227d01050200010b02"}},
			{doc: 0, ops: []yOp{{op: "delete", path: path("t"), index: 2, length: 4}}, updates: []string{"0001050203030d01"}},
		},
		want: []yResult{
			{state: "010d05000101017401840500026c698105020181050302840505036865728405080165860509046c696e6b046e756c6cc10502050301c10505050601c10503050401460500046c697374055b312c325dc605080509046c697374046e756c6cc6050f0509046c696e6b0c7b2268726566223a2261227d010503000103030b03", text: "lihere", delta: "[{\"insert\":\"liher\",\"attributes\":{\"list\":[1,2]}},{\"insert\":\"e\",\"attributes\":{\"link\":{\"href\":\"a\"}}}]", xml: ""},
		},
	},
	{
		name:    "format beyond the end appends newlines",
		clients: []uint64{9},
		steps: []yStep{
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 0, text: "abc"}}, updates: []string{"01010900040101740361626300"}},
			{doc: 0, ops: []yOp{{op: "format", path: path("t"), index: 1, length: 5, attrs: Attrs{{Key: "header", Value: float64(1)}}}}, updates: []string{"01030903c609000901066865616465720131840902030a0a0a86090606686561646572046e756c6c00"}},
			{doc: 0, ops: []yOp{{op: "delete", path: path("t"), index: 2, length: 4}}, updates: []string{"0001090202010403"}},
			{doc: 0, ops: []yOp{{op: "format", path: path("t"), index: 2, length: 2, attrs: Attrs{}}}, updates: []string{"01010908840907020a0a00"}},
			{doc: 0, ops: []yOp{{op: "format", path: path("t"), index: 2, length: 1, attrs: Attrs{{Key: "bold", Value: true}}}}, updates: []string{"0102090ac60907090804626f6c640474727565c60908090904626f6c64046e756c6c00"}},
		},
		want: []yResult{
			{state: "010a0900040101740161840900016281090101c6090009010668656164657201318109020386090606686561646572046e756c6c840907010a840908010ac60907090804626f6c640474727565c60908090904626f6c64046e756c6c01090202010403", text: "ab\n\n", delta: "[{\"insert\":\"a\"},{\"insert\":\"b\",\"attributes\":{\"header\":1}},{\"insert\":\"\\n\",\"attributes\":{\"bold\":true}},{\"insert\":\"\\n\"}]", xml: ""},
		},
	},
	{
		name:    "deletes across formatted items clean up",
		clients: []uint64{4},
		steps: []yStep{
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 0, text: "aaa"}}, updates: []string{"01010400040101740361616100"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 3, text: "bbb", attrs: Attrs{{Key: "bold", Value: true}}}}, updates: []string{"0103040386040204626f6c6404747275658404030362626286040604626f6c64046e756c6c00"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 6, text: "ccc", attrs: Attrs{{Key: "italic", Value: true}}}}, updates: []string{"01030408860407066974616c696304747275658404080363636386040b066974616c6963046e756c6c00"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 9, text: "ddd", attrs: Attrs{{Key: "bold", Value: true}}}}, updates: []string{"0103040d86040c04626f6c64047472756584040d0364646486041004626f6c64046e756c6c00"}},
			{doc: 0, ops: []yOp{{op: "delete", path: path("t"), index: 5, length: 5}}, updates: []string{"000104010609"}},
			{doc: 0, ops: []yOp{{op: "delete", path: path("t"), index: 2, length: 2}}, updates: []string{"0001040202010401"}},
			{doc: 0, ops: []yOp{{op: "delete", path: path("t"), index: 0, length: 2}}, updates: []string{"000104010002"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 0, text: "new"}}, updates: []string{"01010412c404020403036e657700"}},
			{doc: 0, ops: []yOp{{op: "delete", path: path("t"), index: 0, length: 6}}, updates: []string{"00010403030105010f06"}},
		},
		want: []yResult{
			{state: "0103040001010174038104020fc104020403030104010015", text: "", delta: "[]", xml: ""},
		},
	},
	{
		name:    "delete between equal formats",
		clients: []uint64{44},
		steps: []yStep{
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 0, text: "xx", attrs: Attrs{{Key: "bold", Value: true}}}}, updates: []string{"01032c000601017404626f6c640474727565842c00027878862c0204626f6c64046e756c6c00"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 2, text: "yy"}}, updates: []string{"01012c04c42c022c0302797900"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 4, text: "zz", attrs: Attrs{{Key: "bold", Value: true}}}}, updates: []string{"01012c06c42c052c03027a7a00"}},
			{doc: 0, ops: []yOp{{op: "delete", path: path("t"), index: 2, length: 2}}, updates: []string{"00012c010402"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 2, text: "m"}}, updates: []string{"01012c08c42c052c06016d00"}},
		},
		want: []yResult{
			{state: "01062c000601017404626f6c640474727565842c00027878862c0204626f6c64046e756c6cc12c022c0302c42c052c03027a7ac42c052c06016d012c010402", text: "xxmzz", delta: "[{\"insert\":\"xxmzz\",\"attributes\":{\"bold\":true}}]", xml: ""},
		},
	},
	{
		name:    "embeds",
		clients: []uint64{11},
		steps: []yStep{
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 0, text: "ab", attrs: Attrs{{Key: "bold", Value: true}}}}, updates: []string{"01030b000601017404626f6c640474727565840b00026162860b0204626f6c64046e756c6c00"}},
			{doc: 0, ops: []yOp{{op: "embed", path: path("t"), index: 1, value: lib0.Object{{Key: "image", Value: "x.png"}}}}, updates: []string{"01030b04c60b010b0204626f6c64046e756c6cc50b040b02117b22696d616765223a22782e706e67227dc60b050b0204626f6c64047472756500"}},
			{doc: 0, ops: []yOp{{op: "embed", path: path("t"), index: 3, attrs: Attrs{{Key: "width", Value: float64(10)}}, value: lib0.Object{{Key: "image", Value: "y.png"}}}}, updates: []string{"01030b07860b03057769647468023130850b07117b22696d616765223a22792e706e67227d860b08057769647468046e756c6c00"}},
			{doc: 0, ops: []yOp{{op: "embed", path: path("t"), index: 0, attrs: Attrs{{Key: "bold", Value: true}}, value: []any{float64(1), "two", nil}}}, updates: []string{"01010b0ac50b000b010e5b312c2274776f222c6e756c6c5d00"}},
			{doc: 0, ops: []yOp{{op: "embed", path: path("t"), index: 5, value: NewType{Kind: KindText}}}, updates: []string{"01010b0b870b090200"}},
			{doc: 0, ops: []yOp{{op: "embed", path: path("t"), index: 2, value: "str"}}, updates: []string{"01010b0cc40b040b050373747200"}},
			{doc: 0, ops: []yOp{{op: "delete", path: path("t"), index: 1, length: 3}}, updates: []string{"00010b0201010c02"}},
			{doc: 0, ops: []yOp{{op: "format", path: path("t"), index: 0, length: 6, attrs: Attrs{{Key: "bold", Value: nil}}}}, updates: []string{"00010b03000103020601"}},
		},
		want: []yResult{
			{state: "010e0b000101017401810b0001840b010162810b0201c10b010b0201c50b040b02117b22696d616765223a22782e706e67227dc10b050b0201860b03057769647468023130850b07117b22696d616765223a22792e706e67227d860b08057769647468046e756c6cc50b000b010e5b312c2274776f222c6e756c6c5d870b0902c10b040b0502c40b0d0b050172010b040002030206010c02", text: "rb", delta: "[{\"insert\":[1,\"two\",null]},{\"insert\":\"r\"},{\"insert\":{\"image\":\"x.png\"}},{\"insert\":\"b\"},{\"insert\":{\"image\":\"y.png\"},\"attributes\":{\"width\":10}},{\"insert\":\"\"}]", xml: ""},
		},
	},
	{
		name:    "surrogate pairs",
		clients: []uint64{21},
		steps: []yStep{
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 0, text: "a😀b🇩🇪c"}}, updates: []string{"01011500040101740f61f09f988062f09f87a9f09f87aa6300"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 3, text: "X"}}, updates: []string{"01011509c415021503015800"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 2, text: "é"}}, updates: []string{"0101150ac41501150202c3a900"}},
			{doc: 0, ops: []yOp{{op: "delete", path: path("t"), index: 5, length: 3}}, updates: []string{"000115010303"}},
			{doc: 0, ops: []yOp{{op: "format", path: path("t"), index: 1, length: 4, attrs: Attrs{{Key: "bold", Value: true}}}}, updates: []string{"0102150bc61500150104626f6c640474727565c61505150604626f6c64046e756c6c00"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 4, text: "👍🏽", attrs: Attrs{{Key: "italic", Value: true}}}}, updates: []string{"0105150dc615021509066974616c69630474727565c6150d150904626f6c64046e756c6cc4150e150908f09f918df09f8fbdc615121509066974616c6963046e756c6cc61513150904626f6c64047472756500"}},
			{doc: 0, ops: []yOp{{op: "delete", path: path("t"), index: 8, length: 2}}, updates: []string{"00011504060109010c011401"}},
		},
		want: []yResult{
			{state: "010f150004010174016184150003efbfbd84150103efbfbd811502038115050184150604efbfbd63c11502150301c41501150202c3a9c61500150104626f6c640474727565c11505150601c615021509066974616c69630474727565c6150d150904626f6c64046e756c6cc4150e150908f09f918df09f8fbdc615121509066974616c6963046e756c6cc11513150901011504030409010c011401", text: "a�é�👍🏽�c", delta: "[{\"insert\":\"a\"},{\"insert\":\"�é�\",\"attributes\":{\"bold\":true}},{\"insert\":\"👍🏽\",\"attributes\":{\"italic\":true}},{\"insert\":\"�c\"}]", xml: ""},
		},
	},
	{
		name:    "concurrent formatting merges and cleans up",
		clients: []uint64{100, 200},
		steps: []yStep{
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 0, text: "shared text here"}}, updates: []string{"0101640004010174107368617265642074657874206865726500"}},
			{sync: true, from: 0, doc: 1, updates: []string{"0101640004010174107368617265642074657874206865726500"}},
			{doc: 0, ops: []yOp{{op: "format", path: path("t"), index: 0, length: 10, attrs: Attrs{{Key: "bold", Value: true}}}}, updates: []string{"0102641046640004626f6c640474727565c66409640a04626f6c64046e756c6c00"}},
			{doc: 1, ops: []yOp{{op: "format", path: path("t"), index: 3, length: 10, attrs: Attrs{{Key: "bold", Value: true}}}}, updates: []string{"0102c80100c66402640304626f6c640474727565c6640c640d04626f6c64046e756c6c00"}},
			{sync: true, from: 0, doc: 1, updates: []string{"0102641046640004626f6c640474727565c66409640a04626f6c64046e756c6c00"}},
			{sync: true, from: 1, doc: 0, updates: []string{"0102c80100c66402640304626f6c640474727565c6640c640d04626f6c64046e756c6c00"}},
			{doc: 0, ops: []yOp{{op: "format", path: path("t"), index: 2, length: 3, attrs: Attrs{{Key: "italic", Value: true}}}}, updates: []string{"01026412c664016402066974616c69630474727565c664046405066974616c6963046e756c6c00"}},
			{doc: 1, ops: []yOp{{op: "format", path: path("t"), index: 2, length: 3, attrs: Attrs{{Key: "italic", Value: true}}}}, updates: []string{"0102c80102c664016402066974616c69630474727565c664046405066974616c6963046e756c6c00"}},
			{doc: 1, ops: []yOp{{op: "delete", path: path("t"), index: 6, length: 4}}, updates: []string{"000164010604"}},
			{sync: true, from: 1, doc: 0, updates: []string{"0102c80102c664016402066974616c69630474727565c664046405066974616c6963046e756c6c0164010604"}},
			{sync: true, from: 0, doc: 1, updates: []string{"01026412c664016402066974616c69630474727565c664046405066974616c6963046e756c6c00"}},
			{sync: true, from: 1, doc: 0, updates: []string{}},
		},
		want: []yResult{
			{state: "0204c80100c66402640304626f6c640474727565c6640c640d04626f6c64046e756c6cc664016402066974616c69630474727565c664046405066974616c6963046e756c6c0b64000401017402736884640101618464020272658464040164816405048464090374206884640c0365726546640004626f6c640474727565c66409640a04626f6c64046e756c6cc664016402066974616c69630474727565c664046405066974616c6963046e756c6c0164010604", text: "sharedt here", delta: "[{\"insert\":\"sh\",\"attributes\":{\"bold\":true}},{\"insert\":\"a\",\"attributes\":{\"bold\":true,\"italic\":true}},{\"insert\":\"re\",\"attributes\":{\"bold\":true,\"italic\":true}},{\"insert\":\"d\",\"attributes\":{\"bold\":true}},{\"insert\":\"t h\"},{\"insert\":\"ere\"}]", xml: ""},
			{state: "0204c80100c66402640304626f6c640474727565c6640c640d04626f6c64046e756c6cc664016402066974616c69630474727565c664046405066974616c6963046e756c6c0b64000401017402736884640101618464020272658464040164816405048464090374206884640c0365726546640004626f6c640474727565c66409640a04626f6c64046e756c6cc664016402066974616c69630474727565c664046405066974616c6963046e756c6c0164010604", text: "sharedt here", delta: "[{\"insert\":\"sh\",\"attributes\":{\"bold\":true}},{\"insert\":\"a\",\"attributes\":{\"bold\":true,\"italic\":true}},{\"insert\":\"re\",\"attributes\":{\"bold\":true,\"italic\":true}},{\"insert\":\"d\",\"attributes\":{\"bold\":true}},{\"insert\":\"t h\"},{\"insert\":\"ere\"}]", xml: ""},
		},
	},
	{
		name:    "concurrent deletes between formats (contextless clean-up)",
		clients: []uint64{300, 20},
		steps: []yStep{
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 0, text: "aa"}}, updates: []string{"0101ac02000401017402616100"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 2, text: "bb", attrs: Attrs{{Key: "bold", Value: true}}}}, updates: []string{"0103ac020286ac020104626f6c64047472756584ac020202626286ac020404626f6c64046e756c6c00"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 4, text: "cc"}}, updates: []string{"0101ac0206c4ac0204ac020502636300"}},
			{sync: true, from: 0, doc: 1, updates: []string{"0105ac02000401017402616186ac020104626f6c64047472756584ac020202626286ac020404626f6c64046e756c6cc4ac0204ac020502636300"}},
			{doc: 1, ops: []yOp{{op: "insert", path: path("t"), index: 2, text: "X", attrs: Attrs{{Key: "bold", Value: true}}}}, updates: []string{"01011400c4ac0202ac0203015800"}},
			{doc: 0, ops: []yOp{{op: "delete", path: path("t"), index: 2, length: 2}}, updates: []string{"0001ac02010302"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 2, text: "Y", attrs: Attrs{{Key: "bold", Value: true}}}}, updates: []string{"0101ac0208c4ac0204ac0206015900"}},
			{sync: true, from: 1, doc: 0, updates: []string{"01011400c4ac0202ac0203015800"}},
			{sync: true, from: 0, doc: 1, updates: []string{"0101ac0208c4ac0204ac0206015901ac02010302"}},
			{doc: 1, ops: []yOp{{op: "delete", path: path("t"), index: 0, length: 3}}, updates: []string{"0002ac0201000214010001"}},
			{sync: true, from: 1, doc: 0, updates: []string{"0002ac0201000214010001"}},
		},
		want: []yResult{
			{state: "0206ac0200010101740286ac020104626f6c64047472756581ac02020286ac020404626f6c64046e756c6cc4ac0204ac0205026363c4ac0204ac02060159011400c1ac0202ac02030102ac02020002030214010001", text: "Ycc", delta: "[{\"insert\":\"Ycc\",\"attributes\":{\"bold\":true}}]", xml: ""},
			{state: "0206ac0200010101740286ac020104626f6c64047472756581ac02020286ac020404626f6c64046e756c6cc4ac0204ac0205026363c4ac0204ac02060159011400c1ac0202ac02030102ac02020002030214010001", text: "Ycc", delta: "[{\"insert\":\"Ycc\",\"attributes\":{\"bold\":true}}]", xml: ""},
		},
	},
	{
		name:        "concurrent format at the start of text (full clean-up)",
		clients:     []uint64{55, 66},
		keepDeleted: true,
		steps: []yStep{
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 0, text: "abcdef"}}, updates: []string{"01013700040101740661626364656600"}},
			{sync: true, from: 0, doc: 1, updates: []string{"01013700040101740661626364656600"}},
			{doc: 0, ops: []yOp{{op: "format", path: path("t"), index: 0, length: 3, attrs: Attrs{{Key: "bold", Value: true}}}}, updates: []string{"0102370646370004626f6c640474727565c63702370304626f6c64046e756c6c00"}},
			{doc: 1, ops: []yOp{{op: "format", path: path("t"), index: 0, length: 2, attrs: Attrs{{Key: "bold", Value: true}}}}, updates: []string{"0102420046370004626f6c640474727565c63701370204626f6c64046e756c6c00"}},
			{doc: 1, ops: []yOp{{op: "delete", path: path("t"), index: 0, length: 1}}, updates: []string{"000137010001"}},
			{sync: true, from: 0, doc: 1, updates: []string{"0102370646370004626f6c640474727565c63702370304626f6c64046e756c6c00", "000137010601"}},
			{sync: true, from: 1, doc: 0, updates: []string{"0102420046370004626f6c640474727565c63701370204626f6c64046e756c6c01370200010601"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 0, text: "Z"}}, updates: []string{"01013708c437064200015a00"}},
			{sync: true, from: 0, doc: 1, updates: []string{"01013708c437064200015a00"}},
		},
		want: []yResult{
			{state: "0202420046370004626f6c640474727565c63701370204626f6c64046e756c6c073700040101740161843700016284370101638437020364656646370004626f6c640474727565c63702370304626f6c64046e756c6cc437064200015a01370200010601", text: "Zbcdef", delta: "[{\"insert\":\"Z\"},{\"insert\":\"b\",\"attributes\":{\"bold\":true}},{\"insert\":\"c\"},{\"insert\":\"def\"}]", xml: ""},
			{state: "0202420046370004626f6c640474727565c63701370204626f6c64046e756c6c073700040101740161843700016284370101638437020364656646370004626f6c640474727565c63702370304626f6c64046e756c6cc437064200015a01370200010601", text: "Zbcdef", delta: "[{\"insert\":\"Z\"},{\"insert\":\"b\",\"attributes\":{\"bold\":true}},{\"insert\":\"c\"},{\"insert\":\"def\"}]", xml: ""},
		},
	},
	{
		name:    "equal but distinct object values are not merged",
		clients: []uint64{61},
		steps: []yStep{
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 0, text: "ab", attrs: Attrs{{Key: "link", Value: lib0.Object{{Key: "h", Value: float64(1)}}}}}}, updates: []string{"01033d0006010174046c696e6b077b2268223a317d843d00026162863d02046c696e6b046e756c6c00"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 2, text: "x", attrs: Attrs{}}}, updates: []string{"01013d04843d03017800"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 3, text: "cd", attrs: Attrs{{Key: "link", Value: lib0.Object{{Key: "h", Value: float64(1)}}}}}}, updates: []string{"01033d05863d04046c696e6b077b2268223a317d843d05026364863d07046c696e6b046e756c6c00"}},
			{doc: 0, ops: []yOp{{op: "delete", path: path("t"), index: 2, length: 1}}, updates: []string{"00013d010302"}},
		},
		want: []yResult{
			{state: "01063d0006010174046c696e6b077b2268223a317d843d00026162813d0202863d04046c696e6b077b2268223a317d843d05026364863d07046c696e6b046e756c6c013d010302", text: "abcd", delta: "[{\"insert\":\"ab\",\"attributes\":{\"link\":{\"h\":1}}},{\"insert\":\"cd\",\"attributes\":{\"link\":{\"h\":1}}}]", xml: ""},
		},
	},
	{
		name:    "the same object value is merged",
		clients: []uint64{62},
		steps: []yStep{
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 0, text: "ab", attrs: Attrs{{Key: "link", Value: yShared["L"]}}}}, updates: []string{"01033e0006010174046c696e6b077b2268223a317d843e00026162863e02046c696e6b046e756c6c00"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 2, text: "x", attrs: Attrs{}}}, updates: []string{"01013e04843e03017800"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 3, text: "cd", attrs: Attrs{{Key: "link", Value: yShared["L"]}}}}, updates: []string{"01033e05863e04046c696e6b077b2268223a317d843e05026364863e07046c696e6b046e756c6c00"}},
			{doc: 0, ops: []yOp{{op: "delete", path: path("t"), index: 2, length: 1}}, updates: []string{"00013e010303"}},
		},
		want: []yResult{
			{state: "01053e0006010174046c696e6b077b2268223a317d843e00026162813e0203843e05026364863e07046c696e6b046e756c6c013e010303", text: "abcd", delta: "[{\"insert\":\"abcd\",\"attributes\":{\"link\":{\"h\":1}}}]", xml: ""},
		},
	},
	{
		name:    "text attributes",
		clients: []uint64{8},
		steps: []yStep{
			{doc: 0, ops: []yOp{{op: "setAttr", path: path("t"), key: "lang", value: "en"}}, updates: []string{"0101080028010174046c616e67017702656e00"}},
			{doc: 0, ops: []yOp{{op: "setAttr", path: path("t"), key: "n", value: float64(3)}}, updates: []string{"0101080128010174016e017d0300"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("t"), index: 0, text: "hi"}}, updates: []string{"010108020401017402686900"}},
			{doc: 0, ops: []yOp{{op: "removeAttr", path: path("t"), key: "lang"}}, updates: []string{"000108010001"}},
		},
		want: []yResult{
			{state: "0103080021010174046c616e670128010174016e017d03040101740268690108010001", text: "hi", delta: "[{\"insert\":\"hi\"}]", xml: ""},
		},
	},
}

// yShared holds attribute values used by several edits: the same object,
// as in the recording, which Yjs compares by identity in places.
var yShared = map[string]any{
	"L": lib0.Object{{Key: "h", Value: float64(1)}},
}

// TestTypingMergesWithoutNewItems checks the typing shortcuts (appendTyped
// for local edits, extendLeft for lone remote structs): characters typed
// one transaction at a time end up in one struct on both sides, a struct
// typed in between still splits the run, and no struct decoded into the
// reusable scratch memory is kept by the document.
func TestTypingMergesWithoutNewItems(t *testing.T) {
	local := NewDoc(Options{ClientID: 7})
	remote := NewDoc(Options{ClientID: 8})
	var updates [][]byte
	local.OnUpdate(func(u []byte, _ any) { updates = append(updates, u) })
	lt, _ := local.Text("t")
	rt, _ := remote.Text("t")
	for i, c := range "hello" {
		if err := lt.Insert(nil, i, string(c), nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range updates {
		if err := remote.ApplyUpdate(u, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []*Doc{local, remote} {
		if n := d.store.list(7).len(); n != 1 {
			t.Fatalf("client %d: %d structs after typing, want 1", d.ClientID(), n)
		}
	}
	// Typing inside the run splits it: h|X|ello.
	if err := lt.Insert(nil, 1, "X", nil); err != nil {
		t.Fatal(err)
	}
	if err := remote.ApplyUpdate(updates[len(updates)-1], nil); err != nil {
		t.Fatal(err)
	}
	if lt.String() != "hXello" || rt.String() != "hXello" {
		t.Fatalf("texts %q and %q, want hXello", lt.String(), rt.String())
	}
	if a, b := local.EncodeStateAsUpdate(), remote.EncodeStateAsUpdate(); string(a) != string(b) {
		t.Fatalf("states differ:\n%x\n%x", a, b)
	}
	// A document loaded from a multi-struct update keeps the decoded
	// structs themselves, none of them scratch memory.
	loaded := NewDoc(Options{ClientID: 9})
	if err := loaded.ApplyUpdate(local.EncodeStateAsUpdate(), nil); err != nil {
		t.Fatal(err)
	}
	// ... and does not copy them one by one: loading 200 structs takes a
	// few allocations, not one per struct.
	many := NewDoc(Options{ClientID: 7})
	mt, _ := many.Text("t")
	for range 200 {
		if err := mt.Insert(nil, 0, "ab", nil); err != nil { // each before the last: no merges
			t.Fatal(err)
		}
	}
	state := many.EncodeStateAsUpdate()
	allocs := testing.AllocsPerRun(5, func() {
		d := NewDoc(Options{ClientID: 9})
		if err := d.ApplyUpdate(state, nil); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 60 {
		t.Fatalf("loading 200 structs took %.0f allocations", allocs)
	}
	for _, d := range []*Doc{remote, loaded} {
		l := d.store.list(7)
		for i := 0; i < l.len(); i++ {
			if it := l.at(i); it.info&flagScratch != 0 || it == &d.spareUpdate.box.it[0] {
				t.Fatalf("client %d: struct %d lives in scratch memory", d.ClientID(), i)
			}
		}
	}
}

// A string item grows in place only while it is the store's tail item and
// owns the bytes after its text. Splitting it shares those bytes with the
// right half, so the left half must not grow into them afterwards.
func TestTextTailSplitKeepsRightHalf(t *testing.T) {
	d := NewDoc(Options{ClientID: 7})
	tx, _ := d.Text("t")
	for i, c := range "abcdef" {
		if err := tx.Insert(nil, i, string(c), nil); err != nil {
			t.Fatal(err)
		}
	}
	s := d.store
	it := s.list(7).at(0)
	if s.tailItem != it || it.text() != "abcdef" {
		t.Fatalf("typing did not grow one tail item: tail %p, item %p %q", s.tailItem, it, it.text())
	}
	// (A bare transaction: the halves are checked before any clean-up.)
	txn := &Transaction{doc: d}
	right := s.itemCleanStart(txn, ID{Client: 7, Clock: 3})
	if s.tailItem == it {
		t.Fatal("the split item is still the tail item")
	}
	// Growing the left half now copies it.
	s.appendText(it, "XYZ", 3)
	it.setLength(it.length() + 3)
	if it.text() != "abcXYZ" || right.text() != "def" {
		t.Fatalf("halves %q and %q after growing the left one, want abcXYZ and def", it.text(), right.text())
	}
	// The left half is the tail item now: it grows in place, still
	// without touching the right half.
	s.appendText(it, "!", 1)
	it.setLength(it.length() + 1)
	if it.text() != "abcXYZ!" || right.text() != "def" || s.tailItem != it {
		t.Fatalf("halves %q and %q, want abcXYZ! and def", it.text(), right.text())
	}
}

// Every edit method accepts a nil transaction and runs in one of its own,
// as Text does: one update per call, and a replica applying them agrees.
func TestEditsWithoutTransaction(t *testing.T) {
	d := NewDoc(Options{ClientID: 1})
	var updates [][]byte
	d.OnUpdate(func(u []byte, _ any) { updates = append(updates, u) })
	m, _ := d.Map("m")
	a, _ := d.Array("a")
	x, _ := d.XmlFragment("x")
	steps := []func() error{
		func() error { _, err := m.Set(nil, "k", "v"); return err },
		func() error { _, err := m.Set(nil, "gone", 1.5); return err },
		func() error { return m.Delete(nil, "gone") },
		func() error { _, err := a.Insert(nil, 0, "x", "y", "z"); return err },
		func() error { _, err := a.Push(nil, true); return err },
		func() error { return a.Delete(nil, 1, 1) },
		func() error { _, err := x.Insert(nil, 0, NewType{Kind: KindXmlElement, Name: "p"}); return err },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if len(updates) != i+1 {
			t.Fatalf("step %d: %d updates, want %d", i, len(updates), i+1)
		}
	}
	if got := fmt.Sprint(m.ToJSON(), a.ToJSON(), x.String()); got != "map[k:v] [x z true]<p></p>" {
		t.Errorf("got %s", got)
	}
	r := NewDoc(Options{ClientID: 2})
	for _, u := range updates {
		if err := r.ApplyUpdate(u, nil); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(r.EncodeStateAsUpdate(), d.EncodeStateAsUpdate()) {
		t.Error("a replica applying the updates encodes differently")
	}
}
