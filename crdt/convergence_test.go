package crdt_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/quirehq/quire/crdt"
)

// replica is one simulated peer: a document and the updates it produced.
type replica struct {
	doc     *crdt.Doc
	text    *crdt.Text
	arr     *crdt.Array
	m       *crdt.Map
	updates [][]byte
}

func newReplica(t testing.TB, client uint64, keepDeleted bool) *replica {
	d := crdt.NewDoc(crdt.Options{ClientID: client, KeepDeleted: keepDeleted})
	r := &replica{doc: d}
	var err error
	if r.text, err = d.Text("text"); err != nil {
		t.Fatal(err)
	}
	if r.arr, err = d.Array("array"); err != nil {
		t.Fatal(err)
	}
	if r.m, err = d.Map("map"); err != nil {
		t.Fatal(err)
	}
	d.OnUpdate(func(u []byte, origin any) {
		if origin == nil { // local edits only; remote ones are re-delivered by the simulation
			r.updates = append(r.updates, u)
		}
	})
	return r
}

var alphabet = []string{"a", "b", "c", "xyz", "é", "日本", "😀", "👍🏽", " ", "\n"}

// randomEdit makes one random local transaction.
func (r *replica) randomEdit(t testing.TB, rng *rand.Rand) {
	r.doc.Transact(nil, func(txn *crdt.Transaction) {
		for k := 0; k <= rng.IntN(3); k++ {
			var err error
			switch op := rng.IntN(10); {
			case op < 4:
				s := alphabet[rng.IntN(len(alphabet))]
				err = r.text.Insert(txn, rng.IntN(r.text.Len()+1), s, nil)
			case op < 6:
				if n := r.text.Len(); n > 0 {
					i := rng.IntN(n)
					err = r.text.Delete(txn, i, 1+rng.IntN(min(5, n-i)))
				}
			case op < 8:
				vals := []any{float64(rng.IntN(100)), "s", []any{true, nil}}[:1+rng.IntN(3)]
				_, err = r.arr.Insert(txn, rng.IntN(r.arr.Len()+1), vals...)
			case op < 9:
				if n := r.arr.Len(); n > 0 {
					i := rng.IntN(n)
					err = r.arr.Delete(txn, i, 1+rng.IntN(min(3, n-i)))
				}
			default:
				key := fmt.Sprintf("k%d", rng.IntN(4))
				if rng.IntN(4) == 0 {
					err = r.m.Delete(txn, key)
				} else {
					_, err = r.m.Set(txn, key, float64(rng.IntN(1000)))
				}
			}
			if err != nil {
				t.Fatalf("local edit: %v", err)
			}
		}
	})
}

func (r *replica) content() []any {
	return []any{r.text.String(), r.arr.ToJSON(), r.m.ToJSON()}
}

// TestConvergenceRandomDelivery: replicas edit concurrently and exchange
// their updates in random order, with duplicates and long delays; once
// everything is delivered, all replicas hold the same content and state.
func TestConvergenceRandomDelivery(t *testing.T) {
	seeds := 60
	if testing.Short() {
		seeds = 10
	}
	for seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(seed), 99))
			n := 2 + rng.IntN(3)
			reps := make([]*replica, n)
			for i := range reps {
				reps[i] = newReplica(t, uint64(i+1)*uint64(1+rng.IntN(1<<30)), seed%5 == 0)
			}
			// delivered[i][j]: how many of j's updates i has received, in
			// order; extra random deliveries may skip ahead or repeat.
			for step := 0; step < 150; step++ {
				i := rng.IntN(n)
				if rng.IntN(3) > 0 {
					reps[i].randomEdit(t, rng)
					continue
				}
				src := reps[rng.IntN(n)]
				if src == reps[i] || len(src.updates) == 0 {
					continue
				}
				u := src.updates[rng.IntN(len(src.updates))]
				if err := reps[i].doc.ApplyUpdate(u, "remote"); err != nil {
					t.Fatalf("apply: %v", err)
				}
			}
			// Deliver everything, each replica in its own random order.
			for _, dst := range reps {
				var all [][]byte
				for _, src := range reps {
					if src != dst {
						all = append(all, src.updates...)
					}
				}
				rng.Shuffle(len(all), func(a, b int) { all[a], all[b] = all[b], all[a] })
				for _, u := range all {
					if err := dst.doc.ApplyUpdate(u, "remote"); err != nil {
						t.Fatalf("apply: %v", err)
					}
				}
				if dst.doc.HasPending() {
					t.Fatalf("replica %d still has pending content after full delivery", dst.doc.ClientID())
				}
			}
			want := reps[0].content()
			for _, r := range reps[1:] {
				if got := r.content(); !reflect.DeepEqual(got, want) {
					t.Fatalf("replicas diverged:\n%v\n%v", got, want)
				}
				if !reflect.DeepEqual(r.doc.StateVector(), reps[0].doc.StateVector()) {
					t.Fatalf("state vectors differ: %v vs %v", r.doc.StateVector(), reps[0].doc.StateVector())
				}
			}
			// A fresh replica loading any one full state agrees too.
			for _, r := range reps {
				fresh := newReplica(t, 7, false)
				if err := fresh.doc.ApplyUpdate(r.doc.EncodeStateAsUpdate(), "remote"); err != nil {
					t.Fatal(err)
				}
				if got := fresh.content(); !reflect.DeepEqual(got, want) {
					t.Fatalf("state of %d loads differently:\n%v\n%v", r.doc.ClientID(), got, want)
				}
			}
		})
	}
}

// TestDiffSyncProtocol: two replicas reach the same state by exchanging
// state vectors and diffs only, as the sync protocol does.
func TestDiffSyncProtocol(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	a, b := newReplica(t, 11, false), newReplica(t, 22, false)
	for round := 0; round < 20; round++ {
		for k := 0; k < 10; k++ {
			a.randomEdit(t, rng)
			b.randomEdit(t, rng)
		}
		da, err := a.doc.EncodeDiff(b.doc.EncodeStateVector())
		if err != nil {
			t.Fatal(err)
		}
		db, err := b.doc.EncodeDiff(a.doc.EncodeStateVector())
		if err != nil {
			t.Fatal(err)
		}
		if err := b.doc.ApplyUpdate(da, "remote"); err != nil {
			t.Fatal(err)
		}
		if err := a.doc.ApplyUpdate(db, "remote"); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a.content(), b.content()) {
			t.Fatalf("round %d: diverged\n%v\n%v", round, a.content(), b.content())
		}
	}
}
