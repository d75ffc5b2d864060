package crdt_test

// Helpers that load the real-world editing traces in testdata/traces (see
// the README there for format, provenance and licence) and replay them
// through the engine, plus tests that check the replays converge on each
// trace's endContent. The benchmarks in bench_test.go build on these.

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/quirehq/quire/crdt"
)

// traceClientID is the client ID of the replaying document. It is at least
// 2^28, so it takes five bytes as a varint, as random Yjs client IDs
// usually do; scripts/bench/yjs-bench.mjs uses the same ID, so the updates
// of both engines can be compared byte for byte.
const traceClientID = 3000000000

// tracePatch removes Del units at Pos, then inserts Ins at Pos.
type tracePatch struct {
	Pos, Del int
	Ins      string
}

func (p *tracePatch) UnmarshalJSON(b []byte) error {
	var raw [3]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if err := json.Unmarshal(raw[0], &p.Pos); err != nil {
		return err
	}
	if err := json.Unmarshal(raw[1], &p.Del); err != nil {
		return err
	}
	return json.Unmarshal(raw[2], &p.Ins)
}

type traceTxn struct {
	Patches []tracePatch `json:"patches"`
	// Concurrent traces only.
	Parents []int `json:"parents"`
	Agent   int   `json:"agent"`
}

type trace struct {
	Name       string
	Kind       string     `json:"kind"` // "concurrent" or empty
	EndContent string     `json:"endContent"`
	NumAgents  int        `json:"numAgents"`
	Txns       []traceTxn `json:"txns"`
	// Patches is the total number of patches.
	Patches int
}

func (tr *trace) concurrent() bool { return tr.Kind == "concurrent" }

var (
	traceMu    sync.Mutex
	traceCache = map[string]*trace{}
)

// loadTrace parses testdata/traces/<name>.json.gz once per process and
// checks that positions can be used as UTF-16 indexes.
func loadTrace(tb testing.TB, name string) *trace {
	tb.Helper()
	traceMu.Lock()
	defer traceMu.Unlock()
	if tr := traceCache[name]; tr != nil {
		return tr
	}
	tr, err := parseTrace(name)
	if err != nil {
		tb.Fatal(err)
	}
	traceCache[name] = tr
	return tr
}

