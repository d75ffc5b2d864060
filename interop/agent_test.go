package interop

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const callTimeout = 30 * time.Second // one agent command, including waitSynced

// agent is one Node process (interop/js/agent.mjs) holding real Yjs clients.
type agent struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan []byte // stdout, one reply per line; closed at EOF
	stderr lockedBuffer
	exited chan struct{}

	mu     sync.Mutex // one command at a time
	nextID int
}

// startAgent starts an agent whose clients connect to wsURL. It is ended
// when the test ends; its stderr is printed if the test failed.
func startAgent(t *testing.T, name, wsURL string) *agent {
	t.Helper()
	a := &agent{t: t, name: name, lines: make(chan []byte, 16), exited: make(chan struct{})}
	cmd := exec.Command(nodeBin, agentJS)
	cmd.Dir = repoRoot
	cmd.Env = append(cmd.Environ(),
		"QUIRE_WS_URL="+wsURL,
		fmt.Sprintf("QUIRE_SEED=%d", uint32(seed)+uint32(len(t.Name())*131)+uint32(len(name)*7919)+uint32(name[len(name)-1])),
	)
	cmd.Stderr = &a.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // no orphan if the test binary dies
	var err error
	if a.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting node agent: %v", err)
	}
	a.cmd = cmd
	watch(t, cmd)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			a.lines <- slices.Clone(sc.Bytes())
		}
		close(a.lines)
	}()
	go func() {
		cmd.Wait()
		close(a.exited)
	}()
	t.Cleanup(func() {
		a.close()
		if t.Failed() {
			t.Logf("agent %s stderr:\n%s", a.name, a.stderr.String())
		}
	})
	return a
}

// close ends the agent: stdin closed (it destroys its providers and
// exits), then SIGKILL if it is still there after 5 s.
func (a *agent) close() {
	a.stdin.Close()
	select {
	case <-a.exited:
	case <-time.After(5 * time.Second):
		a.cmd.Process.Kill()
		<-a.exited
	}
}

// kill ends the agent abruptly (SIGKILL): its sockets are closed by the
// kernel without a WebSocket close frame or awareness removal.
func (a *agent) kill() {
	a.cmd.Process.Kill()
	<-a.exited
}

type reply struct {
	ID     int             `json:"id"`
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result"`
	Error  string          `json:"error"`
}

// call runs one command and decodes its result into out (if not nil).
func (a *agent) call(cmd string, args map[string]any, out any) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.nextID++
	req := map[string]any{}
	maps.Copy(req, args)
	req["id"] = a.nextID
	req["cmd"] = cmd
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if _, err := a.stdin.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("agent %s: %s: %v (stderr: %s)", a.name, cmd, err, a.stderr.String())
	}
	timer := time.NewTimer(callTimeout)
	defer timer.Stop()
	for {
		select {
		case line, ok := <-a.lines:
			if !ok {
				return fmt.Errorf("agent %s exited during %s (stderr: %s)", a.name, cmd, a.stderr.String())
			}
			var r reply
			if err := json.Unmarshal(line, &r); err != nil {
				// Not ours (a library writing to stdout): keep it
				// with the diagnostics.
				fmt.Fprintf(&a.stderr, "(stdout) %s\n", line)
				continue
			}
			if r.ID != a.nextID {
				continue // a reply to an earlier call that timed out
			}
			if !r.OK {
				return fmt.Errorf("agent %s: %s %v: %s", a.name, cmd, args, r.Error)
			}
			if out != nil {
				return json.Unmarshal(r.Result, out)
			}
			return nil
		case <-timer.C:
			return fmt.Errorf("agent %s: no reply to %s within %v", a.name, cmd, callTimeout)
		}
	}
}

// do is call that fails the test on error.
func (a *agent) do(cmd string, args map[string]any, out any) {
	a.t.Helper()
	if err := a.call(cmd, args, out); err != nil {
		a.t.Fatal(err)
	}
}

// client is one Yjs client (Y.Doc + WebsocketProvider) in an agent.
type client struct {
	a        *agent
	name     string
	clientID uint64
}

// open creates a client of document doc. awareness is its initial local
// awareness state: nil sends none at all (see agent.mjs).
func (a *agent) open(name, doc string, awareness any) *client {
	a.t.Helper()
	var r struct {
		ClientID uint64 `json:"clientID"`
	}
	a.do("open", map[string]any{"name": name, "doc": doc, "awareness": awareness}, &r)
	return &client{a: a, name: name, clientID: r.ClientID}
}

// openWithOrigin opens a client whose WebSocket handshake carries an
// Origin header, as a browser's does.
func (a *agent) openWithOrigin(name, doc, origin string) *client {
	a.t.Helper()
	var r struct {
		ClientID uint64 `json:"clientID"`
	}
	a.do("open", map[string]any{"name": name, "doc": doc, "awareness": map[string]any{}, "origin": origin}, &r)
	return &client{a: a, name: name, clientID: r.ClientID}
}

// openWithToken opens a client that sends token as y-websocket's params
// option does (the query parameter token).
func (a *agent) openWithToken(name, doc, token string) *client {
	a.t.Helper()
	var r struct {
		ClientID uint64 `json:"clientID"`
	}
	a.do("open", map[string]any{"name": name, "doc": doc, "awareness": map[string]any{}, "params": map[string]any{"token": token}}, &r)
	return &client{a: a, name: name, clientID: r.ClientID}
}

// openSynced opens a client with an empty awareness state and waits until
// it has synced with the server.
func (a *agent) openSynced(name, doc string) *client {
	a.t.Helper()
	c := a.open(name, doc, map[string]any{})
	c.waitSynced()
	return c
}

