package interop

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Convergence bounds: generous for a loaded 2-core CI machine under -race.
const (
	convergeWithin = 30 * time.Second
	editsWithin    = 30 * time.Second
)

// TestConcurrentEditsConverge: four clients in two Node processes insert
// and delete concurrently in one Y.Text, Y.Map and Y.Array; all converge
// to the same state vector and content, with every live marker present
// exactly once. Both stores.
func TestConcurrentEditsConverge(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"bolt", "memory"} {
		t.Run(store, func(t *testing.T) {
			budget(t, 90*time.Second)
			srv := startServer(t, serverOptions{store: store})
			a1 := startAgent(t, "a1", srv.wsURL())
			a2 := startAgent(t, "a2", srv.wsURL())
			const doc = "converge"
			clients := []*client{
				a1.openSynced("c1", doc), a1.openSynced("c2", doc),
				a2.openSynced("c3", doc), a2.openSynced("c4", doc),
			}
			srv.waitConnections(4, 10*time.Second)
			for _, c := range clients {
				c.edit(5, 120, 4) // 120 inserts 5 ms apart, a delete after every 4th
			}
			waitAllDone(t, editsWithin, clients...)
			snaps := waitConverged(t, convergeWithin, clients...)
			live, inserted := expectedMarkers(snaps)
			if len(live) != 4*(120-30) {
				t.Fatalf("%d live markers, want %d", len(live), 4*90)
			}
			checkMarkers(t, snaps[0], live, inserted)
			noServerCloses(t, clients...)
			t.Logf("converged: %d markers, state vector %s", len(live), snaps[0].SV)
		})
	}
}

// TestOfflineEditsMerge: two clients go offline (provider.disconnect()),
// everybody keeps editing, the two reconnect; all converge and nothing is
// lost or duplicated.
func TestOfflineEditsMerge(t *testing.T) {
	t.Parallel()
	budget(t, 90*time.Second)
	srv := startServer(t, serverOptions{})
	a1 := startAgent(t, "a1", srv.wsURL())
	a2 := startAgent(t, "a2", srv.wsURL())
	const doc = "offline"
	c1, c2 := a1.openSynced("c1", doc), a1.openSynced("c2", doc)
	c3, c4 := a2.openSynced("c3", doc), a2.openSynced("c4", doc)
	all := []*client{c1, c2, c3, c4}
	for _, c := range all {
		c.insert(10)
	}
	waitConverged(t, convergeWithin, all...)

	offline, online := []*client{c1, c3}, []*client{c2, c4}
	for _, c := range offline {
		c.disconnect()
	}
	for _, c := range all {
		c.insert(30)
		c.deleteOwn(5)
	}
	// Online clients converge among themselves and must not see the
	// offline clients' new edits.
	on := waitConverged(t, convergeWithin, online...)
	for _, c := range offline {
		s := c.snapshot(true)
		if s.Connected {
			t.Fatalf("%s is connected after disconnect()", c.name)
		}
		for _, m := range s.Inserted[10:] {
			if tokenCount(on[0].Text, m) != 0 {
				t.Fatalf("online clients see %s of offline client %s", m, c.name)
			}
		}
	}
	for _, c := range offline {
		c.connect()
	}
	for _, c := range offline {
		c.waitSynced()
	}
	snaps := waitConverged(t, convergeWithin, all...)
	live, inserted := expectedMarkers(snaps)
	if len(live) != 4*(40-5) {
		t.Fatalf("%d live markers, want %d", len(live), 4*35)
	}
	checkMarkers(t, snaps[0], live, inserted)
	noServerCloses(t, all...)
}

// TestLateJoiner: a client joining an edited document gets all of it in
// the initial sync, both while the room is live and after every client
// left. (Loading from storage is covered by the restart tests and by
// TestIdleConnectionKeptAlive, which outlasts the server's room unload
// delay.)
func TestLateJoiner(t *testing.T) {
	t.Parallel()
	budget(t, 90*time.Second)
	srv := startServer(t, serverOptions{})
	a1 := startAgent(t, "a1", srv.wsURL())
	const doc = "late"
	c1, c2 := a1.openSynced("c1", doc), a1.openSynced("c2", doc)
	c1.edit(2, 150, 5)
	c2.edit(2, 150, 0)
	waitAllDone(t, editsWithin, c1, c2)
	want := waitConverged(t, convergeWithin, c1, c2)
	live, inserted := expectedMarkers(want)

	// While the room is live: synced means the server sent everything.
	a2 := startAgent(t, "a2", srv.wsURL())
	late := a2.openSynced("late1", doc)
	got := late.snapshot(false)
	if got.content() != want[0].content() {
		t.Errorf("late joiner at sync: %d chars, sv %s; want %d chars, sv %s", len(got.Text), got.SV, len(want[0].Text), want[0].SV)
	}
	checkMarkers(t, got, live, inserted)
	noServerCloses(t, c1, c2, late)

	// After everybody left.
	c1.destroy()
	c2.destroy()
	late.destroy()
	srv.waitConnections(0, 10*time.Second)
	later := a2.openSynced("late2", doc)
	got = later.snapshot(false)
	if got.content() != want[0].content() {
		t.Errorf("joiner of an empty room at sync: %d chars, sv %s; want %d chars, sv %s", len(got.Text), got.SV, len(want[0].Text), want[0].SV)
	}
	checkMarkers(t, got, live, inserted)
}

