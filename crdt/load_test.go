package crdt

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"unsafe"

	"github.com/quirehq/quire/crdt/lib0"
)

// loadPeer is one editing replica of TestLoadFastPathMatchesGeneralPath.
type loadPeer struct {
	doc     *Doc
	text    *Text
	arr     *Array
	m       *Map
	nested  []*Text
	updates [][]byte
}

func newLoadPeer(t *testing.T, client uint64, keep bool) *loadPeer {
	p := &loadPeer{doc: NewDoc(Options{ClientID: client, KeepDeleted: keep})}
	p.text, _ = p.doc.Text("text")
	p.arr, _ = p.doc.Array("arr")
	p.m, _ = p.doc.Map("m")
	p.doc.OnUpdate(func(u []byte, origin any) {
		if origin == nil {
			p.updates = append(p.updates, u)
		}
	})
	return p
}

// edit makes one random local transaction: typing runs, deletes across
// items, formatting, embeds, array values, nested texts in the array and
// the map.
func (p *loadPeer) edit(t *testing.T, rng *rand.Rand) {
	must := func(err error) {
		if err != nil {
			t.Helper()
			t.Fatal(err)
		}
	}
	p.doc.Transact(nil, func(txn *Transaction) {
		x := p.text
		if len(p.nested) > 0 && rng.IntN(4) == 0 {
			if y := p.nested[rng.IntN(len(p.nested))]; y.b.checkAlive() == nil {
				x = y
			}
		}
		n := x.Len()
		switch k := rng.IntN(20); {
		case k < 9: // typing: a run of single characters
			at := rng.IntN(n + 1)
			for i := range 1 + rng.IntN(6) {
				must(x.Insert(txn, at+i, string("abcdé日😀"[rng.IntN(4)]), nil))
			}
		case k < 13 && n > 0:
			i := rng.IntN(n)
			must(x.Delete(txn, i, 1+rng.IntN(min(n-i, 8))))
		case k < 14 && n > 0:
			i := rng.IntN(n)
			must(x.Format(txn, i, 1+rng.IntN(min(n-i, 5)), Attrs{{Key: "b", Value: rng.IntN(2) == 0}}))
		case k < 15:
			_, err := x.InsertEmbed(txn, rng.IntN(n+1), map[string]any{"img": float64(rng.IntN(9))}, nil)
			must(err)
		case k < 17:
			vals := []any{float64(rng.IntN(50)), "v"}
			if rng.IntN(3) == 0 {
				vals = append(vals, NewType{Kind: KindText})
			}
			got, err := p.arr.Insert(txn, rng.IntN(p.arr.Len()+1), vals...)
			must(err)
			for _, v := range got {
				if nt, ok := v.(*Text); ok {
					p.nested = append(p.nested, nt)
				}
			}
		case k < 18 && p.arr.Len() > 0:
			i := rng.IntN(p.arr.Len())
			must(p.arr.Delete(txn, i, 1+rng.IntN(min(p.arr.Len()-i, 3))))
		default:
			v, err := p.m.Set(txn, fmt.Sprint("k", rng.IntN(3)), NewType{Kind: KindText})
			must(err)
			p.nested = append(p.nested, v.(*Text))
		}
	})
}

