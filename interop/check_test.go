package interop

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// waitAllDone waits (bounded) until no client's edit loop is running.
func waitAllDone(t *testing.T, within time.Duration, clients ...*client) {
	t.Helper()
	deadline := time.Now().Add(within)
	for _, c := range clients {
		for c.snapshot(false).Editing {
			if time.Now().After(deadline) {
				t.Fatalf("client %s still editing after %v", c.name, within)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// waitDisconnected polls c until its provider reports the connection
// closed, for at most within, and reports whether it did.
func waitDisconnected(c *client, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for {
		if !c.snapshot(false).Connected {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitConverged waits (bounded) until every client is connected and all
// have the same state vector and content, and returns their snapshots
// (with markers).
func waitConverged(t *testing.T, within time.Duration, clients ...*client) []snapshot {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		snaps := make([]snapshot, len(clients))
		same := true
		for i, c := range clients {
			snaps[i] = c.snapshot(true)
			if !snaps[i].Connected || !snaps[i].Synced || snaps[i].content() != snaps[0].content() {
				same = false
			}
		}
		if same {
			return snaps
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, s := range snaps {
				fmt.Fprintf(&b, "\n  %s: connected=%v synced=%v sv=%s text=%d chars, array=%d, map=%v",
					s.Name, s.Connected, s.Synced, s.SV, len(s.Text), len(s.Array), s.Map)
			}
			for _, c := range clients {
				fmt.Fprintf(&b, "\n  %s events: %v", c.name, c.events())
			}
			t.Fatalf("clients did not converge within %v:%s", within, b.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// expectedMarkers is the set of markers the writers' own logs say must be
// live: every one inserted and not deleted again, and how many each
// writer inserted.
func expectedMarkers(writers []snapshot) (live map[string]bool, inserted map[string]int) {
	live = map[string]bool{}
	inserted = map[string]int{}
	for _, w := range writers {
		for _, m := range w.Inserted {
			if live[m] {
				panic("marker " + m + " inserted twice by the agents")
			}
			live[m] = true
		}
		for _, m := range w.Deleted {
			delete(live, m)
		}
		inserted[w.Name] = len(w.Inserted)
	}
	return live, inserted
}

var markerRE = regexp.MustCompile(`^[a-z][a-z0-9]*#[0-9]+$`)

// checkMarkers checks that s's text and array hold exactly the live
// markers, each exactly once, and nothing else, and that s's map holds,
// for each writer, the number of markers it inserted.
func checkMarkers(t *testing.T, s snapshot, live map[string]bool, inserted map[string]int) {
	t.Helper()
	if !strings.HasSuffix(s.Text, "|") && s.Text != "" {
		t.Errorf("%s: text does not end with a marker separator: ...%q", s.Name, tail(s.Text))
	}
	tokens := strings.Split(strings.TrimSuffix(s.Text, "|"), "|")
	if s.Text == "" {
		tokens = nil
	}
	check := func(what string, items []string) {
		count := map[string]int{}
		var bad []string
		for _, tok := range items {
			if !markerRE.MatchString(tok) {
				bad = append(bad, tok)
				continue
			}
			count[tok]++
		}
		if len(bad) > 0 {
			t.Errorf("%s: %s has %d malformed markers (split or merged edits), e.g. %q", s.Name, what, len(bad), bad[:min(5, len(bad))])
		}
		var missing, dup, extra []string
		for m := range live {
			switch n := count[m]; {
			case n == 0:
				missing = append(missing, m)
			case n > 1:
				dup = append(dup, fmt.Sprintf("%s x%d", m, n))
			}
		}
		for m := range count {
			if !live[m] {
				extra = append(extra, m)
			}
		}
		slices.Sort(missing)
		slices.Sort(dup)
		slices.Sort(extra)
		if len(missing) > 0 {
			t.Errorf("%s: %s lacks %d of %d markers: %v", s.Name, what, len(missing), len(live), firstN(missing, 20))
		}
		if len(dup) > 0 {
			t.Errorf("%s: %s has %d duplicated markers: %v", s.Name, what, len(dup), firstN(dup, 20))
		}
		if len(extra) > 0 {
			t.Errorf("%s: %s has %d markers that are deleted or were never inserted: %v", s.Name, what, len(extra), firstN(extra, 20))
		}
	}
	check("text", tokens)
	check("array", s.Array)
	for w, n := range inserted {
		if n == 0 {
			continue
		}
		if got, ok := s.Map[w].(float64); !ok || int(got) != n {
			t.Errorf("%s: map[%q] = %v, want %d", s.Name, w, s.Map[w], n)
		}
	}
}

func tail(s string) string {
	if len(s) > 40 {
		return s[len(s)-40:]
	}
	return s
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], "...")
	}
	return s
}

// waitAwareness waits (bounded) until cond holds for c's awareness states
// and returns how long that took.
func waitAwareness(t *testing.T, c *client, within time.Duration, what string, cond func(map[uint64]map[string]any) bool) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		st := c.awareness()
		if cond(st) {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("%s: %s not seen within %v; states: %v", c.name, what, within, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
