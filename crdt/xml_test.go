package crdt

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/quirehq/quire/crdt/lib0"
)

func TestXmlAgainstYjs(t *testing.T) { runYCases(t, xmlCases) }

// TestXmlStringConversions builds a document whose toString exercises
// JavaScript's conversions of non-string values (numbers, arrays, objects,
// nested types, string-valued formats enumerated per character) and its
// sort orders; the expectations were recorded with yjs 13.6.33.
func TestXmlStringConversions(t *testing.T) {
	d := NewDoc(Options{ClientID: 5})
	x, _ := d.XmlFragment("x")
	var span *XmlElement
	tenth, fifth := 0.1, 0.2 // summed at run time, as in JavaScript
	d.Transact(nil, func(txn *Transaction) {
		nodes, err := x.Insert(txn, 0, NewType{Kind: KindXmlElement, Name: "DİV"}, NewType{Kind: KindXmlElement, Name: "ΟΔΟΣ Σ"}, NewType{Kind: KindXmlElement, Name: "Span"})
		if err != nil {
			t.Fatal(err)
		}
		span = nodes[2].(*XmlElement)
		for _, a := range []struct {
			key string
			val any
		}{
			{"n", 1e21}, {"f", tenth + fifth}, {"z", math.Copysign(0, -1)},
			{"arr", []any{1, []any{2, nil}, "a"}}, {"nan", math.NaN()}, {"obj", lib0.Object{{Key: "a", Value: 1}}},
			{"\U0001F600", "astral"}, {"\uFB01", "bmp"}, {"b", true}, {"nul", nil},
			{"bytes", []byte{1, 2}}, {"big", lib0.BigInt(5)},
		} {
			if err := span.SetAttribute(txn, a.key, a.val); err != nil {
				t.Fatal(err)
			}
		}
	})
	want := `<di̇v></di̇v><οδος σ></οδος σ><span arr="1,2,,a" b="true" big="5" bytes="1,2" f="0.30000000000000004" n="1e+21" nan="NaN" nul="null" obj="[object Object]" z="0" 😀="astral" ﬁ="bmp"></span>`
	if got := x.String(); got != want {
		t.Errorf("toString\ngot  %s\nwant %s", got, want)
	}
	wantState := "010f050007010178030444c4b056870500030bce9fce94ce9fcea320cea387050103045370616e28000502016e017b444b1ae4d6e2ef50280005020166017b3fd333333333333428000502017a017d4028000502036172720175037d0175027d027e77016128000502036e616e017b7ff800000000000028000502036f626a01760101617d012800050204f09f988001770661737472616c2800050203efac81017703626d70280005020162017828000502036e756c017e230005020562797465730201022800050203626967017a000000000000000500"
	if got := hex.EncodeToString(d.EncodeStateAsUpdate()); got != wantState {
		t.Errorf("state\ngot  %s\nwant %s", got, wantState)
	}
	if span.Name() != "Span" || x.Len() != 3 || len(x.Children()) != 3 {
		t.Errorf("name %q, len %d, children %d", span.Name(), x.Len(), len(x.Children()))
	}
	if v, ok := span.GetAttribute("b"); !ok || v != true {
		t.Errorf("GetAttribute(b) = %v, %v", v, ok)
	}
	if n := len(span.Attributes()); n != 12 {
		t.Errorf("%d attributes", n)
	}
}

