// Package leakcheck fails a test binary whose goroutines outlive its tests.
//
// A package's TestMain calls Main. Servers, writers and clients that a
// test forgets to close keep goroutines running after the last test; Main
// waits a bounded while for them to end (closing is often asynchronous),
// then fails the run and prints the stack of every goroutine that started
// during the tests and is still running, so the leak can be traced.
//
// Goroutines are told apart by their IDs, not counted: a count is fooled
// whenever one goroutine from before the snapshot ends while a new one
// leaks (the testing package's own goroutines come and go that way).
package leakcheck

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// grace is how long goroutines may take to end after the last test.
const grace = 10 * time.Second

// Main runs the tests of m and exits with their status, or with 1 if they
// passed but left goroutines behind. The check is skipped while fuzzing:
// the fuzzing engine keeps goroutines of its own.
func Main(m *testing.M) {
	before := Snapshot()
	code := m.Run()
	if code == 0 && !fuzzing() {
		if err := Check(before, grace); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// Goroutines is a set of running goroutines, by ID.
type Goroutines map[uint64]struct{}

// Snapshot returns the goroutines running now.
func Snapshot() Goroutines {
	set := make(Goroutines)
	for _, g := range running() {
		set[g.id] = struct{}{}
	}
	return set
}

// Check waits up to wait for every goroutine not in before to end, and
// returns an error with the stacks of those still running if they do not.
func Check(before Goroutines, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		leaked := newSince(before)
		if len(leaked) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			var report bytes.Buffer
			fmt.Fprintf(&report, "leaked goroutines: %d started during the tests are still running\n", len(leaked))
			for _, g := range leaked {
				report.Write(g.stack)
				report.WriteString("\n\n")
			}
			return fmt.Errorf("%s", bytes.TrimRight(report.Bytes(), "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type goroutine struct {
	id    uint64
	stack []byte
}

// newSince returns the running goroutines that are not in before, except
// the caller's own.
func newSince(before Goroutines) []goroutine {
	all := running()
	var fresh []goroutine
	for i, g := range all {
		if i == 0 { // runtime.Stack lists the calling goroutine first
			continue
		}
		if _, ok := before[g.id]; !ok {
			fresh = append(fresh, g)
		}
	}
	return fresh
}

// running parses runtime.Stack's dump of all goroutines, whose blocks
// start "goroutine <id> [<state>]:" and are separated by blank lines.
func running() []goroutine {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var list []goroutine
	for _, block := range bytes.Split(buf, []byte("\n\n")) {
		rest, ok := bytes.CutPrefix(block, []byte("goroutine "))
		if !ok {
			continue
		}
		idText, _, ok := bytes.Cut(rest, []byte(" "))
		if !ok {
			continue
		}
		id, err := strconv.ParseUint(string(idText), 10, 64)
		if err != nil {
			continue
		}
		list = append(list, goroutine{id: id, stack: block})
	}
	return list
}

// fuzzing reports whether the binary runs as a fuzzing coordinator or
// worker (-test.fuzz, -test.fuzzworker).
func fuzzing() bool {
	for _, name := range []string{"test.fuzz", "test.fuzzworker"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" && f.Value.String() != "false" {
			return true
		}
	}
	return false
}
