package interop

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/quirehq/quire/crdt"
	"github.com/quirehq/quire/storage/bolt"
)

// TestCrashRecovery: writers insert uniquely numbered markers without
// pause while the server is killed with SIGKILL at random moments (three
// rounds). Each time it is restarted on the same data directory; the
// bbolt file must open and pass bbolt's consistency check, and the
// writers reconnect and resync (sync step 1/2 in both directions re-sends
// what the server lost). After each kill the file is also read directly:
// what it holds has every marker exactly once and keeps everything the
// previous crash left. At the end every marker any writer inserted is
// present exactly once for a fresh client, also after a further restart.
//
// The random moments come from the run's seed (QUIRE_INTEROP_SEED).
func TestCrashRecovery(t *testing.T) {
	t.Parallel()
	budget(t, 150*time.Second)
	rng := rand.New(rand.NewPCG(seed, 0xc7a54))
	t0 := time.Now()
	at := func() time.Duration { return time.Since(t0).Round(time.Millisecond) }
	srv := startServer(t, serverOptions{})
	a1 := startAgent(t, "a1", srv.wsURL())
	a2 := startAgent(t, "a2", srv.wsURL())
	const doc = "crash"
	writers := []*client{a1.openSynced("w1", doc), a1.openSynced("w2", doc), a2.openSynced("w3", doc)}
	for _, w := range writers {
		w.edit(15, 3000, 0) // bounded: at most 3000 inserts each, stopped below
	}

	const rounds = 3
	var durable map[string]bool // markers on disk after the previous crash
	for round := 1; round <= rounds; round++ {
		load := time.Duration(300+rng.IntN(1200)) * time.Millisecond
		time.Sleep(load)
		srv.kill()
		checkBolt(t, srv.dbPath())
		durable = checkDurable(t, srv.dbPath(), doc, durable)
		down := time.Duration(rng.IntN(500)) * time.Millisecond
		time.Sleep(down) // the writers go on editing offline
		srv.start()
		restarted := time.Now()
		for _, w := range writers {
			w.waitSynced()
		}
		resync := time.Since(restarted).Round(time.Millisecond)
		var n int
		for _, w := range writers {
			n += len(w.snapshot(true).Inserted)
		}
		t.Logf("%v: round %d: SIGKILL after %v of load, down %v, writers resynced %v after the restart; %d markers inserted so far", at(), round, load, down, resync, n)
	}
	time.Sleep(time.Duration(200+rng.IntN(300)) * time.Millisecond)
	for _, w := range writers {
		w.stop()
	}

	pa := startAgent(t, "probe", srv.wsURL())
	probe := pa.openSynced("probe", doc)
	snaps := waitConverged(t, convergeWithin, append(writers, probe)...)
	live, inserted := expectedMarkers(snaps[:len(writers)])
	t.Logf("%v: converged, %d markers from %v", at(), len(live), inserted)
	checkMarkers(t, snaps[len(writers)], live, inserted)
	for m := range durable {
		if !live[m] {
			t.Errorf("marker %s was on disk after a crash but is not in the converged document", m)
		}
	}

	// Everything is on the server now (the probe got it from there): all
	// clients leave, so none can re-send anything; then one more crash and
	// a graceful restart, and a fresh client must see all of it.
	a1.close()
	a2.close()
	pa.close()
	srv.waitConnections(0, 10*time.Second)
	time.Sleep(200 * time.Millisecond) // well past the group-commit delay
	srv.kill()
	checkBolt(t, srv.dbPath())
	srv.start()
	srv.stop()
	checkBolt(t, srv.dbPath())
	srv.start()
	fresh := startAgent(t, "fresh", srv.wsURL()).openSynced("fresh", doc)
	got := fresh.snapshot(false)
	if got.content() != snaps[0].content() {
		t.Errorf("fresh client after the crashes: %d chars, sv %s; want %d chars, sv %s", len(got.Text), got.SV, len(snaps[0].Text), snaps[0].SV)
	}
	checkMarkers(t, got, live, inserted)
	t.Logf("%v: a fresh client after a crash and a restart has all markers", at())
}

// checkDurable reads document doc straight from the bbolt file of a
// killed server: what the crash left on disk. Every marker there must be
// well-formed and present exactly once (nothing stored twice, nothing
// torn), and every marker on disk after the previous crash must still be
// there (the writers never delete, so what was durable stays). It returns
// the markers on disk.
func checkDurable(t *testing.T, path, doc string, before map[string]bool) map[string]bool {
	t.Helper()
	st, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatalf("storage/bolt cannot open the file a crash left: %v", err)
	}
	defer st.Close()
	stored, err := st.Load(context.Background(), doc)
	if err != nil {
		t.Fatalf("loading %q after a crash: %v", doc, err)
	}
	d := crdt.NewDoc(crdt.Options{})
	if err := d.ApplyUpdate(stored, nil); err != nil {
		t.Fatalf("the stored document does not apply: %v", err)
	}
	text, err := d.Text("text")
	if err != nil {
		t.Fatal(err)
	}
	s := text.String()
	on := map[string]bool{}
	if s != "" {
		for _, m := range strings.Split(strings.TrimSuffix(s, "|"), "|") {
			if !markerRE.MatchString(m) {
				t.Errorf("malformed marker on disk: %q", m)
			} else if on[m] {
				t.Errorf("marker %s stored twice", m)
			}
			on[m] = true
		}
	}
	for m := range before {
		if !on[m] {
			t.Errorf("marker %s was durable after the previous crash and is gone", m)
		}
	}
	t.Logf("on disk after the crash: %d markers (%d after the previous one), pending content: %v", len(on), len(before), d.HasPending())
	return on
}

// checkBolt opens the (closed) bbolt file read-only and runs bbolt's
// consistency check over it.
func checkBolt(t *testing.T, path string) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("bbolt file %s does not open: %v", path, err)
	}
	defer db.Close()
	err = db.View(func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			t.Errorf("bbolt check of %s: %v", path, err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("bbolt view of %s: %v", path, err)
	}
}
