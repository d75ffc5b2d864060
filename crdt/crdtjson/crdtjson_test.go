package crdtjson_test

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"

	"github.com/quirehq/quire/crdt"
	"github.com/quirehq/quire/crdt/crdtjson"
	"github.com/quirehq/quire/crdt/lib0"
)

// The expected JSON in these tests is what scripts/yjs/canon.mjs prints for
// the same documents built with yjs 13.6.33 (same operations, same order).

// sameJSON reports whether got marshals to JSON structurally equal to want.
func sameJSON(t *testing.T, got any, want string) {
	t.Helper()
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var g, w any
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expected JSON: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		pretty, _ := json.MarshalIndent(g, "", "  ")
		t.Fatalf("got\n%s\nwant\n%s", pretty, want)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestValueAny(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{
		{"null", nil, `null`},
		{"undefined", lib0.Undefined{}, `{"$undefined":true}`},
		{"true", true, `true`},
		{"string", "héllo <&>", `"héllo <&>"`},
		{"number", 1.5, `1.5`},
		{"integer", 42.0, `42`},
		{"go int", 7, `7`},
		{"go float32", float32(0.25), `0.25`},
		{"-0", math.Copysign(0, -1), `{"$float":"-0"}`},
		{"NaN", math.NaN(), `{"$float":"NaN"}`},
		{"+Inf", math.Inf(1), `{"$float":"Infinity"}`},
		{"-Inf", math.Inf(-1), `{"$float":"-Infinity"}`},
		{"bigint", lib0.BigInt(-9007199254740993), `{"$bigint":"-9007199254740993"}`},
		{"bytes", []byte{0xfb, 0xff}, `{"$bytes":"+/8="}`},
		{"nil bytes", []byte(nil), `{"$bytes":""}`},
		{"empty array", []any{}, `[]`},
		{"nil array", []any(nil), `[]`},
		{"array", []any{1.0, nil, lib0.Undefined{}, []any{"x"}}, `[1,null,{"$undefined":true},["x"]]`},
		{"object", lib0.Object{{Key: "z", Value: 1.0}, {Key: "a", Value: lib0.Object{{Key: "b", Value: []byte{1}}}}},
			`{"z":1,"a":{"b":{"$bytes":"AQ=="}}}`},
		{"object repeated key", lib0.Object{{Key: "k", Value: 1.0}, {Key: "k", Value: 2.0}}, `{"k":2}`},
		{"empty object", lib0.Object(nil), `{}`},
		{"go map", map[string]any{"n": math.NaN()}, `{"n":{"$float":"NaN"}}`},
		{"subdoc", &crdt.SubDoc{GUID: "g", Opts: lib0.Object{{Key: "gc", Value: false}}}, `{"$type":"doc","guid":"g","opts":{"gc":false}}`},
		{"subdoc without opts", &crdt.SubDoc{GUID: "g"}, `{"$type":"doc","guid":"g","opts":{}}`},
	} {
		t.Run(tc.name, func(t *testing.T) { sameJSON(t, crdtjson.Value(tc.v), tc.want) })
	}
}

func TestText(t *testing.T) {
	d := crdt.NewDoc(crdt.Options{ClientID: 1})
	txt, err := d.Text("text")
	must(t, err)
	d.Transact(nil, func(txn *crdt.Transaction) {
		must(t, txt.Insert(txn, 0, "Hello world", nil))
		must(t, txt.Format(txn, 0, 5, crdt.Attrs{{Key: "bold", Value: true}}))
		must(t, txt.Insert(txn, 11, "!", crdt.Attrs{{Key: "italic", Value: true}, {Key: "color", Value: "#f00"}}))
		_, err := txt.InsertEmbed(txn, 5, lib0.Object{{Key: "image", Value: "x.png"}}, crdt.Attrs{{Key: "width", Value: 3.0}})
		must(t, err)
		must(t, txt.Delete(txn, 0, 1))
	})
	want := `{"$type":"text","string":"ello world!","delta":[
		{"insert":"ello","attributes":{"bold":true}},
		{"insert":{"image":"x.png"},"attributes":{"width":3}},
		{"insert":" world"},
		{"insert":"!","attributes":{"color":"#f00","italic":true}}]}`
	sameJSON(t, crdtjson.Value(txt), want)
	sameJSON(t, crdtjson.Doc(d), `{"text":`+want+`}`)
}

func buildMapAndArray(t *testing.T) *crdt.Doc {
	d := crdt.NewDoc(crdt.Options{ClientID: 2})
	m, err := d.Map("map")
	must(t, err)
	arr, err := d.Array("array")
	must(t, err)
	set := func(txn *crdt.Transaction, k string, v any) any {
		t.Helper()
		created, err := m.Set(txn, k, v)
		must(t, err)
		return created
	}
	d.Transact(nil, func(txn *crdt.Transaction) {
		set(txn, "big", lib0.BigInt(123))
		set(txn, "undef", lib0.Undefined{})
		set(txn, "bytes", []byte{1, 2, 3})
		set(txn, "obj", lib0.Object{{Key: "z", Value: 1.0}, {Key: "a", Value: []any{nil, math.Copysign(0, -1), math.NaN(), math.Inf(1), math.Inf(-1), 0.5, lib0.BigInt(7)}}})
		nested := set(txn, "nested", crdt.NewType{Kind: crdt.KindMap}).(*crdt.Map)
		_, err := nested.Set(txn, "k", "v")
		must(t, err)
		set(txn, "sub", &crdt.SubDoc{GUID: "g1", Opts: lib0.Object{{Key: "autoLoad", Value: true}, {Key: "meta", Value: lib0.Object{{Key: "x", Value: 1.0}}}}})
		set(txn, "gone", 1.0)
		must(t, m.Delete(txn, "gone"))

		_, err = arr.Insert(txn, 0, 1.0, "two", true, nil, lib0.Object{{Key: "k", Value: "v"}})
		must(t, err)
		_, err = arr.Push(txn, []byte{9})
		must(t, err)
		created, err := arr.Push(txn, crdt.NewType{Kind: crdt.KindText})
		must(t, err)
		must(t, created[0].(*crdt.Text).Insert(txn, 0, "inner", nil))
		must(t, arr.Delete(txn, 1, 1))
	})
	return d
}

const wantMap = `{"$type":"map","entries":{
	"big":{"$bigint":"123"},
	"bytes":{"$bytes":"AQID"},
	"nested":{"$type":"map","entries":{"k":"v"}},
	"obj":{"z":1,"a":[null,{"$float":"-0"},{"$float":"NaN"},{"$float":"Infinity"},{"$float":"-Infinity"},0.5,{"$bigint":"7"}]},
	"sub":{"$type":"doc","guid":"g1","opts":{"autoLoad":true,"meta":{"x":1}}},
	"undef":{"$undefined":true}}}`

const wantArray = `{"$type":"array","items":[1,true,null,{"k":"v"},{"$bytes":"CQ=="},
	{"$type":"text","string":"inner","delta":[{"insert":"inner"}]}]}`

func TestMapAndArray(t *testing.T) {
	d := buildMapAndArray(t)
	sameJSON(t, crdtjson.Doc(d), `{"map":`+wantMap+`,"array":`+wantArray+`}`)
}

func buildXML(t *testing.T) *crdt.Doc {
	d := crdt.NewDoc(crdt.Options{ClientID: 3})
	frag, err := d.XmlFragment("xml")
	must(t, err)
	d.Transact(nil, func(txn *crdt.Transaction) {
		nodes, err := frag.Insert(txn, 0, crdt.NewType{Kind: crdt.KindXmlElement, Name: "p"})
		must(t, err)
		p := nodes[0].(*crdt.XmlElement)
		must(t, p.SetAttribute(txn, "class", "intro"))
		nodes, err = p.Insert(txn, 0, crdt.NewType{Kind: crdt.KindXmlText})
		must(t, err)
		xt := nodes[0].(*crdt.XmlText)
		must(t, xt.Insert(txn, 0, "hi ", nil))
		must(t, xt.Insert(txn, 3, "there", crdt.Attrs{{Key: "bold", Value: true}}))
		must(t, xt.SetAttribute(txn, "lang", "en"))
		nodes, err = frag.Insert(txn, 1, crdt.NewType{Kind: crdt.KindXmlHook, Name: "custom"})
		must(t, err)
		_, err = nodes[0].(*crdt.XmlHook).Set(txn, "data", 42.0)
		must(t, err)
		nodes, err = frag.Insert(txn, 2, crdt.NewType{Kind: crdt.KindXmlText})
		must(t, err)
		must(t, nodes[0].(*crdt.XmlText).Insert(txn, 0, "tail & <end>", nil))
	})
	return d
}

const wantXML = `{"$type":"xmlfragment",
	"string":"<p class=\"intro\">hi <bold>there</bold></p>[object Object]tail & <end>",
	"children":[
		{"$type":"xmlelement","name":"p","attrs":{"class":"intro"},
		 "children":[{"$type":"xmltext","string":"hi <bold>there</bold>",
			"delta":[{"insert":"hi "},{"insert":"there","attributes":{"bold":true}}],"attrs":{"lang":"en"}}],
		 "string":"<p class=\"intro\">hi <bold>there</bold></p>"},
		{"$type":"xmlhook","name":"custom","entries":{"data":42}},
		{"$type":"xmltext","string":"tail & <end>","delta":[{"insert":"tail & <end>"}],"attrs":{}}]}`

func TestXML(t *testing.T) {
	d := buildXML(t)
	sameJSON(t, crdtjson.Doc(d), `{"xml":`+wantXML+`}`)
}

// TestDocInfersRoots: a document known only from an update names its roots
// by content; Doc reads each by its inferred kind and leaves out roots
// with nothing to infer from.
func TestDocInfersRoots(t *testing.T) {
	src := buildMapAndArray(t)
	x := buildXML(t)
	must(t, src.ApplyUpdate(x.EncodeStateAsUpdate(), nil))
	txt, err := src.Text("text")
	must(t, err)
	src.Transact(nil, func(txn *crdt.Transaction) { must(t, txt.Insert(txn, 0, "abc", nil)) })
	_, err = src.Text("empty") // requested, never written: not in the update
	must(t, err)
	gone, err := src.Array("gone") // written, then emptied
	must(t, err)
	src.Transact(nil, func(txn *crdt.Transaction) {
		_, err := gone.Push(txn, 1.0)
		must(t, err)
	})
	src.Transact(nil, func(txn *crdt.Transaction) { must(t, gone.Delete(txn, 0, 1)) })

	d := crdt.NewDoc(crdt.Options{ClientID: 9})
	must(t, d.ApplyUpdate(src.EncodeStateAsUpdate(), nil))
	want := `{"map":` + wantMap + `,"array":` + wantArray + `,"xml":` + wantXML +
		`,"text":{"$type":"text","string":"abc","delta":[{"insert":"abc"}]}}`
	sameJSON(t, crdtjson.Doc(d), want)
	// The source document knows every kind it was asked for, so it shows
	// the empty roots as well.
	sameJSON(t, crdtjson.Doc(src), want[:len(want)-1]+
		`,"empty":{"$type":"text","string":"","delta":[]},"gone":{"$type":"array","items":[]}}`)
}

func TestDocEmpty(t *testing.T) {
	sameJSON(t, crdtjson.Doc(crdt.NewDoc(crdt.Options{})), `{}`)
}

// TestValueUnknown: values of other types pass through unchanged.
func TestValueUnknown(t *testing.T) {
	type other struct{ A int }
	if got := crdtjson.Value(other{1}); got != (other{1}) {
		t.Fatalf("Value(other) = %#v", got)
	}
}