// TestServerRestart: clients edit while the server is stopped gracefully
// (SIGTERM) and started again on the same port and data directory; they
// reconnect by themselves, and end with every edit exactly once. A fresh
// client after another restart loads the same document.
func TestServerRestart(t *testing.T) {
	t.Parallel()
	budget(t, 120*time.Second)
	srv := startServer(t, serverOptions{})
	a1 := startAgent(t, "a1", srv.wsURL())
	a2 := startAgent(t, "a2", srv.wsURL())
	const doc = "restart"
	writers := []*client{a1.openSynced("w1", doc), a1.openSynced("w2", doc), a2.openSynced("w3", doc)}
	for _, c := range writers {
		c.edit(10, 300, 10) // about 3 s of edits
	}
	time.Sleep(700 * time.Millisecond)
	took := srv.stop()
	t.Logf("graceful stop took %v", took)
	for _, c := range writers {
		// The server has exited; the client learns of it when its socket's
		// close event runs, a moment later.
		if !waitDisconnected(c, 5*time.Second) {
			t.Errorf("%s still connected 5 s after the server stopped", c.name)
		}
		var codes []int
		for _, e := range c.events().Events {
			if e.Type == "close" && e.Code != nil {
				codes = append(codes, *e.Code)
			}
		}
		if len(codes) == 0 || codes[0] != 1001 {
			t.Errorf("%s: close codes seen %v, want the first to be 1001 (going away) from a graceful shutdown", c.name, codes)
		}
	}
	time.Sleep(500 * time.Millisecond) // offline edits
	srv.start()
	waitAllDone(t, editsWithin, writers...)
	snaps := waitConverged(t, convergeWithin, writers...)
	live, inserted := expectedMarkers(snaps)
	checkMarkers(t, snaps[0], live, inserted)
	for _, c := range writers {
		var reconnects int
		for _, e := range c.events().Events {
			if e.Type == "status" && e.Status == "connected" {
				reconnects++
			}
		}
		if reconnects < 2 {
			t.Errorf("%s connected %d times, want a reconnect", c.name, reconnects)
		}
	}

	a1.close()
	a2.close()
	srv.stop()
	srv.start()
	fresh := startAgent(t, "fresh", srv.wsURL()).openSynced("fresh", doc)
	got := fresh.snapshot(false)
	if got.content() != snaps[0].content() {
		t.Errorf("fresh client after restart: %d chars, sv %s; want %d chars, sv %s", len(got.Text), got.SV, len(snaps[0].Text), snaps[0].SV)
	}
	checkMarkers(t, got, live, inserted)
}