// loadContent is everything a loaded document shows, the lengths of its
// types included.
func loadContent(d *Doc) []any {
	text, _ := d.Text("text")
	arr, _ := d.Array("arr")
	m, _ := d.Map("m")
	var lengths []int
	var walk func(b *branch)
	walk = func(b *branch) {
		lengths = append(lengths, b.length)
		for it := b.start; it != nil; it = it.right {
			if it.ckind == refType && !it.deleted() {
				walk(it.content().(*contentType).b)
			}
		}
		for _, key := range slices.Sorted(maps.Keys(b.mapItems)) {
			if it := b.mapItems[key]; it.ckind == refType && !it.deleted() {
				walk(it.content().(*contentType).b)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(d.roots)) {
		walk(d.roots[name])
	}
	return []any{text.String(), text.Delta(), arr.ToJSON(), m.ToJSON(), lengths}
}

// checkLinks fails unless every type's items are doubly linked.
func checkLinks(t *testing.T, d *Doc) {
	t.Helper()
	for _, l := range d.store.clients {
		for i := range l.len() {
			it := l.at(i)
			if it.isGC() {
				continue
			}
			if it.right != nil && it.right.left != it || it.left != nil && it.left.right != it {
				t.Fatalf("item %v is not linked both ways", it.id())
			}
		}
	}
}

// TestLoadFastPathMatchesGeneralPath loads the full states of replicas
// that edited concurrently (formatting, embeds, nested types, map
// overwrites, deletes; with and without garbage collection) twice: once as
// loads run, where linkSlab links the structs of a one-client update, and
// once with linkSlab off, where every struct takes the general path. Both
// must encode the same bytes, show the same content and tell subscribers
// the same. The cases: the state of a replica that edited alone (linkSlab
// must have linked most of its structs), the state of several replicas,
// one replica's own updates merged into one (as storage compacts a log),
// and one client's structs alone (some wait for other clients') followed
// by the whole state.
func TestLoadFastPathMatchesGeneralPath(t *testing.T) {
	defer func() { linkSlabOff, linkedHook = false, nil }()
	linked, total := 0, 0
	for seed := range 16 {
		rng := rand.New(rand.NewPCG(uint64(seed), 31))
		keep := seed%3 == 2
		peers := make([]*loadPeer, 1+seed%3)
		for i := range peers {
			peers[i] = newLoadPeer(t, uint64(100+i), keep)
		}
		delivered := make([][]int, len(peers)) // delivered[i][j]: j's updates i has
		for i := range delivered {
			delivered[i] = make([]int, len(peers))
		}
		for range 1500 {
			i := rng.IntN(len(peers))
			if rng.IntN(8) > 0 {
				peers[i].edit(t, rng)
				continue
			}
			for j, src := range peers {
				for ; j != i && delivered[i][j] < len(src.updates); delivered[i][j]++ {
					if err := peers[i].doc.ApplyUpdate(src.updates[delivered[i][j]], "sync"); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		state := peers[0].doc.EncodeStateAsUpdate()
		// A stored log compacted into one update: its structs are not
		// split where later inserts went, as a document's state is.
		merged, err := MergeUpdates(peers[0].updates...)
		if err != nil {
			t.Fatal(err)
		}
		cases := [][][]byte{{state}, {merged}}
		if len(peers) > 1 {
			cases[1] = append(cases[1], state) // (what others wrote)
		}
		if len(peers) > 1 {
			// The last client's structs alone: every other client is known.
			last := uint64(100 + len(peers) - 1)
			sv := peers[0].doc.StateVector()
			delete(sv, last)
			alone, err := DiffUpdate(state, sv.Encode())
			if err != nil {
				t.Fatal(err)
			}
			cases = append(cases, [][]byte{alone, state})
		}
		for k, updates := range cases {
			var docs [2]*Doc
			var emitted [2][]string
			for pass, off := range []bool{true, false} {
				linkSlabOff = off
				n := 0
				linkedHook = func(k int) { n += k }
				d := NewDoc(Options{ClientID: 1, KeepDeleted: keep})
				// What subscribers learn must not depend on the path.
				d.OnUpdate(func(u []byte, _ any) { emitted[pass] = append(emitted[pass], string(u)) })
				d.OnAfterTransaction(func(txn *Transaction) {
					var names []string
					for _, b := range txn.changed {
						if b.item != nil {
							names = append(names, fmt.Sprint(b.item.id()))
						} else {
							names = append(names, b.name)
						}
					}
					slices.Sort(names)
					emitted[pass] = append(emitted[pass], fmt.Sprint("changed ", names))
				})
				for _, u := range updates {
					if err := d.ApplyUpdate(u, nil); err != nil {
						t.Fatal(err)
					}
				}
				checkLinks(t, d)
				checkParentRuns(t, d)
				if off && n != 0 {
					t.Fatalf("seed %d: linkSlab ran while off", seed)
				}
				if !off && len(peers) == 1 && k == 0 {
					linked += n
					total += d.store.list(100).len()
				}
				docs[pass] = d
			}
			if a, b := docs[0].EncodeStateAsUpdate(), docs[1].EncodeStateAsUpdate(); string(a) != string(b) {
				t.Fatalf("seed %d, case %d: the fast path encodes %d bytes, the general path %d", seed, k, len(b), len(a))
			}
			if a, b := loadContent(docs[0]), loadContent(docs[1]); !reflect.DeepEqual(a, b) {
				t.Fatalf("seed %d, case %d: content differs:\n%v\n%v", seed, k, b, a)
			}
			if !reflect.DeepEqual(emitted[0], emitted[1]) {
				t.Fatalf("seed %d, case %d: the loads emit different updates", seed, k)
			}
			if docs[1].HasPending() {
				t.Fatalf("seed %d, case %d: pending structs left", seed, k)
			}
		}
	}
	if linked < total*3/4 {
		t.Fatalf("linkSlab linked %d of %d structs of one-client loads: the fast path no longer carries them", linked, total)
	}
	t.Logf("linkSlab linked %d of %d structs of one-client loads", linked, total)
}

// TestClockDirAgainstScan checks clockDir.find, and clockDir.guess where
// it answers (at least half the lookups), against a linear scan on
// random blocks (even lengths, and runs of one-unit structs that crowd a
// bucket), for every prefix of the block a list in slab mode can be, and
// clocks inside, at the edges of and beyond it.
func TestClockDirAgainstScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	guessed := 0
	for round := range 200 {
		n := minDirStructs + rng.IntN(2000)
		slab := make([]Item, n)
		clock := uint64(0)
		for i := range slab {
			length := 1 + rng.IntN(40)
			if round%2 == 0 && rng.IntN(3) > 0 {
				length = 1
			}
			slab[i].setOwn(ID{Client: 1, Clock: clock}, length)
			clock += uint64(length)
		}
		for range 20 {
			m := 1 + rng.IntN(n)
			dir := newClockDir(slab)
			if dir == nil || len(dir.idx) > 2*n {
				t.Fatalf("round %d: directory of %d entries for %d structs", round, len(dir.idx), n)
			}
			l := &structList{slab: slab[:m], dir: dir}
			end := slab[m-1].end()
			for range 50 {
				c := rng.Uint64N(end + 5)
				want := -1
				for i := range m {
					if c >= slab[i].startClock() && c < slab[i].end() {
						want = i
					}
				}
				if got := dir.find(l, c); got != want {
					t.Fatalf("round %d, %d structs: clock %d found at %d, want %d", round, m, c, got, want)
				}
				if got := dir.guess(slab[:m], c); got >= 0 {
					guessed++
					if got != want {
						t.Fatalf("round %d, %d structs: clock %d guessed at %d, want %d", round, m, c, got, want)
					}
				}
				if got := findIndex(l, c); got != want {
					t.Fatalf("round %d, %d structs: findIndex(%d) = %d, want %d", round, m, c, got, want)
				}
			}
		}
	}
	if guessed < 200*20*50/2 {
		t.Fatalf("guess answered %d of %d lookups", guessed, 200*20*50)
	}
}

// TestReadItemsFastMatchesReadStructInto feeds readItemsFast random struct
// encodings: every info byte, IDs of the block's client and of others,
// clocks at and beyond the struct's own (self references), lengths of one
// to three bytes and zero, ASCII and other text, truncated input. Whatever
// it takes must decode exactly as readStructInto decodes it, and what it
// refuses it must leave untouched.
func TestReadItemsFastMatchesReadStructInto(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 11))
	const client = 0x9617c0d // five bytes as a var-uint, as Yjs client IDs mostly are
	clientRaw := lib0.NewEncoder(8)
	clientRaw.WriteVarUint(client)
	taken, short := 0, 0
	for range 200000 {
		clock := rng.Uint64N(1 << (1 + rng.IntN(24)))
		e := lib0.NewEncoder(64)
		info := byte(rng.IntN(256))
		if rng.IntN(2) == 0 {
			info = []byte{0x84, 0xc4, 0x81, 0xc1, 0x44, 0xa4, 0x85}[rng.IntN(7)]
		}
		e.WriteUint8(info)
		id := func() {
			c := uint64(client)
			if rng.IntN(10) == 0 {
				c = rng.Uint64N(1 << 40)
			}
			e.WriteVarUint(c)
			e.WriteVarUint(rng.Uint64N(clock + 2))
		}
		if info&0x80 != 0 {
			id()
		}
		if info&0x40 != 0 {
			id()
		}
		length := uint64(rng.IntN(200))
		if rng.IntN(2) == 0 {
			length = uint64(rng.IntN(20)) // (short strings: copied by words)
		} else if rng.IntN(5) == 0 {
			length = rng.Uint64N(1 << 21)
		}
		if info&0x1f == refString {
			text := make([]byte, min(length, 300))
			for i := range text {
				text[i] = byte('a' + rng.IntN(26))
				if rng.IntN(200) == 0 {
					text[i] = 0xc3
				}
			}
			e.WriteVarUint(uint64(len(text)))
			e.WriteRaw(text)
		} else {
			e.WriteVarUint(length)
		}
		for range rng.IntN(40) {
			e.WriteUint8(byte(rng.IntN(256)))
		}
		in := e.Bytes()
		if rng.IntN(8) == 0 {
			in = in[:rng.IntN(len(in)+1)]
		}

		var fast, slow Item
		ar := decodeArena{client: client, clientPrefix: lib0.NewWordPrefix(clientRaw.Bytes())}
		// An arena chunk in use, with room for a short string or not, and
		// bytes beyond its length that strings already handed out own
		// none of: only those before it must stay.
		used := rng.IntN(24)
		ar.bytes = make([]byte, used+rng.IntN(40))
		for i := range ar.bytes {
			ar.bytes[i] = byte(rng.IntN(256))
		}
		chunk := ar.bytes[:used]
		ar.bytes = chunk
		before := string(chunk)
		k, n, next := ar.readItemsFast(in, unsafe.Slice(&fast, 1), clock)
		if string(chunk) != before {
			t.Fatalf("%x at clock %d: the arena's earlier strings changed", in, clock)
		}
		if k == 0 {
			if fast != (Item{}) || n != 0 || next != clock {
				t.Fatalf("%x at clock %d: refused, but wrote the item", in, clock)
			}
			continue
		}
		taken++
		d := lib0.NewDecoder(in)
		ar2 := decodeArena{client: client, clientPrefix: lib0.NewWordPrefix(clientRaw.Bytes())}
		if err := readStructInto(d, ID{Client: client, Clock: clock}, &slow, &ar2, 1); err != nil {
			t.Fatalf("%x at clock %d: taken, but readStructInto says %v", in, clock, err)
		}
		if n != d.Pos() || next != clock+uint64(slow.length()) {
			t.Fatalf("%x at clock %d: took %d bytes up to clock %d, readStructInto %d bytes", in, clock, n, next, d.Pos())
		}
		if fast.ckind == refString && cap(chunk) > used && unsafe.StringData(fast.text()) == &chunk[:used+1][used] {
			short++ // (copied into the chunk in use: by words, or appended)
		}
		if fast.ckind == refString && fast.text() != slow.text() {
			t.Fatalf("%x at clock %d: text %q, want %q", in, clock, fast.text(), slow.text())
		}
		fast.cptr, slow.cptr = nil, nil
		if fast != slow {
			t.Fatalf("%x at clock %d: decoded %+v, want %+v", in, clock, fast, slow)
		}
	}
	if taken < 10000 || short < 3000 {
		t.Fatalf("of 200,000 encodings only %d took the fast path, %d of them with a short string copied by words", taken, short)
	}
}

// TestLoadMutatedStates applies a large one-client state (the fast paths'
// input) with random bytes changed: a mutation the decoder accepts must
// load without a panic, and one it refuses must leave the document empty.
func TestLoadMutatedStates(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 13))
	p := newLoadPeer(t, 100, false)
	for range 600 {
		p.edit(t, rng)
	}
	state := p.doc.EncodeStateAsUpdate()
	loaded := 0
	for range 3000 {
		in := slices.Clone(state)
		for range 1 + rng.IntN(3) {
			in[rng.IntN(len(in))] = byte(rng.IntN(256))
		}
		d := NewDoc(Options{ClientID: 1})
		if err := d.ApplyUpdate(in, nil); err != nil {
			if len(d.store.clients) != 0 || d.HasPending() {
				t.Fatalf("a refused update changed the document: %v", err)
			}
			continue
		}
		loaded++
		checkLinks(t, d)
		d.EncodeStateAsUpdate()
	}
	if loaded < 300 {
		t.Fatalf("only %d of 3,000 mutated states loaded", loaded)
	}
}