func parseTrace(name string) (*trace, error) {
	f, err := os.Open(filepath.Join("..", "testdata", "traces", name+".json.gz"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	tr := &trace{Name: name}
	if err := json.NewDecoder(zr).Decode(tr); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	// Trace positions count code points; Text counts UTF-16 units. The two
	// agree as long as no character lies above U+FFFF, which we check here
	// (for every inserted string and the end content) instead of converting.
	bmp := func(s string) error {
		if !utf8.ValidString(s) {
			return fmt.Errorf("%s: invalid UTF-8 in %q", name, s)
		}
		for _, r := range s {
			if r > 0xFFFF {
				return fmt.Errorf("%s: character %U above U+FFFF: code point and UTF-16 indexes differ", name, r)
			}
		}
		return nil
	}
	if err := bmp(tr.EndContent); err != nil {
		return nil, err
	}
	length := 0 // current length, for sequential traces
	for i, txn := range tr.Txns {
		for _, p := range txn.Patches {
			if err := bmp(p.Ins); err != nil {
				return nil, err
			}
			if p.Pos < 0 || p.Del < 0 || (p.Del == 0 && p.Ins == "") {
				return nil, fmt.Errorf("%s: txn %d: bad patch %v", name, i, p)
			}
			if !tr.concurrent() {
				if p.Pos+p.Del > length {
					return nil, fmt.Errorf("%s: txn %d: patch %v out of range (length %d)", name, i, p, length)
				}
				length += traceUTF16Len(p.Ins) - p.Del
			}
			tr.Patches++
		}
		for _, parent := range txn.Parents {
			if parent < 0 || parent >= i {
				return nil, fmt.Errorf("%s: txn %d: parent %d not earlier", name, i, parent)
			}
		}
		if tr.concurrent() && (txn.Agent < 0 || txn.Agent >= tr.NumAgents) {
			return nil, fmt.Errorf("%s: txn %d: bad agent %d", name, i, txn.Agent)
		}
	}
	if !tr.concurrent() && length != traceUTF16Len(tr.EndContent) {
		return nil, fmt.Errorf("%s: replayed length %d, endContent has %d", name, length, traceUTF16Len(tr.EndContent))
	}
	return tr, nil
}

func traceUTF16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// traceApplyPatches applies a txn's patches in order inside txn.
func traceApplyPatches(txn *crdt.Transaction, t *crdt.Text, patches []tracePatch) error {
	for _, p := range patches {
		if p.Del > 0 {
			if err := t.Delete(txn, p.Pos, p.Del); err != nil {
				return fmt.Errorf("delete %d+%d (len %d): %w", p.Pos, p.Del, t.Len(), err)
			}
		}
		if p.Ins != "" {
			if err := t.Insert(txn, p.Pos, p.Ins, nil); err != nil {
				return fmt.Errorf("insert at %d (len %d): %w", p.Pos, t.Len(), err)
			}
		}
	}
	return nil
}

// replayLocal replays a sequential trace into a fresh document, one
// transaction per trace txn. With updates non-nil, it subscribes to the
// document and stores each transaction's update in (*updates)[i]; the
// slice must have room for one update per txn.
func replayLocal(tr *trace, updates [][]byte) (*crdt.Doc, *crdt.Text, error) {
	d := crdt.NewDoc(crdt.Options{ClientID: traceClientID})
	t, err := d.Text("text")
	if err != nil {
		return nil, nil, err
	}
	n := 0
	if updates != nil {
		defer d.OnUpdate(func(u []byte, _ any) {
			if n < len(updates) {
				updates[n] = u
			}
			n++
		})()
	}
	for i := range tr.Txns {
		patches := tr.Txns[i].Patches
		d.Transact(nil, func(txn *crdt.Transaction) {
			if err == nil {
				err = traceApplyPatches(txn, t, patches)
			}
		})
		if err != nil {
			return nil, nil, fmt.Errorf("%s: txn %d: %w", tr.Name, i, err)
		}
	}
	if updates != nil && n != len(updates) {
		return nil, nil, fmt.Errorf("%s: %d updates for %d txns", tr.Name, n, len(updates))
	}
	return d, t, nil
}

// traceApplyAll applies updates one by one to a fresh document.
func traceApplyAll(updates [][]byte) (*crdt.Doc, *crdt.Text, error) {
	d := crdt.NewDoc(crdt.Options{ClientID: 1})
	t, err := d.Text("text")
	if err != nil {
		return nil, nil, err
	}
	for i, u := range updates {
		if err := d.ApplyUpdate(u, nil); err != nil {
			return nil, nil, fmt.Errorf("update %d: %w", i, err)
		}
	}
	return d, t, nil
}

// seqFixture is what the benchmarks of a sequential trace share: the
// per-transaction updates of a local replay and the final state.
type seqFixture struct {
	tr      *trace
	updates [][]byte // one per txn
	final   []byte   // EncodeStateAsUpdate of the replayed document
	err     error
}

var (
	seqMu       sync.Mutex
	seqFixtures = map[string]*seqFixture{}
)

func loadSeqFixture(tb testing.TB, name string) *seqFixture {
	tb.Helper()
	tr := loadTrace(tb, name)
	seqMu.Lock()
	defer seqMu.Unlock()
	fx := seqFixtures[name]
	if fx == nil {
		fx = &seqFixture{tr: tr, updates: make([][]byte, len(tr.Txns))}
		var d *crdt.Doc
		var t *crdt.Text
		d, t, fx.err = replayLocal(tr, fx.updates)
		if fx.err == nil {
			if got := t.String(); got != tr.EndContent {
				fx.err = fmt.Errorf("%s: local replay: text differs from endContent (len %d, want %d)", name, len(got), len(tr.EndContent))
			} else {
				fx.final = d.EncodeStateAsUpdate()
			}
		}
		seqFixtures[name] = fx
	}
	if fx.err != nil {
		tb.Fatal(fx.err)
	}
	return fx
}

// concSchedule says how to replay a concurrent trace with one document per
// agent: before txn i, its agent's document applies the updates of
// before[i] (the ancestors of txn i it lacks, in index order); at the end
// each agent applies final[agent] to catch up with everything.
type concSchedule struct {
	before [][]int
	final  [][]int
}

var (
	schedMu    sync.Mutex
	schedCache = map[string]*concSchedule{}
)

// loadSchedule computes the replay schedule of a concurrent trace. It
// checks that each agent's document is, before each of its txns, exactly
// at the txn's parents: the agent's previous txn must be an ancestor.
func loadSchedule(tb testing.TB, tr *trace) *concSchedule {
	tb.Helper()
	schedMu.Lock()
	defer schedMu.Unlock()
	if s := schedCache[tr.Name]; s != nil {
		return s
	}
	n := len(tr.Txns)
	applied := make([][]bool, tr.NumAgents)
	last := make([]int, tr.NumAgents)
	for a := range applied {
		applied[a] = make([]bool, n)
		last[a] = -1
	}
	s := &concSchedule{before: make([][]int, n), final: make([][]int, tr.NumAgents)}
	var stack []int
	for i, txn := range tr.Txns {
		a := txn.Agent
		ap := applied[a]
		var need []int
		foundLast := last[a] < 0
		stack = append(stack[:0], txn.Parents...)
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if p == last[a] {
				foundLast = true
			}
			if ap[p] {
				continue
			}
			ap[p] = true
			need = append(need, p)
			stack = append(stack, tr.Txns[p].Parents...)
		}
		if !foundLast {
			tb.Fatalf("%s: txn %d of agent %d does not descend from the agent's previous txn %d", tr.Name, i, a, last[a])
		}
		slices.Sort(need)
		s.before[i] = need
		ap[i] = true
		last[a] = i
	}
	for a, ap := range applied {
		for i, ok := range ap {
			if !ok {
				s.final[a] = append(s.final[a], i)
			}
		}
	}
	schedCache[tr.Name] = s
	return s
}

// replayConcurrent replays a concurrent trace with one document per agent
// (client ID traceClientID+agent), then brings every agent up to date. It
// returns the agents' documents and texts and the update of every txn.
func replayConcurrent(tr *trace, s *concSchedule) ([]*crdt.Doc, []*crdt.Text, [][]byte, error) {
	docs := make([]*crdt.Doc, tr.NumAgents)
	texts := make([]*crdt.Text, tr.NumAgents)
	var cur int // index of the txn being replayed
	updates := make([][]byte, len(tr.Txns))
	for a := range docs {
		docs[a] = crdt.NewDoc(crdt.Options{ClientID: traceClientID + uint64(a)})
		t, err := docs[a].Text("text")
		if err != nil {
			return nil, nil, nil, err
		}
		texts[a] = t
		docs[a].OnUpdate(func(u []byte, origin any) {
			if origin == nil { // local txns only
				updates[cur] = u
			}
		})
	}
	remote := &struct{}{}
	var err error
	for i := range tr.Txns {
		txn := &tr.Txns[i]
		d, t := docs[txn.Agent], texts[txn.Agent]
		for _, j := range s.before[i] {
			if err := d.ApplyUpdate(updates[j], remote); err != nil {
				return nil, nil, nil, fmt.Errorf("%s: txn %d: applying txn %d: %w", tr.Name, i, j, err)
			}
		}
		cur = i
		d.Transact(nil, func(x *crdt.Transaction) {
			err = traceApplyPatches(x, t, txn.Patches)
		})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%s: txn %d: %w", tr.Name, i, err)
		}
		if updates[i] == nil {
			return nil, nil, nil, fmt.Errorf("%s: txn %d produced no update", tr.Name, i)
		}
	}
	for a, d := range docs {
		for _, j := range s.final[a] {
			if err := d.ApplyUpdate(updates[j], remote); err != nil {
				return nil, nil, nil, fmt.Errorf("%s: merging txn %d into agent %d: %w", tr.Name, j, a, err)
			}
		}
	}
	return docs, texts, updates, nil
}