// TestAwareness: awareness states travel between clients; a client that
// disconnects (cleanly, or by dying) disappears from the others' view
// quickly, well before y-protocols' own 30 s timeout; a joiner sees the
// states of the clients already there.
func TestAwareness(t *testing.T) {
	t.Parallel()
	budget(t, 60*time.Second)
	srv := startServer(t, serverOptions{})
	pa := startAgent(t, "pa", srv.wsURL())
	pb := startAgent(t, "pb", srv.wsURL())
	pk := startAgent(t, "pk", srv.wsURL())
	const doc = "awareness"
	b := pb.openSynced("b", doc)
	b.setAwareness(map[string]any{"user": "bob"})
	a := pa.openSynced("a", doc)
	k := pk.openSynced("k", doc)

	has := func(id uint64, user string) func(map[uint64]map[string]any) bool {
		return func(st map[uint64]map[string]any) bool {
			s, ok := st[id]
			return ok && s != nil && s["user"] == user
		}
	}
	gone := func(id uint64) func(map[uint64]map[string]any) bool {
		return func(st map[uint64]map[string]any) bool {
			_, ok := st[id]
			return !ok
		}
	}
	const quick = 5 * time.Second

	// Initial state on join: a and k joined after b set its state; they
	// must get it from the server (b renews only every 15 s).
	waitAwareness(t, a, quick, "b's state on join", has(b.clientID, "bob"))
	waitAwareness(t, k, quick, "b's state on join", has(b.clientID, "bob"))

	a.setAwareness(map[string]any{"user": "alice", "cursor": 1})
	waitAwareness(t, b, quick, "a's state", has(a.clientID, "alice"))
	a.setAwareness(map[string]any{"user": "alice", "cursor": 42})
	waitAwareness(t, b, quick, "a's updated state", func(st map[uint64]map[string]any) bool {
		return has(a.clientID, "alice")(st) && st[a.clientID]["cursor"] == float64(42)
	})

	a.disconnect()
	d := waitAwareness(t, b, quick, "removal of a after disconnect()", gone(a.clientID))
	t.Logf("a's state removed %v after disconnect()", d)

	k.setAwareness(map[string]any{"user": "kim"})
	waitAwareness(t, b, quick, "k's state", has(k.clientID, "kim"))
	pk.kill() // no close frame, no awareness removal from the client
	d = waitAwareness(t, b, 10*time.Second, "removal of k after its process died", gone(k.clientID))
	t.Logf("k's state removed %v after its process was killed", d)

	// a comes back. (y-websocket re-sends a's state on reconnect, but
	// with the clock of the removal sent by disconnect(), which
	// y-protocols ignores; a's next change is seen.)
	a.connect()
	a.waitSynced()
	a.setAwareness(map[string]any{"user": "alice", "cursor": 7})
	waitAwareness(t, b, quick, "a's state after reconnect", func(st map[uint64]map[string]any) bool {
		return has(a.clientID, "alice")(st) && st[a.clientID]["cursor"] == float64(7)
	})
	noServerCloses(t, a, b)
}

// TestIdleConnectionKeptAlive: y-websocket drops a connection on which it
// received nothing for 30 s. Idle clients must stay connected for 35 s
// with --ping-interval 5s: one without any awareness state (it sends
// nothing at all, so only the server keeps the line busy) and one with the
// default state (renewed every 15 s).
//
// Meanwhile a third document, written and left at the start, outlives the
// server's room unload delay (30 s): a client joining it at the end gets it
// back from storage.
func TestIdleConnectionKeptAlive(t *testing.T) {
	t.Parallel()
	budget(t, 75*time.Second)
	srv := startServer(t, serverOptions{pingInterval: "5s"})
	a := startAgent(t, "a", srv.wsURL())
	bare := a.open("bare", "idle-bare", nil)
	def := a.open("default", "idle-default", map[string]any{})
	bare.waitSynced()
	def.waitSynced()

	w := a.openSynced("w", "unload")
	w.insert(50)
	w.deleteOwn(10)
	want := waitConverged(t, convergeWithin, w)[0]
	w.destroy()

	const idle = 35 * time.Second
	start := time.Now()
	for time.Since(start) < idle {
		time.Sleep(5 * time.Second)
		for _, c := range []*client{bare, def} {
			if l := c.events(); !l.Connected || hasEvent(l, "close") {
				t.Fatalf("%s lost its connection after %v idle: %v", c.name, time.Since(start).Round(time.Second), l)
			}
		}
	}
	h, err := srv.health()
	if err != nil || h.Connections != 2 {
		t.Errorf("after %v idle: /healthz %+v, %v; want 2 connections", idle, h, err)
	}
	if h.Rooms > 2 {
		t.Logf("after %v: /healthz %+v: the left document is still loaded, so it is not read back from storage", idle, h)
	}

	got := a.openSynced("r", "unload").snapshot(false)
	if got.content() != want.content() {
		t.Errorf("document left %v ago: text %q sv %s, want %q sv %s", idle, got.Text, got.SV, want.Text, want.SV)
	}
	live, inserted := expectedMarkers([]snapshot{want})
	checkMarkers(t, got, live, inserted)
}