// TestLoadDeletesAroundDeletedContent loads a state whose structs arrive
// with deleted content together with deletes of the live text around and
// between them (a stored state merged with later deletes, as compaction
// writes it), and checks the result against applying the two one after
// the other. applyDeleteRanges skips a range the transaction deleted
// already; a range that reaches past one must still delete the rest.
func TestLoadDeletesAroundDeletedContent(t *testing.T) {
	for seed := range 40 {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		p := newLoadPeer(t, 100, false)
		for range 300 {
			p.edit(t, rng)
		}
		state := p.doc.EncodeStateAsUpdate()
		sv := p.doc.StateVector().Encode()
		// Later deletes: some next to content deleted before, some spanning it.
		for range 1 + rng.IntN(8) {
			if n := p.text.Len(); n > 0 {
				i := rng.IntN(n)
				if err := p.text.Delete(nil, i, 1+rng.IntN(min(n-i, 6))); err != nil {
					t.Fatal(err)
				}
			}
		}
		later, err := DiffUpdate(p.doc.EncodeStateAsUpdate(), sv)
		if err != nil {
			t.Fatal(err)
		}
		merged, err := MergeUpdates(state, later)
		if err != nil {
			t.Fatal(err)
		}

		one := NewDoc(Options{ClientID: 1})
		if err := one.ApplyUpdate(merged, nil); err != nil {
			t.Fatal(err)
		}
		two := NewDoc(Options{ClientID: 1})
		for _, u := range [][]byte{state, later} {
			if err := two.ApplyUpdate(u, nil); err != nil {
				t.Fatal(err)
			}
		}
		if a, b := loadContent(one), loadContent(two); !reflect.DeepEqual(a, b) {
			t.Fatalf("seed %d: the merged load shows\n%v\napplied one after the other:\n%v", seed, a, b)
		}
		if a, b := one.EncodeStateAsUpdate(), two.EncodeStateAsUpdate(); string(a) != string(b) {
			t.Fatalf("seed %d: the merged load encodes %d bytes, applied one after the other %d", seed, len(a), len(b))
		}
		if got, want := p.text.String(), loadContent(one)[0]; got != want {
			t.Fatalf("seed %d: loaded text %q, the editor has %q", seed, want, got)
		}
	}
}