// TestXmlTextString covers YXmlText.toString: tags per attribute sorted by
// name, attribute values enumerated as objects (a string per character,
// an array per index), embeds and nested types rendered as strings.
func TestXmlTextString(t *testing.T) {
	d := NewDoc(Options{ClientID: 6})
	x, _ := d.XmlFragment("x")
	d.Transact(nil, func(txn *Transaction) {
		nodes, err := x.Insert(txn, 0, NewType{Kind: KindXmlText}, NewType{Kind: KindXmlHook, Name: "hk"}, NewType{Kind: KindXmlElement, Name: "p"})
		if err != nil {
			t.Fatal(err)
		}
		xt, h, e := nodes[0].(*XmlText), nodes[1].(*XmlHook), nodes[2].(*XmlElement)
		check := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		check(xt.Insert(txn, 0, "abcdef", Attrs{{Key: "font", Value: lib0.Object{{Key: "size", Value: 3}, {Key: "color", Value: "red"}}}, {Key: "b", Value: true}, {Key: "2", Value: "x"}}))
		check(xt.Format(txn, 1, 2, Attrs{{Key: "font", Value: "ab"}}))
		_, err = xt.InsertEmbed(txn, 3, lib0.Object{{Key: "img", Value: 1}}, Attrs{{Key: "q", Value: []any{1, 2}}})
		check(err)
		_, err = xt.InsertEmbed(txn, 0, []any{1, "a"}, nil)
		check(err)
		_, err = xt.InsertEmbed(txn, 1, 5, nil)
		check(err)
		created, err := xt.InsertEmbed(txn, 2, NewType{Kind: KindXmlText}, nil)
		check(err)
		_, err = h.Set(txn, "k", "v")
		check(err)
		check(e.SetAttribute(txn, "t", NewType{Kind: KindXmlText}))
		attrText, _ := e.GetAttribute("t")
		check(attrText.(*XmlText).Insert(txn, 0, "in attr", Attrs{{Key: "i", Value: true}}))
		check(e.SetAttribute(txn, "m", NewType{Kind: KindMap}))
		check(created.(*XmlText).Insert(txn, 0, "N", Attrs{{Key: "em", Value: true}}))
	})
	want := `1,a5<em>N</em><2 0="x"><b><font color="red" size="3">a</font></b></2><2 0="x"><b><font 0="a" 1="b">bc</font></b></2><q 0="1" 1="2">[object Object]</q><2 0="x"><b><font color="red" size="3">def</font></b></2>[object Object]<p m="[object Object]" t="<i>in attr</i>"></p>`
	if got := x.String(); got != want {
		t.Errorf("toString\ngot  %s\nwant %s", got, want)
	}
	xt, _ := x.Get(0)
	wantDelta := `[{"insert":[1,"a"]},{"insert":5},{"insert":"<em>N</em>"},{"insert":"a","attributes":{"2":"x","font":{"size":3,"color":"red"},"b":true}},{"insert":"bc","attributes":{"2":"x","font":"ab","b":true}},{"insert":{"img":1},"attributes":{"q":[1,2]}},{"insert":"def","attributes":{"2":"x","font":{"size":3,"color":"red"},"b":true}}]`
	if got := deltaJSON(t, xt.(*XmlText).Delta()); got != wantDelta {
		t.Errorf("delta\ngot  %s\nwant %s", got, wantDelta)
	}
	wantState := "0123060007010178068706000502686b8706010301700600060001320322782286060304666f6e74187b2273697a65223a332c22636f6c6f72223a22726564227d8606040162047472756584060501618406060262638406080364656686060b0132046e756c6c86060c04666f6e74046e756c6c86060d0162046e756c6cc60606060704666f6e740422616222c60608060904666f6e74187b2273697a65223a332c22636f6c6f72223a22726564227dc6060806100132046e756c6cc6061106100171055b312c325dc60612061004666f6e74046e756c6cc6061306100162046e756c6cc506140610097b22696d67223a317dc606150610013203227822c6061606100171046e756c6cc60617061004666f6e740422616222c60618061001620474727565450603075b312c2261225dc5061a06030135c7061b06030628000601016b01770176270006020174060600061e0169047472756584061f07696e20617474728606260169046e756c6c27000602016d010600061c02656d0474727565840629014e86062a02656d046e756c6c00"
	if got := hex.EncodeToString(d.EncodeStateAsUpdate()); got != wantState {
		t.Errorf("state\ngot  %s\nwant %s", got, wantState)
	}
	h, _ := x.Get(1)
	if hook := h.(*XmlHook); hook.Name() != "hk" || fmt.Sprint(hook.Keys()) != "[k]" {
		t.Errorf("hook %q keys %v", hook.Name(), hook.Keys())
	}
}

