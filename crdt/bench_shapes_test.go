package crdt_test

// Memory of documents other than plain text, so that a change that makes
// text items smaller is seen not to make maps, arrays, XML or non-ASCII
// text bigger:
//
//	go test ./crdt -run '^$' -bench 'ShapeMemory' -benchtime 2x
//
// Each document is built by 20 clients making random local edits in turns
// (every client first catching up with the others), then its state is
// loaded into a fresh document, whose retained heap is reported as MB.

import (
	"fmt"
	"math/rand"
	"runtime"
	"testing"

	"github.com/quirehq/quire/crdt"
)

// shapeEdits makes one random local edit of a shape in txn.
var shapeEdits = map[string]func(d *crdt.Doc, txn *crdt.Transaction, r *rand.Rand) error{
	"map": func(d *crdt.Doc, txn *crdt.Transaction, r *rand.Rand) error {
		m, err := d.Map("m")
		if err != nil {
			return err
		}
		_, err = m.Set(txn, fmt.Sprintf("k%d", r.Intn(3000)), r.Intn(1000))
		return err
	},
	"array": func(d *crdt.Doc, txn *crdt.Transaction, r *rand.Rand) error {
		a, err := d.Array("a")
		if err != nil {
			return err
		}
		if _, err := a.Insert(txn, r.Intn(a.Len()+1), r.Intn(1000), "v"); err != nil {
			return err
		}
		if a.Len() > 10 && r.Intn(3) == 0 {
			return a.Delete(txn, r.Intn(a.Len()-2), 2)
		}
		return nil
	},
	"xml": func(d *crdt.Doc, txn *crdt.Transaction, r *rand.Rand) error {
		f, err := d.XmlFragment("x")
		if err != nil {
			return err
		}
		_, err = f.Insert(txn, r.Intn(f.Len()+1), crdt.NewType{Kind: crdt.KindXmlElement, Name: "p"})
		return err
	},
	"cjk": func(d *crdt.Doc, txn *crdt.Transaction, r *rand.Rand) error {
		t, err := d.Text("t")
		if err != nil {
			return err
		}
		if err := t.Insert(txn, r.Intn(t.Len()+1), "漢字かな😀", nil); err != nil {
			return err
		}
		if t.Len() > 10 && r.Intn(3) == 0 {
			return t.Delete(txn, r.Intn(t.Len()-3), 3)
		}
		return nil
	},
}

// buildShape returns the state of a document of the shape, as described
// above.
func buildShape(b *testing.B, shape string) []byte {
	edit := shapeEdits[shape]
	r := rand.New(rand.NewSource(1))
	docs := make([]*crdt.Doc, 20)
	for i := range docs {
		docs[i] = crdt.NewDoc(crdt.Options{ClientID: uint64(i + 1)})
	}
	all := docs[0]
	for range 200 {
		d := docs[r.Intn(len(docs))]
		if err := d.ApplyUpdate(all.EncodeStateAsUpdate(), nil); err != nil {
			b.Fatal(err)
		}
		var err error
		for range 50 {
			d.Transact(nil, func(txn *crdt.Transaction) {
				if err == nil {
					err = edit(d, txn, r)
				}
			})
		}
		if err != nil {
			b.Fatal(err)
		}
		if err := all.ApplyUpdate(d.EncodeStateAsUpdate(), nil); err != nil {
			b.Fatal(err)
		}
	}
	return all.EncodeStateAsUpdate()
}

func BenchmarkShapeMemory(b *testing.B) {
	for _, shape := range []string{"map", "array", "xml", "cjk"} {
		b.Run(shape, func(b *testing.B) {
			state := buildShape(b, shape)
			var sum float64
			for range b.N {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.GC()
				runtime.ReadMemStats(&before)
				d := crdt.NewDoc(crdt.Options{ClientID: 99})
				if err := d.ApplyUpdate(state, nil); err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				runtime.GC()
				runtime.ReadMemStats(&after)
				if got := d.EncodeStateAsUpdate(); len(got) != len(state) {
					b.Fatalf("%s: the loaded document encodes to %d bytes, its state was %d", shape, len(got), len(state))
				}
				sum += float64(int64(after.HeapAlloc) - int64(before.HeapAlloc))
			}
			b.ReportMetric(sum/float64(b.N)/1e6, "MB")
			b.ReportMetric(float64(len(state)), "updateB")
		})
	}
}
