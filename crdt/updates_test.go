package crdt

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// The vectors in testdata/crdt/updates come from
// scripts/yjs/updates-vectors.mjs, which runs the real yjs package.

type updateVectors struct {
	Description string   `json:"description"`
	Blobs       []string `json:"blobs"`
	Merge       []struct {
		In             []int   `json:"in"`
		Out            int     `json:"out"`
		SameAsSequence []*bool `json:"sameAsSequence"`
	} `json:"merge"`
	Diff []struct {
		Update int `json:"update"`
		SV     int `json:"sv"`
		Out    int `json:"out"`
	} `json:"diff"`
	StateVector []struct {
		Update int `json:"update"`
		Out    int `json:"out"`
	} `json:"stateVector"`
	Pending []struct {
		GC    bool `json:"gc"`
		Steps []struct {
			Apply int `json:"apply"`
			State int `json:"state"`
			SV    int `json:"sv"`
		} `json:"steps"`
		Diffs []struct {
			SV  int `json:"sv"`
			Out int `json:"out"`
		} `json:"diffs"`
	} `json:"pending"`
	Sort []struct {
		Input [][2]int `json:"input"`
		Out   []int    `json:"out"`
	} `json:"sort"`
	SortHashed []struct {
		Seed uint32 `json:"seed"`
		N    int    `json:"n"`
		Keys int    `json:"keys"`
		Hash uint32 `json:"hash"`
	} `json:"sortHashed"`

	blobs [][]byte
}

// pendingClient is the client ID of the docs that receive updates out of
// order in the vectors; they never edit.
const pendingClient = 424242

func loadUpdateVectors(t *testing.T) map[string]*updateVectors {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join("..", "testdata", "crdt", "updates", "*", "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no vectors in testdata/crdt/updates")
	}
	out := map[string]*updateVectors{}
	for _, p := range dirs {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		v := &updateVectors{}
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for _, s := range v.Blobs {
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			v.blobs = append(v.blobs, b)
		}
		out[filepath.Base(filepath.Dir(p))] = v
	}
	return out
}

func (v *updateVectors) get(i int) []byte { return v.blobs[i] }

func (v *updateVectors) gets(is []int) [][]byte {
	out := make([][]byte, len(is))
	for j, i := range is {
		out[j] = v.blobs[i]
	}
	return out
}

func TestMergeUpdatesMatchesYjs(t *testing.T) {
	for name, v := range loadUpdateVectors(t) {
		t.Run(name, func(t *testing.T) {
			for i, m := range v.Merge {
				got, err := MergeUpdates(v.gets(m.In)...)
				if err != nil {
					t.Fatalf("merge %d: %v", i, err)
				}
				if want := v.get(m.Out); !bytes.Equal(got, want) {
					t.Errorf("merge %d of %v differs from Yjs\ngot  %x\nwant %x", i, m.In, got, want)
				}
			}
		})
	}
}

func TestDiffUpdateMatchesYjs(t *testing.T) {
	for name, v := range loadUpdateVectors(t) {
		t.Run(name, func(t *testing.T) {
			for i, d := range v.Diff {
				got, err := DiffUpdate(v.get(d.Update), v.get(d.SV))
				if err != nil {
					t.Fatalf("diff %d: %v", i, err)
				}
				if want := v.get(d.Out); !bytes.Equal(got, want) {
					t.Errorf("diff %d (update %d, sv %x) differs from Yjs\ngot  %x\nwant %x", i, d.Update, v.get(d.SV), got, want)
				}
			}
		})
	}
}

func TestStateVectorFromUpdateMatchesYjs(t *testing.T) {
	for name, v := range loadUpdateVectors(t) {
		t.Run(name, func(t *testing.T) {
			for i, s := range v.StateVector {
				got, err := StateVectorFromUpdate(v.get(s.Update))
				if err != nil {
					t.Fatalf("state vector %d: %v", i, err)
				}
				if want := v.get(s.Out); !bytes.Equal(got, want) {
					t.Errorf("state vector %d of update %d: got %x want %x", i, s.Update, got, want)
				}
			}
		})
	}
}