// TestReadDeleteRangesMatchesReference decodes random delete-set entries
// (integers of one to eight bytes, empty ranges, clocks that overflow,
// truncated and trailing input) with readDeleteRanges, whose fast loop
// takes the short integers, and with a plain loop of ReadVarUint: both
// must agree on the ranges, the bytes read and whether the input is
// malformed.
func TestReadDeleteRangesMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 15))
	reference := func(d *lib0.Decoder, keepEmpty bool) (uint64, []idRange, error) {
		client, err := d.ReadVarUint()
		if err != nil {
			return 0, nil, err
		}
		count, err := d.ReadVarUint()
		if err != nil {
			return 0, nil, err
		}
		if count > uint64(d.Remaining())/2 {
			return 0, nil, lib0.ErrLengthExceedsInput
		}
		var rs []idRange
		for range count {
			clock, err := d.ReadVarUint()
			if err != nil {
				return 0, nil, err
			}
			length, err := d.ReadVarUint()
			if err != nil {
				return 0, nil, err
			}
			if clock+length > maxClock {
				return 0, nil, errClockOverflow
			}
			if length > 0 || keepEmpty {
				rs = append(rs, idRange{clock, length})
			}
		}
		return client, rs, nil
	}
	fast := 0
	for range 20000 {
		e := lib0.NewEncoder(64)
		e.WriteVarUint(rng.Uint64N(1 << 32))
		count := rng.IntN(60)
		e.WriteVarUint(uint64(count))
		bits := 1 + rng.IntN(54)
		for range count {
			for range 2 {
				v := rng.Uint64N(1 << (1 + rng.IntN(bits)))
				if rng.IntN(10) == 0 {
					v = 0
				}
				e.WriteVarUint(v)
			}
		}
		for range rng.IntN(20) {
			e.WriteUint8(byte(rng.IntN(256)))
		}
		in := e.Bytes()
		if rng.IntN(6) == 0 {
			in = in[:rng.IntN(len(in)+1)]
		}
		keep := rng.IntN(2) == 0
		d1, d2 := lib0.NewDecoder(in), lib0.NewDecoder(in)
		c1, rs1, err1 := readDeleteRanges(d1, keep, nil, rng.IntN(2) == 0)
		c2, rs2, err2 := reference(d2, keep)
		if (err1 == nil) != (err2 == nil) || err1 != nil && !errors.Is(err1, err2) {
			t.Fatalf("%x: error %v, want %v", in, err1, err2)
		}
		if err1 != nil {
			continue
		}
		if c1 != c2 || !slices.Equal(rs1, rs2) || d1.Pos() != d2.Pos() {
			t.Fatalf("%x: client %d ranges %v at byte %d, want %d %v at %d", in, c1, rs1, d1.Pos(), c2, rs2, d2.Pos())
		}
		if bits <= 21 && count > 0 {
			fast++
		}
	}
	if fast < 1000 {
		t.Fatalf("only %d entries of short integers", fast)
	}
}