func (c *client) do(cmd string, args map[string]any, out any) {
	c.a.t.Helper()
	if args == nil {
		args = map[string]any{}
	}
	args["name"] = c.name
	c.a.do(cmd, args, out)
}

func (c *client) waitSynced() {
	c.a.t.Helper()
	c.do("waitSynced", map[string]any{"timeoutMs": 20000}, nil)
}

func (c *client) insert(n int)    { c.a.t.Helper(); c.do("insert", map[string]any{"count": n}, nil) }
func (c *client) paste(size int)  { c.a.t.Helper(); c.do("paste", map[string]any{"size": size}, nil) }
func (c *client) deleteOwn(n int) { c.a.t.Helper(); c.do("deleteOwn", map[string]any{"count": n}, nil) }
func (c *client) disconnect()     { c.a.t.Helper(); c.do("disconnect", nil, nil) }
func (c *client) connect()        { c.a.t.Helper(); c.do("connect", nil, nil) }
func (c *client) destroy()        { c.a.t.Helper(); c.do("destroy", nil, nil) }
func (c *client) setAwareness(s any) {
	c.a.t.Helper()
	c.do("setAwareness", map[string]any{"state": s}, nil)
}

// edit starts a background loop of max inserts, one every intervalMs, and
// a delete of an own marker after every deleteEvery inserts (0: none).
func (c *client) edit(intervalMs, max, deleteEvery int) {
	c.a.t.Helper()
	c.do("edit", map[string]any{"intervalMs": intervalMs, "max": max, "deleteEvery": deleteEvery}, nil)
}

func (c *client) stop() {
	c.a.t.Helper()
	c.do("stop", nil, nil)
}

// snapshot is a client's view of the document.
type snapshot struct {
	Name      string         `json:"name"`
	ClientID  uint64         `json:"clientID"`
	SV        string         `json:"sv"` // base64 of Y.encodeStateVector
	Text      string         `json:"text"`
	Map       map[string]any `json:"map"`
	Array     []string       `json:"array"`
	BigLength int            `json:"bigLength"`
	BigSHA256 string         `json:"bigSHA256"`
	Connected bool           `json:"connected"`
	Synced    bool           `json:"synced"`
	Editing   bool           `json:"editing"`
	Inserted  []string       `json:"inserted"` // with markers: every marker this client inserted
	Deleted   []string       `json:"deleted"`  // with markers: the ones it deleted again
}

func (c *client) snapshot(markers bool) snapshot {
	c.a.t.Helper()
	var s snapshot
	c.do("snapshot", map[string]any{"markers": markers}, &s)
	return s
}

// content is what must be identical in converged clients.
func (s snapshot) content() string {
	b, _ := json.Marshal(struct {
		SV        string
		Text      string
		Map       map[string]any
		Array     []string
		BigLength int
		BigSHA256 string
	}{s.SV, s.Text, s.Map, s.Array, s.BigLength, s.BigSHA256})
	return string(b)
}

type event struct {
	T      int    `json:"t"` // ms since open
	Type   string `json:"type"`
	Status string `json:"status"`
	Synced bool   `json:"synced"`
	Code   *int   `json:"code"`
	Reason string `json:"reason"`
}

func (e event) String() string {
	switch e.Type {
	case "status":
		return fmt.Sprintf("%dms status %s", e.T, e.Status)
	case "sync":
		return fmt.Sprintf("%dms sync %v", e.T, e.Synced)
	case "close":
		if e.Code == nil {
			return fmt.Sprintf("%dms close (local)", e.T)
		}
		return fmt.Sprintf("%dms close %d %q", e.T, *e.Code, e.Reason)
	}
	return fmt.Sprintf("%dms %s", e.T, e.Type)
}

type eventLog struct {
	Events    []event `json:"events"`
	Connected bool    `json:"connected"`
	Synced    bool    `json:"synced"`
}

func (l eventLog) String() string {
	var b strings.Builder
	for _, e := range l.Events {
		b.WriteString(e.String())
		b.WriteString("; ")
	}
	return b.String()
}

// serverCloses returns the closes of c's connection that the server
// initiated (or that were abnormal, 1006), as opposed to c's own.
func (c *client) serverCloses() []event {
	c.a.t.Helper()
	var out []event
	for _, e := range c.events().Events {
		if e.Type == "close" && e.Code != nil {
			out = append(out, e)
		}
	}
	return out
}

// noServerCloses fails the test if the server closed (or lost) the
// connection of any of clients: a reconnect would heal the content, but a
// dropped connection is a bug where none was provoked.
func noServerCloses(t *testing.T, clients ...*client) {
	t.Helper()
	for _, c := range clients {
		if cl := c.serverCloses(); len(cl) > 0 {
			t.Errorf("%s: connection closed by the server: %v", c.name, cl)
		}
	}
}

func (c *client) events() eventLog {
	c.a.t.Helper()
	var l eventLog
	c.do("events", nil, &l)
	return l
}

type awarenessEntry struct {
	ClientID uint64         `json:"clientID"`
	State    map[string]any `json:"state"`
}

// awareness returns the awareness states this client knows, by client ID.
func (c *client) awareness() map[uint64]map[string]any {
	c.a.t.Helper()
	var r struct {
		States []awarenessEntry `json:"states"`
	}
	c.do("awareness", nil, &r)
	m := map[uint64]map[string]any{}
	for _, e := range r.States {
		m[e.ClientID] = e.State
	}
	return m
}