func traceDigest(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func traceTotalLen(updates [][]byte) int {
	n := 0
	for _, u := range updates {
		n += len(u)
	}
	return n
}

// yjsTraceDigests are what Yjs 13.6.33 produces for the traces with the
// client IDs used here (scripts/bench/yjs-bench.mjs prints them): the total
// size and digest of the per-txn updates, and the size and digest of the
// final state (for concurrent traces, agent 0's after the merge).
var yjsTraceDigests = map[string]string{
	"automerge-paper": "updateBytes=6324510 updates=7312d2675b52d42f final=311038 finalDigest=5250bd37950f7e0f",
	"seph-blog1":      "updateBytes=4052559 updates=e62215eab68147dc final=338289 finalDigest=d4b95d44d00b61c0",
	"friendsforever":  "updateBytes=643843 updates=4656e5d78f986a00 final=54457 finalDigest=ea316bc235cab823",
	"clownschool":     "updateBytes=590279 updates=ddc3702ed616984e final=43337 finalDigest=1af278d719de40ae",
}

// checkTraceDigest logs the digest line crdt-compare.sh reads and checks
// it against Yjs's.
func checkTraceDigest(t *testing.T, name string, updates [][]byte, final []byte) {
	t.Helper()
	got := fmt.Sprintf("updateBytes=%d updates=%s final=%d finalDigest=%s",
		traceTotalLen(updates), traceDigest(updates...), len(final), traceDigest(final))
	t.Logf("trace-digest %s txns=%d %s", name, len(updates), got)
	if want := yjsTraceDigests[name]; got != want {
		t.Errorf("%s: updates are not byte-identical with Yjs 13.6.33:\n got %s\nwant %s", name, got, want)
	}
}

// TestTraceReplay replays the sequential traces locally, remotely (update
// by update) and from the final state, and checks all three against
// endContent, and checks that the updates are byte-identical with Yjs's.
func TestTraceReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("long trace replay")
	}
	if raceEnabled {
		t.Skip("long trace replay: minutes under -race; run without -race")
	}
	for _, name := range []string{"automerge-paper", "seph-blog1"} {
		t.Run(name, func(t *testing.T) {
			fx := loadSeqFixture(t, name)
			tr := fx.tr
			rd, rt, err := traceApplyAll(fx.updates)
			if err != nil {
				t.Fatal(err)
			}
			if rt.String() != tr.EndContent {
				t.Fatal("remote replay: text differs from endContent")
			}
			// Remote integration must split and merge structs exactly as
			// the local replay did (as Yjs does).
			if got := rd.EncodeStateAsUpdate(); string(got) != string(fx.final) {
				t.Fatalf("remote replay encodes %d bytes, the local replay %d", len(got), len(fx.final))
			}
			ld := crdt.NewDoc(crdt.Options{ClientID: 1})
			lt, _ := ld.Text("text")
			if err := ld.ApplyUpdate(fx.final, nil); err != nil {
				t.Fatal(err)
			}
			if lt.String() != tr.EndContent || lt.Len() != traceUTF16Len(tr.EndContent) {
				t.Fatal("load: text differs from endContent")
			}
			if again := ld.EncodeStateAsUpdate(); string(again) != string(fx.final) {
				t.Fatalf("re-encoding the loaded doc gives %d bytes, want the %d loaded", len(again), len(fx.final))
			}
			checkTraceDigest(t, name, fx.updates, fx.final)
		})
	}
}