// TestConcurrentLoads loads large states on several goroutines at once,
// one document each (documents are independent): the loads share the
// pooled buffers of scratch.go, and each must still come out as the state
// it loaded, its delete set included. Under -race, a buffer handed to two
// loads at once is a data race.
func TestConcurrentLoads(t *testing.T) {
	var states [][]byte
	for seed := range 4 {
		rng := rand.New(rand.NewPCG(uint64(seed), 99))
		p := newLoadPeer(t, uint64(200+seed), false)
		for range 1200 {
			p.edit(t, rng)
		}
		states = append(states, p.doc.EncodeStateAsUpdate())
	}
	errs := make(chan error, len(states))
	for g := range states {
		go func() {
			for i := range 12 {
				state := states[(g+i)%len(states)]
				d := NewDoc(Options{ClientID: 1})
				if err := d.ApplyUpdate(state, nil); err != nil {
					errs <- err
					return
				}
				if got := d.EncodeStateAsUpdate(); string(got) != string(state) {
					errs <- fmt.Errorf("goroutine %d, load %d: %d bytes back from a %d-byte state", g, i, len(got), len(state))
					return
				}
			}
			errs <- nil
		}()
	}
	for range states {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestReadItemsAsmMatchesGo decodes random runs of items, mostly of the
// usual kind (with now and then another kind, a foreign origin, a long
// varint, a non-ASCII string, a string too long for the arena, truncated
// input), with readItemsAsm and with readItemsGo, into arenas with more
// or less room: both must decode as many items, take as many bytes, reach
// the same clock and leave the same items, texts and arena length. Where
// there is no assembly loop, readItemsAsm is readItemsGo and the test
// checks nothing new.
func TestReadItemsAsmMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 17))
	const client = 0x9617c0d
	raw := lib0.NewEncoder(8)
	raw.WriteVarUint(client)
	decoded := 0
	for round := range 3000 {
		e := lib0.NewEncoder(256)
		clock := uint64(1 + rng.IntN(1<<20))
		c := clock
		for range 1 + rng.IntN(60) {
			info := []byte{0x84, 0xc4, 0x81, 0xc1}[rng.IntN(4)]
			if rng.IntN(200) == 0 {
				info = byte(rng.IntN(256))
			}
			e.WriteUint8(info)
			for _, has := range []bool{info&0x80 != 0, info&0x40 != 0} {
				if !has {
					continue
				}
				if rng.IntN(200) == 0 {
					e.WriteVarUint(uint64(rng.IntN(1 << 30)))
				} else {
					e.WriteRaw(raw.Bytes())
				}
				o := rng.Uint64N(c)
				if rng.IntN(200) == 0 {
					o = c + rng.Uint64N(3)
				} else if rng.IntN(200) == 0 {
					o = rng.Uint64N(1 << 30)
				}
				e.WriteVarUint(o)
			}
			length := 1 + rng.IntN(20)
			switch rng.IntN(40) {
			case 0, 1, 2, 3:
				length = 17 + rng.IntN(300)
			case 4:
				length = rng.IntN(3) * 200
			}
			if info&0x1f == refString {
				text := make([]byte, length)
				for i := range text {
					text[i] = byte(' ' + rng.IntN(90))
					if rng.IntN(3000) == 0 {
						text[i] = 0xc3
					}
				}
				e.WriteVarUint(uint64(len(text)))
				e.WriteRaw(text)
			} else {
				e.WriteVarUint(uint64(length))
			}
			c += uint64(length)
		}
		for range rng.IntN(40) {
			e.WriteUint8(byte(rng.IntN(256)))
		}
		in := e.Bytes()
		if rng.IntN(6) == 0 {
			in = in[:rng.IntN(len(in)+1)]
		}
		arenaCap := []int{0, 10, 40, 300, 2048, 4096, 4096, 4096}[rng.IntN(8)]
		used := rng.IntN(arenaCap/2 + 1)
		var slabs [2][]Item
		var ars [2]decodeArena
		var got [2][3]uint64
		items := 1 + rng.IntN(80)
		for v := range 2 {
			slabs[v] = make([]Item, items)
			ars[v] = decodeArena{client: client, clientPrefix: lib0.NewWordPrefix(raw.Bytes()), bytes: make([]byte, used, arenaCap)}
			read := ars[v].readItemsAsm
			if v == 1 {
				read = ars[v].readItemsGo
			}
			k, n, next := read(in, slabs[v], clock)
			got[v] = [3]uint64{uint64(k), uint64(n), next}
		}
		if got[0] != got[1] || len(ars[0].bytes) != len(ars[1].bytes) {
			t.Fatalf("round %d: assembly decoded %v with an arena of %d, Go %v with %d (input %x)", round, got[0], len(ars[0].bytes), got[1], len(ars[1].bytes), in)
		}
		for i := range slabs[0] {
			a, b := slabs[0][i], slabs[1][i]
			if a.ckind == refString && b.ckind == refString && a.text() != b.text() {
				t.Fatalf("round %d, item %d: text %q, Go %q", round, i, a.text(), b.text())
			}
			a.cptr, b.cptr = nil, nil
			if a != b {
				t.Fatalf("round %d, item %d: %+v, Go %+v", round, i, a, b)
			}
		}
		decoded += int(got[0][0])
	}
	if decoded < 20000 {
		t.Fatalf("only %d items decoded in all", decoded)
	}
}
