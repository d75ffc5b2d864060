package crdt_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/quirehq/quire/crdt"
	"github.com/quirehq/quire/crdt/crdtjson"
	"github.com/quirehq/quire/crdt/lib0"
)

// The differential test replays randomized multi-client sessions recorded
// with the real yjs package (scripts/yjs/scenario.mjs; format in
// scripts/yjs/README.md) and requires our engine to produce, step by step,
// the same bytes: every local transaction's update, every document's
// content and its complete encoded state.
//
// QUIRE_DIFF_SEEDS sets how many seeds run (default 40); thousands are a
// longer soak: QUIRE_DIFF_SEEDS=2000 go test ./crdt -run Differential.
// QUIRE_DIFF_SEED runs a single seed.

func TestDifferentialAgainstYjs(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is required for the differential tests (run scripts/test.sh, which installs the npm packages): %v", err)
	}
	root, _ := filepath.Abs("..")
	if _, err := os.Stat(filepath.Join(root, "node_modules", "yjs")); err != nil {
		t.Fatalf("node_modules/yjs missing: run `npm ci` at the repository root: %v", err)
	}
	seeds := []int{}
	if s := os.Getenv("QUIRE_DIFF_SEED"); s != "" {
		n, _ := strconv.Atoi(s)
		seeds = append(seeds, n)
	} else {
		n := 40
		if testing.Short() {
			n = 8
		}
		if s := os.Getenv("QUIRE_DIFF_SEEDS"); s != "" {
			n, _ = strconv.Atoi(s)
		}
		for i := 1; i <= n; i++ {
			seeds = append(seeds, i)
		}
	}
	// Generate scenarios in batches per node process to save start-up time.
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			cmd := exec.Command(node, filepath.Join(root, "scripts/yjs/scenario.mjs"), "--seed", strconv.Itoa(seed))
			cmd.Dir = root
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("scenario generator: %v\n%s", err, stderr.String())
			}
			runScenario(t, out)
		})
	}
}

type scenarioLine struct {
	Kind       string            `json:"kind"`
	Clients    []uint64          `json:"clients"`
	GC         bool              `json:"gc"`
	Doc        int               `json:"doc"`
	Ops        []json.RawMessage `json:"ops"`
	Update     *string           `json:"update"`
	JSON       json.RawMessage   `json:"json"`
	State      string            `json:"state"`
	StateVec   string            `json:"stateVector"`
	lineNumber int
}

type scenarioDoc struct {
	doc     *crdt.Doc
	updates [][]byte // updates emitted by local transactions
}

func runScenario(t *testing.T, script []byte) {
	t.Helper()
	var docs []*scenarioDoc
	sc := bufio.NewScanner(bytes.NewReader(script))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		var l scenarioLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %d: %v", line, err)
		}
		switch l.Kind {
		case "init":
			for _, c := range l.Clients {
				sd := &scenarioDoc{doc: crdt.NewDoc(crdt.Options{KeepDeleted: !l.GC})}
				sd.doc.SetClientID(c) // may be 0, which Options reads as "pick one"
				sd.doc.OnUpdate(func(u []byte, origin any) {
					if origin == "local" {
						sd.updates = append(sd.updates, u)
					}
				})
				// Yjs only cleans up formatting after remote changes in
				// roots it knows as text, so every root is typed up front,
				// as the scenario generator does.
				sd.doc.Text("text")
				sd.doc.Array("array")
				sd.doc.Map("map")
				sd.doc.XmlFragment("xml")
				docs = append(docs, sd)
			}
		case "local":
			sd := docs[l.Doc]
			before := len(sd.updates)
			var opErr error
			sd.doc.Transact("local", func(txn *crdt.Transaction) {
				for _, raw := range l.Ops {
					if err := applyOp(txn, sd.doc, raw); err != nil {
						opErr = fmt.Errorf("op %s: %w", raw, err)
						return
					}
				}
			})
			if opErr != nil {
				t.Fatalf("line %d: %v", line, opErr)
			}
			var got []byte
			if len(sd.updates) > before {
				got = sd.updates[len(sd.updates)-1]
			}
			var want []byte
			if l.Update != nil {
				want = mustB64(t, *l.Update)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("line %d: local update of doc %d differs from Yjs\nops: %s\ngot  %x\nwant %x", line, l.Doc, joinRaw(l.Ops), got, want)
			}
		case "deliver":
			if err := docs[l.Doc].doc.ApplyUpdate(mustB64(t, *l.Update), "remote"); err != nil {
				t.Fatalf("line %d: apply: %v", line, err)
			}
		case "check":
			d := docs[l.Doc].doc
			var want map[string]any
			if err := json.Unmarshal(l.JSON, &want); err != nil {
				t.Fatal(err)
			}
			got := canonRoots(t, d)
			if !reflect.DeepEqual(got, want) {
				gj, _ := json.Marshal(got)
				t.Fatalf("line %d: content of doc %d differs from Yjs\ngot  %s\nwant %s", line, l.Doc, gj, l.JSON)
			}
			if sv := d.EncodeStateVector(); !bytes.Equal(sv, mustB64(t, l.StateVec)) {
				t.Fatalf("line %d: state vector of doc %d differs\ngot  %x\nwant %x", line, l.Doc, sv, mustB64(t, l.StateVec))
			}
			if st, want := d.EncodeStateAsUpdate(), mustB64(t, l.State); !bytes.Equal(st, want) {
				t.Fatalf("line %d: encoded state of doc %d differs from Yjs %s", line, l.Doc, firstDiff(st, want))
			}
		default:
			t.Fatalf("line %d: unknown kind %q", line, l.Kind)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if line == 0 {
		t.Fatal("empty scenario")
	}
}