// TestPendingEncodeStateAsUpdateMatchesYjs applies updates out of order
// (with duplicates) and compares the document's encoding, which includes
// pending structs and deletes, with Yjs's after every step.
func TestPendingEncodeStateAsUpdateMatchesYjs(t *testing.T) {
	sawPending := false
	for name, v := range loadUpdateVectors(t) {
		t.Run(name, func(t *testing.T) {
			for i, p := range v.Pending {
				d := NewDoc(Options{ClientID: pendingClient, KeepDeleted: !p.GC})
				for j, st := range p.Steps {
					if err := d.ApplyUpdate(v.get(st.Apply), nil); err != nil {
						t.Fatalf("pending %d step %d: %v", i, j, err)
					}
					sawPending = sawPending || d.HasPending()
					if got, want := d.EncodeStateAsUpdate(), v.get(st.State); !bytes.Equal(got, want) {
						t.Fatalf("pending %d step %d (pending content: %v): state differs from Yjs\ngot  %x\nwant %x", i, j, d.HasPending(), got, want)
					}
					if got, want := d.EncodeStateVector(), v.get(st.SV); !bytes.Equal(got, want) {
						t.Fatalf("pending %d step %d: state vector got %x want %x", i, j, got, want)
					}
				}
				for j, df := range p.Diffs {
					got, err := d.EncodeDiff(v.get(df.SV))
					if err != nil {
						t.Fatal(err)
					}
					if want := v.get(df.Out); !bytes.Equal(got, want) {
						t.Errorf("pending %d diff %d (sv %x) differs from Yjs\ngot  %x\nwant %x", i, j, v.get(df.SV), got, want)
					}
				}
			}
		})
	}
	if !sawPending {
		t.Error("no vector left content pending")
	}
}

// TestMergeUpdatesAppliesLikeSequence checks that applying a merge gives
// the same document as applying its inputs one by one, wherever it does in
// Yjs (it does not when one input has an item and another a GC struct for
// the same ID: the merge keeps only one of them).
func TestMergeUpdatesAppliesLikeSequence(t *testing.T) {
	checked := 0
	for name, v := range loadUpdateVectors(t) {
		t.Run(name, func(t *testing.T) {
			for i, m := range v.Merge {
				ins := v.gets(m.In)
				merged, err := MergeUpdates(ins...)
				if err != nil {
					t.Fatal(err)
				}
				for k, gc := range []bool{true, false} {
					if same := m.SameAsSequence[k]; same == nil || !*same {
						continue
					}
					checked++
					one := NewDoc(Options{ClientID: pendingClient, KeepDeleted: !gc})
					seq := NewDoc(Options{ClientID: pendingClient, KeepDeleted: !gc})
					if err := one.ApplyUpdate(merged, nil); err != nil {
						t.Fatal(err)
					}
					for _, u := range ins {
						if err := seq.ApplyUpdate(u, nil); err != nil {
							t.Fatal(err)
						}
					}
					if a, b := one.EncodeStateAsUpdate(), seq.EncodeStateAsUpdate(); !bytes.Equal(a, b) {
						t.Errorf("merge %d (gc %v): merged %x\none by one %x", i, gc, a, b)
					}
				}
			}
		})
	}
	if checked < 100 {
		t.Errorf("only %d merges checked", checked)
	}
}

func TestMergeUpdatesEdgeCases(t *testing.T) {
	got, err := MergeUpdates()
	if err != nil || !bytes.Equal(got, []byte{0, 0}) {
		t.Errorf("MergeUpdates() = %x, %v; want 0000", got, err)
	}
	// A single update comes back unchanged, even when Yjs would write it
	// differently (here: a client listed twice, unsorted deletes).
	single := []byte{2, 1, 5, 0, 4, 1, 4, 't', 'e', 'x', 't', 1, 'a', 1, 5, 1, 0x84, 5, 0, 1, 'b', 1, 5, 2, 3, 1, 0, 1}
	got, err = MergeUpdates(single)
	if err != nil || !bytes.Equal(got, single) {
		t.Errorf("MergeUpdates(single) = %x, %v", got, err)
	}
	got[0] = 99
	if single[0] != 2 {
		t.Error("MergeUpdates(single) aliases its input")
	}
	if _, err := MergeUpdates(single[:5]); !errors.Is(err, ErrMalformedUpdate) {
		t.Errorf("truncated single update: %v", err)
	}
	if _, err := MergeUpdates(single, single[:5]); !errors.Is(err, ErrMalformedUpdate) {
		t.Errorf("truncated second update: %v", err)
	}
}

