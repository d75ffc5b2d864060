package interop

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	healthTimeout = 30 * time.Second // start until /healthz answers 200 (race builds start slowly)
	stopTimeout   = 20 * time.Second // SIGTERM until exit; the server's own default is 10 s
)

// lockedBuffer is an io.Writer safe for concurrent use.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type serverOptions struct {
	store        string   // bolt (default) or memory
	pingInterval string   // --ping-interval, if set
	args         []string // further flags of quire serve
}

// quireServer is one `quire serve` on a fixed loopback address and data
// directory, which can be stopped and started again on both.
type quireServer struct {
	t       *testing.T
	addr    string // 127.0.0.1:PORT
	dataDir string
	args    []string
	logs    lockedBuffer // every run's output, each after a "### run N" line
	runs    int

	cmd     *exec.Cmd
	exited  chan struct{} // closed when cmd has exited
	waitErr error         // cmd.Wait's result, valid after exited
}

// startServer starts a server on a free loopback port with a fresh data
// directory and waits until it is healthy. It is stopped (SIGTERM) when
// the test ends; its logs are printed if the test failed.
func startServer(t *testing.T, o serverOptions) *quireServer {
	t.Helper()
	s := &quireServer{t: t, addr: freeAddr(t), dataDir: t.TempDir()}
	s.args = []string{"serve", "--addr", s.addr, "--data-dir", s.dataDir, "--log-format", "text", "--log-level", "debug"}
	if o.store != "" {
		s.args = append(s.args, "--store", o.store)
	}
	if o.pingInterval != "" {
		s.args = append(s.args, "--ping-interval", o.pingInterval)
	}
	s.args = append(s.args, o.args...)
	t.Cleanup(func() {
		if s.running() {
			s.stop()
		}
		logs := s.logs.String()
		for _, bad := range []string{"WARNING: DATA RACE", "panic:", "fatal error:"} {
			if strings.Contains(logs, bad) {
				t.Errorf("server output contains %q", bad)
			}
		}
		if t.Failed() {
			t.Logf("server %s logs:\n%s", s.addr, logs)
		}
	})
	s.start()
	return s
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func (s *quireServer) wsURL() string   { return "ws://" + s.addr + "/ws" }
func (s *quireServer) dbPath() string  { return filepath.Join(s.dataDir, "quire.db") }
func (s *quireServer) httpURL() string { return "http://" + s.addr }

func (s *quireServer) running() bool {
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// start starts the server (again) and waits until /healthz answers 200.
func (s *quireServer) start() {
	s.t.Helper()
	if s.running() {
		s.t.Fatal("server already running")
	}
	s.runs++
	fmt.Fprintf(&s.logs, "### run %d: %s %s\n", s.runs, quireBin, strings.Join(s.args, " "))
	cmd := exec.Command(quireBin, s.args...)
	cmd.Stdout = &s.logs
	cmd.Stderr = &s.logs
	cmd.Env = append(cmd.Environ(), "GORACE=halt_on_error=0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // no orphan if the test binary dies
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("starting server: %v", err)
	}
	s.cmd = cmd
	watch(s.t, cmd)
	s.exited = make(chan struct{})
	go func(exited chan struct{}) {
		s.waitErr = cmd.Wait()
		close(exited)
	}(s.exited)

	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(healthTimeout)
	for {
		select {
		case <-s.exited:
			s.t.Fatalf("server exited while starting (run %d): %v", s.runs, s.waitErr)
		default:
		}
		resp, err := client.Get(s.httpURL() + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("server not healthy %v after start (run %d); last: %v", healthTimeout, s.runs, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits for a graceful exit, killing the server if
// it takes longer than stopTimeout. It fails the test unless the server
// exited by itself with status 0, and returns how long that took.
func (s *quireServer) stop() time.Duration {
	s.t.Helper()
	if !s.running() {
		s.t.Fatal("stop: server not running")
	}
	start := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		s.cmd.Process.Kill()
		<-s.exited
		s.t.Errorf("server did not exit within %v of SIGTERM; killed", stopTimeout)
		return time.Since(start)
	}
	took := time.Since(start)
	if s.waitErr != nil {
		s.t.Errorf("server exited after SIGTERM with %v (want status 0)", s.waitErr)
	}
	return took
}

// kill sends SIGKILL (a crash: nothing is flushed, nothing closed) and
// waits for the process to be gone.
func (s *quireServer) kill() {
	s.t.Helper()
	if !s.running() {
		s.t.Fatal("kill: server not running")
	}
	s.cmd.Process.Kill()
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		s.t.Fatal("server still running 10s after SIGKILL")
	}
	var ee *exec.ExitError
	if !errors.As(s.waitErr, &ee) {
		s.t.Fatalf("after SIGKILL: %v", s.waitErr)
	}
}

// health is the server's /healthz answer.
type health struct {
	Status      string `json:"status"`
	Rooms       int    `json:"rooms"`
	Connections int    `json:"connections"`
}

func (s *quireServer) health() (health, error) {
	var h health
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(s.httpURL() + "/healthz")
	if err != nil {
		return h, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return h, fmt.Errorf("/healthz: %s", resp.Status)
	}
	err = json.NewDecoder(resp.Body).Decode(&h)
	return h, err
}

// waitConnections waits (bounded) until /healthz reports n connections.
func (s *quireServer) waitConnections(n int, within time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(within)
	var h health
	var err error
	for time.Now().Before(deadline) {
		if h, err = s.health(); err == nil && h.Connections == n {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Errorf("/healthz: want %d connections within %v, last %+v (err %v)", n, within, h, err)
}
