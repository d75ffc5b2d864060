package bolt

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/quirehq/quire/crdt"
	"github.com/quirehq/quire/storage/storetest"
)

// The crash test runs a helper process (this test binary, re-executed)
// that appends from several goroutines and prints every acknowledged
// append; the test kills it with SIGKILL at a random moment, reopens the
// file, and checks that every acknowledged append is there, exactly once,
// and that nothing else is, except the one append each goroutine had in
// flight. Compaction thresholds are tiny so that kills land in the middle
// of compactions too.

const (
	crashPathEnv  = "QUIRE_BOLT_CRASH_PATH"
	crashRoundEnv = "QUIRE_BOLT_CRASH_ROUND"

	crashWorkers = 4
	crashDocs    = 2
	crashMaxOps  = 5000 // per worker: the helper ends by itself eventually
)

var tokenRE = regexp.MustCompile(`<(\d+)\.(\d+)\.(\d+)>`)

// token identifies one append: round, worker, index in the worker.
type token struct{ round, worker, index int }

func (k token) String() string { return fmt.Sprintf("<%d.%d.%d>", k.round, k.worker, k.index) }

func crashDoc(worker int) string { return fmt.Sprint("doc-", worker%crashDocs) }

func TestCrashHelper(t *testing.T) {
	path := os.Getenv(crashPathEnv)
	if path == "" {
		t.Skip("the helper process of TestCrash")
	}
	round, _ := strconv.Atoi(os.Getenv(crashRoundEnv))
	if err := crashHelper(path, round); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(3)
	}
	os.Exit(0)
}

func crashHelper(path string, round int) error {
	ctx := context.Background()
	s, err := Open(path, Options{CompactCount: 7, CompactBytes: 4 << 10})
	if err != nil {
		return err
	}
	var out sync.Mutex
	errc := make(chan error, crashWorkers)
	var wg sync.WaitGroup
	for w := range crashWorkers {
		wg.Go(func() { errc <- crashWorker(ctx, s, round, w, &out) })
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			return err
		}
	}
	return s.Close()
}

// crashWorker appends tokens at the end of the text, as a replica that
// loaded the document first, and prints each token once acknowledged.
func crashWorker(ctx context.Context, s *Store, round, w int, out *sync.Mutex) error {
	name := crashDoc(w)
	stored, err := s.Load(ctx, name)
	if err != nil {
		return err
	}
	// A new client ID per round and worker: a replica must never reuse
	// another's ID.
	d := crdt.NewDoc(crdt.Options{ClientID: uint64(round*crashWorkers + w + 1)})
	if stored != nil {
		if err := d.ApplyUpdate(stored, nil); err != nil {
			return err
		}
	}
	text, err := d.Text("text")
	if err != nil {
		return err
	}
	var update []byte
	d.OnUpdate(func(u []byte, _ any) { update = u })
	for i := range crashMaxOps {
		tok := token{round, w, i}.String()
		d.Transact(nil, func(txn *crdt.Transaction) { err = text.Insert(txn, text.Len(), tok, nil) })
		if err != nil {
			return err
		}
		if err := s.Append(ctx, name, update); err != nil {
			return err
		}
		out.Lock()
		_, err = os.Stdout.WriteString("ack " + tok + "\n")
		out.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary several times")
	}
	path := filepath.Join(t.TempDir(), "quire.db")
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	stored := map[token]bool{} // everything known to be stored so far
	const rounds = 8
	for round := range rounds {
		acked := crashRound(t, path, round, 1+rng.IntN(400))
		checkCrashRound(t, path, round, stored, acked)
	}
	t.Logf("%d appends survived %d kills", len(stored), rounds)
}

// crashRound runs the helper and kills it after killAfter acknowledged
// appends; it returns the acknowledged ones.
func crashRound(t *testing.T, path string, round, killAfter int) map[token]bool {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashPathEnv+"="+path, crashRoundEnv+"="+strconv.Itoa(round))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The deadline kills a helper that hangs; the test then fails below.
	timer := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()

	acked := map[token]bool{}
	killed := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		// A line cut short by the kill does not parse: that append was
		// acknowledged but is not counted as such, which the check allows.
		line, ok := strings.CutPrefix(sc.Text(), "ack ")
		m := tokenRE.FindStringSubmatch(line)
		if !ok || m == nil || m[0] != line {
			continue
		}
		acked[parseToken(m)] = true
		if !killed && len(acked) >= killAfter {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("round %d: the helper ended before the kill (%d acks): %v\n%s", round, len(acked), err, stderr.Bytes())
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("round %d: helper ended with %v, not by the kill\n%s", round, err, stderr.Bytes())
	}
	return acked
}

func parseToken(m []string) token {
	r, _ := strconv.Atoi(m[1])
	w, _ := strconv.Atoi(m[2])
	i, _ := strconv.Atoi(m[3])
	return token{r, w, i}
}

// checkCrashRound reopens the file after round and checks its content
// against what was stored before and what the round acknowledged. It adds
// the round's appends to stored.
func checkCrashRound(t *testing.T, path string, round int, stored, acked map[token]bool) {
	t.Helper()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("round %d: reopening after the kill: %v", round, err)
	}
	defer s.Close()

	found := map[token]int{}
	for d := range crashDocs {
		name := fmt.Sprint("doc-", d)
		u, err := s.Load(t.Context(), name)
		if err != nil {
			t.Fatalf("round %d: %s: %v", round, name, err)
		}
		_, text := storetest.DocFrom(t, u)
		for _, m := range tokenRE.FindAllStringSubmatch(text, -1) {
			k := parseToken(m)
			if crashDoc(k.worker) != name {
				t.Fatalf("round %d: %v found in %s", round, k, name)
			}
			found[k]++
		}
		if rest := tokenRE.ReplaceAllString(text, ""); rest != "" {
			t.Fatalf("round %d: %s holds more than whole tokens: %q", round, name, rest)
		}
	}

	// Per worker of this round: the last acknowledged index.
	last := map[int]int{}
	for w := range crashWorkers {
		last[w] = -1
	}
	for k := range acked {
		last[k.worker] = max(last[k.worker], k.index)
	}
	for k, n := range found {
		if n > 1 {
			t.Fatalf("round %d: %v stored %d times", round, k, n)
		}
		inFlight := k.round == round && k.index == last[k.worker]+1
		if !stored[k] && !acked[k] && !inFlight {
			t.Fatalf("round %d: %v is stored but was neither acknowledged nor in flight", round, k)
		}
	}
	for k := range stored {
		if found[k] == 0 {
			t.Fatalf("round %d: %v, stored in an earlier round, is lost", round, k)
		}
	}
	lost := 0
	for k := range acked {
		if found[k] == 0 {
			lost++
			t.Errorf("round %d: acknowledged %v is lost", round, k)
		}
	}
	if lost > 0 {
		t.FailNow()
	}
	for k := range found {
		stored[k] = true
	}
}
