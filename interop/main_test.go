package interop

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Set by TestMain.
var (
	quireBin string // the built server binary
	nodeBin  string // node
	repoRoot string // the module root, where package.json and node_modules are
	agentJS  string // interop/js/agent.mjs
	seed     uint64 // base seed of the run's random choices (QUIRE_INTEROP_SEED)
)

// The npm packages the agent imports; `npm ci` at the root installs them.
var requiredNodeModules = []string{"yjs", "lib0", "y-websocket", "y-protocols", "ws"}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(os.Stderr, "interop: "+format+"\n", args...)
		return 1
	}
	wd, err := os.Getwd()
	if err != nil {
		return fail("%v", err)
	}
	repoRoot = filepath.Dir(wd) // go test runs in interop/
	if _, err := os.Stat(filepath.Join(repoRoot, "go.mod")); err != nil {
		return fail("cannot find the module root from %s: %v", wd, err)
	}
	agentJS = filepath.Join(wd, "js", "agent.mjs")

	if nodeBin, err = exec.LookPath("node"); err != nil {
		return fail("node is not in PATH; these tests drive real Yjs clients in Node.js (install Node 20+, then run `npm ci` at the repository root)")
	}
	for _, mod := range requiredNodeModules {
		if _, err := os.Stat(filepath.Join(repoRoot, "node_modules", mod, "package.json")); err != nil {
			return fail("npm package %q is not installed in %s/node_modules; run `npm ci` at the repository root first", mod, repoRoot)
		}
	}

	seed = uint64(time.Now().UnixNano())
	if s := os.Getenv("QUIRE_INTEROP_SEED"); s != "" {
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			return fail("bad QUIRE_INTEROP_SEED %q: %v", s, err)
		}
	}
	fmt.Fprintf(os.Stderr, "interop: seed %d (rerun with QUIRE_INTEROP_SEED=%d)\n", seed, seed)

	if bin := os.Getenv("QUIRE_INTEROP_BIN"); bin != "" {
		// A prebuilt server (or a stand-in with the same flags).
		quireBin = bin
	} else {
		tmp, err := os.MkdirTemp("", "quire-interop-bin-")
		if err != nil {
			return fail("%v", err)
		}
		defer os.RemoveAll(tmp)
		quireBin = filepath.Join(tmp, "quire")
		args := []string{"build", "-o", quireBin}
		if raceEnabled {
			// The tests run under the race detector: run the server
			// under it too; serverProc fails the test on a race report.
			args = append(args, "-race")
		}
		args = append(args, "./cmd/quire")
		cmd := exec.Command("go", args...)
		cmd.Dir = repoRoot
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			return fail("go %v: %v\n%s", args, err, out)
		}
		fmt.Fprintf(os.Stderr, "interop: built %s (race=%v) in %v\n", quireBin, raceEnabled, time.Since(start).Round(time.Millisecond))
	}
	return m.Run()
}
