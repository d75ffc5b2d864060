package interop

import (
	"os/exec"
	"sync"
	"testing"
	"time"
)

// Every test has an overall time budget: when it runs out, the watchdog
// fails the test and kills the processes the test started, so that every
// pending call fails at once and the test ends instead of hanging.

var (
	procsMu sync.Mutex
	procs   = map[*testing.T][]*exec.Cmd{}
)

// watch registers a process started by t for its watchdog.
func watch(t *testing.T, cmd *exec.Cmd) {
	procsMu.Lock()
	defer procsMu.Unlock()
	procs[t] = append(procs[t], cmd)
}

// budget arms t's watchdog.
func budget(t *testing.T, d time.Duration) {
	timer := time.AfterFunc(d, func() {
		t.Errorf("test exceeded its time budget of %v; killing its server and clients", d)
		procsMu.Lock()
		defer procsMu.Unlock()
		for _, cmd := range procs[t] {
			cmd.Process.Kill()
		}
	})
	t.Cleanup(func() {
		timer.Stop()
		procsMu.Lock()
		defer procsMu.Unlock()
		delete(procs, t)
	})
}