// TestMergeUpdatesConcurrent: the byte-level helpers share no state.
func TestMergeUpdatesConcurrent(t *testing.T) {
	v := loadUpdateVectors(t)["random-text"]
	m := v.Merge[len(v.Merge)-1]
	want := v.get(m.Out)
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 20; i++ {
				got, err := MergeUpdates(v.gets(m.In)...)
				if err == nil && !bytes.Equal(got, want) {
					err = errors.New("result differs")
				}
				if err == nil {
					_, err = DiffUpdate(got, v.get(v.Diff[0].SV))
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func TestDiffUpdateErrors(t *testing.T) {
	u := []byte{0, 0}
	if _, err := DiffUpdate(u, []byte{1, 5}); !errors.Is(err, ErrMalformedStateVector) {
		t.Errorf("bad state vector: %v", err)
	}
	if _, err := DiffUpdate([]byte{1}, []byte{0}); !errors.Is(err, ErrMalformedUpdate) {
		t.Errorf("bad update: %v", err)
	}
	got, err := DiffUpdate(u, nil)
	if err != nil || !bytes.Equal(got, u) {
		t.Errorf("empty state vector: %x, %v", got, err)
	}
	if _, err := StateVectorFromUpdate([]byte{3, 0}); !errors.Is(err, ErrMalformedUpdate) {
		t.Errorf("StateVectorFromUpdate: %v", err)
	}
}

// TestMergeDiffStateVectorHostileInput feeds corrupted vectors and
// adversarial length claims to the byte-level helpers: they must return
// errors (wrapping the package's sentinel errors) or results, never panic,
// and never allocate far beyond their input.
func TestMergeDiffStateVectorHostileInput(t *testing.T) {
	var samples [][]byte
	for _, v := range loadUpdateVectors(t) {
		for i, b := range v.blobs {
			if i%7 == 0 && len(b) < 4000 {
				samples = append(samples, b)
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	mutate := func(b []byte) []byte {
		b = slices.Clone(b)
		switch rng.IntN(4) {
		case 0:
			if len(b) > 0 {
				b = b[:rng.IntN(len(b))]
			}
		case 1:
			for n := rng.IntN(3) + 1; n > 0 && len(b) > 0; n-- {
				b[rng.IntN(len(b))] = byte(rng.UintN(256))
			}
		case 2:
			if len(b) > 0 {
				i := rng.IntN(len(b))
				b = slices.Insert(b, i, 0xff, 0xff, 0xff, 0x7f)
			}
		default:
			if len(b) > 0 {
				b[rng.IntN(len(b))] ^= 1 << rng.IntN(8)
			}
		}
		return b
	}
	check := func(err error, sentinels ...error) {
		t.Helper()
		if err == nil {
			return
		}
		for _, s := range sentinels {
			if errors.Is(err, s) {
				return
			}
		}
		t.Fatalf("error wraps no sentinel: %v", err)
	}
	for i := 0; i < 3000; i++ {
		a := mutate(samples[rng.IntN(len(samples))])
		b := samples[rng.IntN(len(samples))]
		_, err := MergeUpdates(a, b)
		check(err, ErrMalformedUpdate)
		_, err = DiffUpdate(a, mutate([]byte{2, 1, 3, 5, 4}))
		check(err, ErrMalformedUpdate, ErrMalformedStateVector)
		_, err = StateVectorFromUpdate(a)
		check(err, ErrMalformedUpdate)
	}

	// Huge counts in tiny inputs must fail before allocating.
	claims := [][]byte{
		{0xff, 0xff, 0xff, 0x0f},                           // clients
		{1, 0xff, 0xff, 0xff, 0x0f, 1, 0},                  // structs
		{0, 0xff, 0xff, 0xff, 0x0f},                        // delete set clients
		{0, 1, 1, 0xff, 0xff, 0xff, 0x0f},                  // delete ranges
		{1, 1, 1, 0, 10, 0xff, 0xff, 0xff, 0xff, 0x0f},     // a Skip beyond 2^53
		{1, 1, 1, 0, 1, 1, 1, 't', 0xff, 0xff, 0xff, 0x7f}, // deleted content length
	}
	for _, c := range claims {
		allocs := testing.AllocsPerRun(5, func() {
			_, _ = MergeUpdates(c, c)
			_, _ = DiffUpdate(c, []byte{0})
			_, _ = StateVectorFromUpdate(c)
		})
		if allocs > 100 {
			t.Errorf("%x: %v allocations", c, allocs)
		}
		for _, err := range []error{
			func() error { _, err := MergeUpdates(c, c); return err }(),
			func() error { _, err := StateVectorFromUpdate(c); return err }(),
		} {
			if !errors.Is(err, ErrMalformedUpdate) {
				t.Errorf("%x: %v", c, err)
			}
		}
	}
}

// TestMergeUpdatesJSSortMatchesV8 checks the replay of V8's Array sort on
// the inconsistent comparator Yjs uses (vectors sorted by Node) and, for
// consistent comparators, against a stable sort.
func TestMergeUpdatesJSSortMatchesV8(t *testing.T) {
	type el struct{ i, key, kind int }
	yjsLike := func(x, y el) int {
		if x.key == y.key {
			if x.kind == y.kind {
				return 0
			}
			if x.kind == 2 {
				return 1
			}
			return -1
		}
		return x.key - y.key
	}
	n := 0
	for _, v := range loadUpdateVectors(t) {
		for ci, c := range v.SortHashed {
			rng := newMulberry32(c.Seed)
			a := make([]el, c.N)
			for i := range a {
				key := rng.intn(0, c.Keys-1)
				a[i] = el{i, key, rng.intn(0, 2)}
			}
			jsSort(a, yjsLike)
			h := uint32(0x811c9dc5)
			for _, e := range a {
				h = (h ^ uint32(e.i)) * 16777619
			}
			if h != c.Hash {
				t.Fatalf("hashed sort case %d (n=%d, keys=%d) differs from V8", ci, c.N, c.Keys)
			}
			n++
		}
		for ci, c := range v.Sort {
			a := make([]el, len(c.Input))
			for i, p := range c.Input {
				a[i] = el{i, p[0], p[1]}
			}
			jsSort(a, yjsLike)
			for i := range a {
				if a[i].i != c.Out[i] {
					t.Fatalf("sort case %d (n=%d) differs from V8 at %d", ci, len(a), i)
				}
			}
			n++
		}
	}
	if n == 0 {
		t.Error("no sort vectors")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for c := 0; c < 300; c++ {
		a := make([]el, rng.IntN(400))
		for i := range a {
			a[i] = el{i, rng.IntN(len(a)/3 + 1), 0}
		}
		b := slices.Clone(a)
		jsSort(a, yjsLike)
		slices.SortStableFunc(b, yjsLike)
		if !slices.Equal(a, b) {
			t.Fatalf("consistent comparator: jsSort is not the stable sort (n=%d)", len(a))
		}
	}
}

// mulberry32 is the PRNG of scripts/yjs/rand.mjs.
type mulberry32 struct{ a uint32 }

func newMulberry32(seed uint32) *mulberry32 { return &mulberry32{seed} }

func (m *mulberry32) next() float64 {
	m.a += 0x6D2B79F5
	t := m.a
	t = (t ^ t>>15) * (t | 1)
	t ^= t + (t^t>>7)*(t|61)
	return float64(t^t>>14) / 4294967296
}

// intn returns an integer in [lo, hi], as rng.int does.
func (m *mulberry32) intn(lo, hi int) int {
	return lo + int(m.next()*float64(hi-lo+1))
}

// TestMergeUpdatesSortShortcut checks that keeping the readers' order
// incrementally gives what replaying V8's sort at every step gives.
func TestMergeUpdatesSortShortcut(t *testing.T) {
	for name, v := range loadUpdateVectors(t) {
		for i, m := range v.Merge {
			var seqs [][]*Item
			for _, b := range v.gets(m.In) {
				u, err := parseUpdate(b)
				if err != nil {
					t.Fatal(err)
				}
				seqs = append(seqs, u.structs)
			}
			var fast, replay []*Item
			mergeStructSeqsWith(seqs, func(it *Item) { fast = append(fast, it) }, false)
			mergeStructSeqsWith(seqs, func(it *Item) { replay = append(replay, it) }, true)
			if len(fast) != len(replay) {
				t.Fatalf("%s merge %d: %d structs with the shortcut, %d replaying the sort", name, i, len(fast), len(replay))
			}
			for j := range fast {
				if fast[j].id() != replay[j].id() || fast[j].length() != replay[j].length() || structKindOf(fast[j]) != structKindOf(replay[j]) {
					t.Fatalf("%s merge %d: struct %d differs", name, i, j)
				}
			}
		}
	}
}
