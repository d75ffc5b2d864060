// Package leakcheck fails a test binary whose goroutines outlive its tests.
//
// A package's TestMain calls Main. Servers, writers and clients that a
// test forgets to close keep goroutines running after the last test; Main
// waits a bounded while for them to end (closing is often asynchronous),
// then fails the run and prints every goroutine's stack so the leak can be
// traced to its start.
package leakcheck

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"
)

// grace is how long goroutines may take to end after the last test.
const grace = 10 * time.Second

// Main runs the tests of m and exits with their status, or with 1 if they
// passed but left goroutines behind. The check is skipped while fuzzing:
// the fuzzing engine keeps goroutines of its own.
func Main(m *testing.M) {
	before := runtime.NumGoroutine()
	code := m.Run()
	if code == 0 && !fuzzing() {
		if err := Check(before, grace); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// Check waits up to wait for the number of goroutines to fall to before,
// and returns an error with every goroutine's stack if it does not.
func Check(before int, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		n := runtime.NumGoroutine()
		if n <= before {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("leaked goroutines: %d before the tests, %d after\n%s", before, n, stacks())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func stacks() []byte {
	buf := make([]byte, 1<<20)
	return buf[:runtime.Stack(buf, true)]
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