// TestDocumentNames: room names as y-websocket sends them (appended to
// the URL unencoded; the ws package percent-encodes what a URL cannot
// hold) name separate documents, also across a restart.
func TestDocumentNames(t *testing.T) {
	t.Parallel()
	budget(t, 60*time.Second)
	srv := startServer(t, serverOptions{})
	a1 := startAgent(t, "a1", srv.wsURL())
	a2 := startAgent(t, "a2", srv.wsURL())
	names := []string{"plain", "team/notes 1", "ünïcødé 文档", "dots.and-dashes_~", "team"}
	want := map[string]snapshot{}
	for i, name := range names {
		w := a1.openSynced(fmt.Sprintf("w%d", i), name)
		r := a2.openSynced(fmt.Sprintf("r%d", i), name)
		w.insert(3 + i)
		snaps := waitConverged(t, convergeWithin, w, r)
		live, inserted := expectedMarkers(snaps[:1])
		checkMarkers(t, snaps[1], live, inserted) // only w's markers: no other room's
		want[name] = snaps[1]
		noServerCloses(t, w, r)
	}
	a1.close()
	a2.close()
	srv.stop()
	srv.start()
	a3 := startAgent(t, "a3", srv.wsURL())
	for i, name := range names {
		got := a3.openSynced(fmt.Sprintf("f%d", i), name).snapshot(false)
		if got.content() != want[name].content() {
			t.Errorf("document %q after restart: text %q, want %q", name, got.Text, want[name].Text)
		}
	}
}

// TestLargeUpdatesAndBursts: a 4 MiB paste (one 4 MiB message each way)
// and then a burst of 3000 transactions sent back to back (a script, a
// replayed offline session of a client without batching) reach the other
// client without its connection being dropped, and a late joiner after a
// restart loads all of it in one sync.
func TestLargeUpdatesAndBursts(t *testing.T) {
	t.Parallel()
	budget(t, 120*time.Second)
	srv := startServer(t, serverOptions{})
	a1 := startAgent(t, "a1", srv.wsURL())
	a2 := startAgent(t, "a2", srv.wsURL())
	const doc = "large"
	c1, c2 := a1.openSynced("c1", doc), a2.openSynced("c2", doc)
	c1.paste(4 << 20)
	waitConverged(t, convergeWithin, c1, c2)
	start := time.Now()
	c2.insert(3000)
	c1.paste(1000)
	snaps := waitConverged(t, 60*time.Second, c1, c2)
	t.Logf("the burst of 3000 transactions converged after %v", time.Since(start).Round(time.Millisecond))
	if snaps[0].BigLength != 4<<20+1000 {
		t.Errorf("big text has %d chars, want %d", snaps[0].BigLength, 4<<20+1000)
	}
	live, inserted := expectedMarkers(snaps)
	checkMarkers(t, snaps[0], live, inserted)
	noServerCloses(t, c1, c2)
	a1.close()
	a2.close()
	srv.stop()
	srv.start()
	got := startAgent(t, "a3", srv.wsURL()).openSynced("late", doc).snapshot(false)
	if got.content() != snaps[0].content() {
		t.Errorf("late joiner after restart: big %d chars, text %d chars, sv %s; want %d, %d, %s",
			got.BigLength, len(got.Text), got.SV, snaps[0].BigLength, len(snaps[0].Text), snaps[0].SV)
	}
}

// TestBrowserOrigin: with the default origin policy (same host only) a
// client whose handshake carries the server's own origin, as a browser
// on the bundled editor page does, syncs; one from a foreign origin never
// connects, and y-websocket keeps retrying without harm.
func TestBrowserOrigin(t *testing.T) {
	t.Parallel()
	budget(t, 30*time.Second)
	srv := startServer(t, serverOptions{})
	a := startAgent(t, "a", srv.wsURL())
	const doc = "origin"
	same := a.openWithOrigin("same", doc, srv.httpURL())
	same.waitSynced()
	same.insert(3)
	foreign := a.openWithOrigin("foreign", doc, "http://evil.invalid")
	time.Sleep(2 * time.Second)
	l := foreign.events()
	if l.Connected || hasStatus(l, "connected") {
		t.Errorf("a client from a foreign origin connected: %v", l)
	}
	if !hasEvent(l, "close") {
		t.Errorf("a client from a foreign origin made no (refused) attempt in 2 s: %v", l)
	}
	if s := foreign.snapshot(false); s.Text != "" {
		t.Errorf("a client from a foreign origin got content %q", s.Text)
	}
	noServerCloses(t, same)
}

func hasStatus(l eventLog, status string) bool {
	for _, e := range l.Events {
		if e.Type == "status" && e.Status == status {
			return true
		}
	}
	return false
}

func hasEvent(l eventLog, typ string) bool {
	for _, e := range l.Events {
		if e.Type == typ {
			return true
		}
	}
	return false
}

// tokenCount is how often marker m occurs as a whole token in text.
func tokenCount(text, m string) int {
	n := 0
	for i := 0; i < len(text); {
		j := strings.Index(text[i:], m+"|")
		if j < 0 {
			break
		}
		j += i
		if j == 0 || text[j-1] == '|' {
			n++
		}
		i = j + 1
	}
	return n
}
