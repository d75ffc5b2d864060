package crdt_test

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// TEMPORARY (not to be committed): text-focused differential scenarios.
func TestZZTextDiff(t *testing.T) {
	from, _ := strconv.Atoi(os.Getenv("TW_FROM"))
	n, _ := strconv.Atoi(os.Getenv("TW_N"))
	if n == 0 {
		t.Skip()
	}
	steps := os.Getenv("TW_STEPS")
	if steps == "" {
		steps = "200"
	}
	for seed := from; seed < from+n; seed++ {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			args := []string{"/tmp/tw/tscen.mjs", "--seed", strconv.Itoa(seed), "--steps", steps}
			if g := os.Getenv("TW_GC"); g != "" {
				args = append(args, "--gc", g)
			}
			cmd := exec.Command("node", args...)
			cmd.Dir = "/tmp/tw"
			out, err := cmd.Output()
			if err != nil {
				t.Logf("generator: %v", err)
			}
			runScenario(t, out)
		})
	}
}