// firstDiff describes where two byte strings first differ.
func firstDiff(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	from := max(0, i-24)
	return fmt.Sprintf("at byte %d of %d/%d\ngot  …%x\nwant …%x", i, len(got), len(want), got[from:min(len(got), i+40)], want[from:min(len(want), i+40)])
}

func joinRaw(rs []json.RawMessage) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = string(r)
	}
	return strings.Join(parts, " ")
}

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// canonRoots returns the four scenario roots in canonical JSON, round
// tripped through encoding/json so it compares with the parsed Yjs side.
func canonRoots(t *testing.T, d *crdt.Doc) map[string]any {
	t.Helper()
	text, _ := d.Text("text")
	arr, _ := d.Array("array")
	m, _ := d.Map("map")
	xml, _ := d.XmlFragment("xml")
	v := map[string]any{
		"text":  crdtjson.Value(text),
		"array": crdtjson.Value(arr),
		"map":   crdtjson.Value(m),
		"xml":   crdtjson.Value(xml),
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// ---- operations ----

type scenarioOp struct {
	Op     string          `json:"op"`
	Path   []any           `json:"path"`
	Index  int             `json:"index"`
	Length int             `json:"length"`
	Text   string          `json:"text"`
	Key    string          `json:"key"`
	Attrs  json.RawMessage `json:"attrs"`
	Embed  json.RawMessage `json:"embed"`
	Values json.RawMessage `json:"values"`
	Value  json.RawMessage `json:"value"`
	Nodes  json.RawMessage `json:"nodes"`
}

type textLike interface {
	Insert(txn *crdt.Transaction, index int, s string, attrs crdt.Attrs) error
	InsertEmbed(txn *crdt.Transaction, index int, embed any, attrs crdt.Attrs) (any, error)
	Delete(txn *crdt.Transaction, index, length int) error
	Format(txn *crdt.Transaction, index, length int, attrs crdt.Attrs) error
}

type xmlParent interface {
	Insert(txn *crdt.Transaction, index int, nodes ...crdt.NewType) ([]any, error)
	Delete(txn *crdt.Transaction, index, length int) error
	Get(index int) (any, bool)
}

func applyOp(txn *crdt.Transaction, d *crdt.Doc, raw json.RawMessage) error {
	var op scenarioOp
	if err := json.Unmarshal(raw, &op); err != nil {
		return err
	}
	target, err := resolvePath(d, op.Path)
	if err != nil {
		return err
	}
	switch op.Op {
	case "text.insert":
		attrs, err := decodeAttrs(op.Attrs)
		if err != nil {
			return err
		}
		return asText(target).Insert(txn, op.Index, op.Text, attrs)
	case "text.embed":
		attrs, err := decodeAttrs(op.Attrs)
		if err != nil {
			return err
		}
		v, err := decodeValue(op.Embed)
		if err != nil {
			return err
		}
		_, err = asText(target).InsertEmbed(txn, op.Index, v, attrs)
		return err
	case "text.delete":
		return asText(target).Delete(txn, op.Index, op.Length)
	case "text.format":
		attrs, err := decodeAttrs(op.Attrs)
		if err != nil {
			return err
		}
		return asText(target).Format(txn, op.Index, op.Length, attrs)
	case "array.insert":
		v, err := decodeValue(op.Values)
		if err != nil {
			return err
		}
		_, err = target.(*crdt.Array).Insert(txn, op.Index, v.([]any)...)
		return err
	case "array.delete":
		return target.(*crdt.Array).Delete(txn, op.Index, op.Length)
	case "map.set":
		v, err := decodeValue(op.Value)
		if err != nil {
			return err
		}
		switch m := target.(type) {
		case *crdt.Map:
			_, err = m.Set(txn, op.Key, v)
		case *crdt.XmlHook:
			_, err = m.Set(txn, op.Key, v)
		default:
			err = fmt.Errorf("map.set on %T", target)
		}
		return err
	case "map.delete":
		switch m := target.(type) {
		case *crdt.Map:
			return m.Delete(txn, op.Key)
		case *crdt.XmlHook:
			return m.Delete(txn, op.Key)
		}
		return fmt.Errorf("map.delete on %T", target)
	case "xml.insert":
		v, err := decodeValue(op.Nodes)
		if err != nil {
			return err
		}
		var nodes []crdt.NewType
		for _, n := range v.([]any) {
			nodes = append(nodes, n.(crdt.NewType))
		}
		_, err = target.(xmlParent).Insert(txn, op.Index, nodes...)
		return err
	case "xml.delete":
		return target.(xmlParent).Delete(txn, op.Index, op.Length)
	case "xml.setAttr":
		v, err := decodeValue(op.Value)
		if err != nil {
			return err
		}
		return target.(*crdt.XmlElement).SetAttribute(txn, op.Key, v)
	case "xml.removeAttr":
		return target.(*crdt.XmlElement).RemoveAttribute(txn, op.Key)
	}
	return fmt.Errorf("unknown op %q", op.Op)
}

func asText(v any) textLike {
	if t, ok := v.(textLike); ok {
		return t
	}
	panic(fmt.Sprintf("not a text: %T", v))
}

func resolvePath(d *crdt.Doc, path []any) (any, error) {
	if len(path) == 0 {
		return nil, fmt.Errorf("empty path")
	}
	var cur any
	var err error
	switch path[0] {
	case "text":
		cur, err = d.Text("text")
	case "array":
		cur, err = d.Array("array")
	case "map":
		cur, err = d.Map("map")
	case "xml":
		cur, err = d.XmlFragment("xml")
	default:
		return nil, fmt.Errorf("unknown root %v", path[0])
	}
	if err != nil {
		return nil, err
	}
	for _, step := range path[1:] {
		var next any
		var ok bool
		switch s := step.(type) {
		case string:
			switch c := cur.(type) {
			case *crdt.Map:
				next, ok = c.Get(s)
			case *crdt.XmlHook:
				next, ok = c.Get(s)
			}
		case float64:
			switch c := cur.(type) {
			case *crdt.Array:
				next, ok = c.Get(int(s))
			case xmlParent:
				next, ok = c.Get(int(s))
			}
		}
		if !ok {
			return nil, fmt.Errorf("path %v: step %v not found in %T", path, step, cur)
		}
		cur = next
	}
	return cur, nil
}

// decodeAttrs turns a JSON object (or null) into ordered attributes.
func decodeAttrs(raw json.RawMessage) (crdt.Attrs, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	v, err := decodeValue(raw)
	if err != nil {
		return nil, err
	}
	obj, ok := v.(lib0.Object)
	if !ok {
		return nil, fmt.Errorf("attrs are not an object: %s", raw)
	}
	return obj, nil
}

// decodeValue parses the scenario's value notation: JSON with ordered
// objects and the escapes $undefined, $bigint, $bytes and $new.
func decodeValue(raw json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return decodeValueTok(dec)
}

func decodeValueTok(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch x := tok.(type) {
	case json.Delim:
		if x == '[' {
			arr := []any{}
			for dec.More() {
				v, err := decodeValueTok(dec)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			_, err := dec.Token()
			return arr, err
		}
		obj := lib0.Object{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := decodeValueTok(dec)
			if err != nil {
				return nil, err
			}
			obj = append(obj, lib0.Field{Key: kt.(string), Value: v})
		}
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
		return unescape(obj)
	case json.Number:
		return strconv.ParseFloat(string(x), 64)
	default:
		return x, nil
	}
}

func unescape(obj lib0.Object) (any, error) {
	if len(obj) == 0 {
		return obj, nil
	}
	switch obj[0].Key {
	case "$undefined":
		return lib0.Undefined{}, nil
	case "$float":
		switch obj[0].Value.(string) {
		case "-0":
			return math.Copysign(0, -1), nil
		case "NaN":
			return math.Float64frombits(0x7ff8000000000000), nil
		case "Infinity":
			return math.Inf(1), nil
		case "-Infinity":
			return math.Inf(-1), nil
		}
		return nil, fmt.Errorf("unknown $float %v", obj[0].Value)
	case "$bigint":
		n, err := strconv.ParseInt(obj[0].Value.(string), 10, 64)
		return lib0.BigInt(n), err
	case "$bytes":
		return base64.StdEncoding.DecodeString(obj[0].Value.(string))
	case "$new":
		nt := crdt.NewType{}
		switch obj[0].Value.(string) {
		case "text":
			nt.Kind = crdt.KindText
		case "array":
			nt.Kind = crdt.KindArray
		case "map":
			nt.Kind = crdt.KindMap
		case "xmlelement":
			nt.Kind = crdt.KindXmlElement
		case "xmltext":
			nt.Kind = crdt.KindXmlText
		case "xmlfragment":
			nt.Kind = crdt.KindXmlFragment
		case "xmlhook":
			nt.Kind = crdt.KindXmlHook
		default:
			return nil, fmt.Errorf("unknown $new %v", obj[0].Value)
		}
		if name, ok := obj.Get("name"); ok {
			nt.Name = name.(string)
		}
		return nt, nil
	}
	return obj, nil
}