func TestJSCompareAndLower(t *testing.T) {
	// UTF-16 order puts astral characters (surrogates D800-DFFF) before
	// U+E000-U+FFFF; UTF-8 byte order does not.
	if jsCompare("\U0001F600", "\uFB01") >= 0 || jsCompare("a", "ab") >= 0 || jsCompare("b", "a") <= 0 || jsCompare("x", "x") != 0 {
		t.Error("jsCompare does not follow UTF-16 order")
	}
	for in, want := range map[string]string{
		"DIV": "div", "ΟΔΟΣ Σ ΑΣ.Β ΑΣ'": "οδος σ ασ.β ας'", "İ": "i\u0307", "p": "p",
	} {
		if got := jsToLower(in); got != want {
			t.Errorf("jsToLower(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestXmlEditErrors(t *testing.T) {
	d := NewDoc(Options{ClientID: 1})
	x, _ := d.XmlFragment("x")
	d.Transact(nil, func(txn *Transaction) {
		if _, err := x.Insert(txn, 1, NewType{Kind: KindXmlText}); !errors.Is(err, ErrIndexOutOfRange) {
			t.Errorf("insert past end: %v", err)
		}
		if err := x.Delete(txn, 0, 1); !errors.Is(err, ErrIndexOutOfRange) {
			t.Errorf("delete past end: %v", err)
		}
	})
	if _, err := d.Text("x"); !errors.Is(err, ErrTypeMismatch) {
		t.Errorf("root kind mismatch: %v", err)
	}
}

var xmlCases = []yCase{
	{
		name:    "elements attributes and text",
		clients: []uint64{31},
		steps: []yStep{
			{doc: 0, ops: []yOp{{op: "xinsert", path: path("x"), index: 0, nodes: []NewType{NewType{Kind: KindXmlElement, Name: "P"}, NewType{Kind: KindXmlText}}}}, updates: []string{"01021f0007010178030150871f000600"}},
			{doc: 0, ops: []yOp{{op: "setAttr", path: path("x", 0), key: "class", value: "intro"}}, updates: []string{"01011f0228001f0005636c617373017705696e74726f00"}},
			{doc: 0, ops: []yOp{{op: "setAttr", path: path("x", 0), key: "a-id", value: "7"}}, updates: []string{"01011f0328001f0004612d69640177013700"}},
			{doc: 0, ops: []yOp{{op: "setAttr", path: path("x", 0), key: "n", value: float64(12.5)}}, updates: []string{"01011f0428001f00016e017c4148000000"}},
			{doc: 0, ops: []yOp{{op: "xinsert", path: path("x", 0), index: 0, nodes: []NewType{NewType{Kind: KindXmlText}, NewType{Kind: KindXmlElement, Name: "b"}}}}, updates: []string{"01021f0507001f0006871f0503016200"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("x", 0, 0), index: 0, text: "Hello "}}, updates: []string{"01011f0704001f050648656c6c6f2000"}},
			{doc: 0, ops: []yOp{{op: "xinsert", path: path("x", 0, 1), index: 0, nodes: []NewType{NewType{Kind: KindXmlText}}}}, updates: []string{"01011f0d07001f060600"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("x", 0, 1, 0), index: 0, text: "world"}}, updates: []string{"01011f0e04001f0d05776f726c6400"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("x", 1), index: 0, text: "tail text"}}, updates: []string{"01011f1304001f01097461696c207465787400"}},
			{doc: 0, ops: []yOp{{op: "format", path: path("x", 1), index: 0, length: 4, attrs: Attrs{{Key: "bold", Value: true}}}}, updates: []string{"01021f1c461f1304626f6c640474727565c61f161f1704626f6c64046e756c6c00"}},
			{doc: 0, ops: []yOp{{op: "format", path: path("x", 1), index: 2, length: 5, attrs: Attrs{{Key: "a", Value: lib0.Object{{Key: "href", Value: "u"}, {Key: "target", Value: "_b"}}}}}}, updates: []string{"01021f1ec61f141f1501611a7b2268726566223a2275222c22746172676574223a225f62227dc61f191f1a0161046e756c6c00"}},
			{doc: 0, ops: []yOp{{op: "format", path: path("x", 1), index: 6, length: 2, attrs: Attrs{{Key: "font", Value: "ab"}, {Key: "size", Value: float64(3)}}}}, updates: []string{"01041f20c61f181f1904666f6e740422616222c61f201f190473697a650133c61f1a1f1b04666f6e74046e756c6cc61f221f1b0473697a65046e756c6c00"}},
			{doc: 0, ops: []yOp{{op: "removeAttr", path: path("x", 0), key: "class"}}, updates: []string{"00011f010201"}},
			{doc: 0, ops: []yOp{{op: "xdelete", path: path("x", 0), index: 0, length: 1}}, updates: []string{"00011f0205010706"}},
			{doc: 0, ops: []yOp{{op: "setAttr", path: path("x", 1), key: "data", value: "v"}}, updates: []string{"01011f2428001f0104646174610177017600"}},
		},
		want: []yResult{
			{state: "01191f0007010178030150871f000621001f0005636c6173730128001f0004612d69640177013728001f00016e017c4148000001001f0001871f05030162000607001f060604001f0d05776f726c6404001f01027461841f1402696c841f16022074841f180165841f190178841f1a0174461f1304626f6c640474727565c61f161f1704626f6c64046e756c6cc61f141f1501611a7b2268726566223a2275222c22746172676574223a225f62227dc61f191f1a0161046e756c6cc61f181f1904666f6e740422616222c61f201f190473697a650133c61f1a1f1b04666f6e74046e756c6cc61f221f1b0473697a65046e756c6c28001f01046461746101770176011f03020105010706", text: "", delta: "[]", xml: "<p a-id=\"7\" n=\"12.5\"><b>world</b></p><bold>ta</bold><a href=\"u\" target=\"_b\"><bold>il</bold></a><a href=\"u\" target=\"_b\"> t</a><a href=\"u\" target=\"_b\"><font 0=\"a\" 1=\"b\"><size>e</size></font></a><font 0=\"a\" 1=\"b\"><size>x</size></font>t"},
		},
	},
	{
		name:    "hooks and nested fragments",
		clients: []uint64{77},
		steps: []yStep{
			{doc: 0, ops: []yOp{{op: "xinsert", path: path("x"), index: 0, nodes: []NewType{NewType{Kind: KindXmlHook, Name: "embed"}, NewType{Kind: KindXmlElement, Name: "div"}}}}, updates: []string{"01024d00070101780505656d626564874d00030364697600"}},
			{doc: 0, ops: []yOp{{op: "hset", path: path("x", 0), key: "src", value: "a.png"}}, updates: []string{"01014d0228004d0003737263017705612e706e6700"}},
			{doc: 0, ops: []yOp{{op: "hset", path: path("x", 0), key: "w", value: float64(3)}}, updates: []string{"01014d0328004d000177017d0300"}},
			{doc: 0, ops: []yOp{{op: "xinsert", path: path("x", 1), index: 0, nodes: []NewType{NewType{Kind: KindXmlElement, Name: "span"}, NewType{Kind: KindXmlElement, Name: "i"}}}}, updates: []string{"01024d0407004d0103047370616e874d0403016900"}},
			{doc: 0, ops: []yOp{{op: "setAttr", path: path("x", 1, 1), key: "z", value: "1"}}, updates: []string{"01014d0628004d05017a0177013100"}},
			{doc: 0, ops: []yOp{{op: "setAttr", path: path("x", 1, 1), key: "b", value: "2"}}, updates: []string{"01014d0728004d0501620177013200"}},
			{doc: 0, ops: []yOp{{op: "xdelete", path: path("x", 1), index: 0, length: 1}}, updates: []string{"00014d010401"}},
			{doc: 0, ops: []yOp{{op: "xinsert", path: path("x"), index: 1, nodes: []NewType{NewType{Kind: KindXmlText}}}}, updates: []string{"01014d08c74d004d010600"}},
			{doc: 0, ops: []yOp{{op: "embed", path: path("x", 1), index: 0, value: NewType{Kind: KindXmlElement, Name: "em"}}}, updates: []string{"01014d0907004d080302656d00"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("x", 1), index: 1, text: "after", attrs: Attrs{{Key: "u", Value: true}}}}, updates: []string{"01034d0a864d0901750474727565844d0a056166746572864d0f0175046e756c6c00"}},
			{doc: 0, ops: []yOp{{op: "embed", path: path("x", 1), index: 0, attrs: Attrs{{Key: "k", Value: []any{float64(1), float64(2)}}}, value: lib0.Object{{Key: "img", Value: "x"}}}}, updates: []string{"01034d11464d09016b055b312c325dc54d114d090b7b22696d67223a2278227dc64d124d09016b046e756c6c00"}},
		},
		want: []yResult{
			{state: "01104d00070101780505656d626564874d00030364697628004d0003737263017705612e706e6728004d000177017d0301004d0101874d0403016928004d05017a0177013128004d05016201770132c74d004d010607004d080302656d864d0901750474727565844d0a056166746572864d0f0175046e756c6c464d09016b055b312c325dc54d114d090b7b22696d67223a2278227dc64d124d09016b046e756c6c014d010401", text: "", delta: "[]", xml: "[object Object]<k 0=\"1\" 1=\"2\">[object Object]</k><em></em><u>after</u><div><i b=\"2\" z=\"1\"></i></div>"},
		},
	},
	{
		name:    "concurrent xml edits merge",
		clients: []uint64{1000, 999},
		steps: []yStep{
			{doc: 0, ops: []yOp{{op: "xinsert", path: path("x"), index: 0, nodes: []NewType{NewType{Kind: KindXmlElement, Name: "p"}}}}, updates: []string{"0101e807000701017803017000"}},
			{sync: true, from: 0, doc: 1, updates: []string{"0101e807000701017803017000"}},
			{doc: 0, ops: []yOp{{op: "xinsert", path: path("x", 0), index: 0, nodes: []NewType{NewType{Kind: KindXmlText}}}}, updates: []string{"0101e807010700e807000600"}},
			{doc: 1, ops: []yOp{{op: "xinsert", path: path("x", 0), index: 0, nodes: []NewType{NewType{Kind: KindXmlElement, Name: "br"}}}}, updates: []string{"0101e707000700e807000302627200"}},
			{doc: 1, ops: []yOp{{op: "setAttr", path: path("x", 0), key: "k", value: "one"}}, updates: []string{"0101e707012800e80700016b0177036f6e6500"}},
			{doc: 0, ops: []yOp{{op: "setAttr", path: path("x", 0), key: "k", value: "two"}}, updates: []string{"0101e807022800e80700016b01770374776f00"}},
			{sync: true, from: 0, doc: 1, updates: []string{"0102e807010700e80700062800e80700016b01770374776f01e707010101"}},
			{sync: true, from: 1, doc: 0, updates: []string{"0102e707000700e80700030262722100e80700016b0101e707010101"}},
			{doc: 0, ops: []yOp{{op: "insert", path: path("x", 0, 1), index: 0, text: "txt", attrs: Attrs{{Key: "b", Value: true}}}}, updates: []string{"0103e807030600e807010162047472756584e807030374787486e807060162046e756c6c00"}},
			{sync: true, from: 0, doc: 1, updates: []string{"0103e807030600e807010162047472756584e807030374787486e807060162046e756c6c00"}},
		},
		want: []yResult{
			{state: "0206e80700070101780301700700e80700062800e80700016b01770374776f0600e807010162047472756584e807030374787486e807060162046e756c6c02e707000700e80700030262722100e80700016b0101e707010101", text: "", delta: "[]", xml: "<p k=\"two\"><br></br><b>txt</b></p>"},
			{state: "0206e80700070101780301700700e80700062800e80700016b01770374776f0600e807010162047472756584e807030374787486e807060162046e756c6c02e707000700e80700030262722100e80700016b0101e707010101", text: "", delta: "[]", xml: "<p k=\"two\"><br></br><b>txt</b></p>"},
		},
	},
}