// TestConcurrentTraceReplay replays the concurrent traces with one
// document per agent and checks that every agent converges on endContent
// and that the updates are byte-identical with Yjs's.
func TestConcurrentTraceReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("long trace replay")
	}
	for _, name := range []string{"friendsforever", "clownschool"} {
		t.Run(name, func(t *testing.T) {
			tr := loadTrace(t, name)
			s := loadSchedule(t, tr)
			docs, texts, updates, err := replayConcurrent(tr, s)
			if err != nil {
				t.Fatal(err)
			}
			for a, txt := range texts {
				if txt.String() != tr.EndContent {
					t.Fatalf("agent %d: text differs from endContent", a)
				}
			}
			final := docs[0].EncodeStateAsUpdate()
			checkTraceDigest(t, name, updates, final)
			// A load of several clients' structs, with origins in other
			// clients and concurrent inserts, comes out as it went in.
			ld := crdt.NewDoc(crdt.Options{ClientID: 1})
			lt, _ := ld.Text("text")
			if err := ld.ApplyUpdate(final, nil); err != nil {
				t.Fatal(err)
			}
			if lt.String() != tr.EndContent {
				t.Fatal("load: text differs from endContent")
			}
			if again := ld.EncodeStateAsUpdate(); string(again) != string(final) {
				t.Fatalf("re-encoding the loaded doc gives %d bytes, want the %d loaded", len(again), len(final))
			}
		})
	}
}
