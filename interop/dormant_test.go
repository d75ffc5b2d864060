package interop

import (
	"strings"
	"testing"
	"time"
)

// TestDormantDocument: y-websocket clients on a document whose room went
// dormant (idle and stored: the server holds no copy of it, only its state
// vector) while they stay connected. A joiner gets all of it, loaded back
// from the store; an edit wakes the room and reaches everyone; after
// another dormant spell a third joiner gets the edit too. Both stores.
func TestDormantDocument(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"bolt", "memory"} {
		t.Run(store, func(t *testing.T) {
			budget(t, 90*time.Second)
			srv := startServer(t, serverOptions{store: store, pingInterval: "200ms", args: []string{"--hibernate-after", "300ms"}})
			a := startAgent(t, "a", srv.wsURL())
			const doc = "dormant"
			c1 := a.openSynced("c1", doc)
			c1.edit(2, 100, 4)
			waitAllDone(t, editsWithin, c1)
			want := waitConverged(t, convergeWithin, c1)

			loads := func() int { return strings.Count(srv.logs.String(), `msg="dormant document loaded"`) }
			dormant := func() { // the room drops the document once it is idle and stored
				t.Helper()
				time.Sleep(time.Second)
			}
			dormant()
			c2 := a.openSynced("c2", doc)
			got := c2.snapshot(false)
			if got.content() != want[0].content() {
				t.Errorf("joiner of a dormant room at sync: %d chars, sv %s; want %d chars, sv %s", len(got.Text), got.SV, len(want[0].Text), want[0].SV)
			}
			if loads() == 0 {
				t.Fatal("the room was not dormant: the joiner's sync loaded nothing from the store")
			}

			dormant()
			c1.insert(5)
			c2.insert(5)
			snaps := waitConverged(t, convergeWithin, c1, c2)
			live, inserted := expectedMarkers(snaps)
			checkMarkers(t, snaps[0], live, inserted)

			dormant()
			before := loads()
			c3 := a.openSynced("c3", doc)
			got = c3.snapshot(false)
			if got.content() != snaps[0].content() {
				t.Errorf("joiner after the edits: %d chars, sv %s; want %d chars, sv %s", len(got.Text), got.SV, len(snaps[0].Text), snaps[0].SV)
			}
			checkMarkers(t, got, live, inserted)
			if loads() == before {
				t.Error("the room did not go dormant again after the edits")
			}
			noServerCloses(t, c1, c2, c3)
		})
	}
}
