package crdt

import (
	"testing"

	"github.com/quirehq/quire/crdt/lib0"
)

func TestXmlAgainstYjs(t *testing.T) { runYCases(t, xmlCases) }

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
