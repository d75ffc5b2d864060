package interop

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

// richView is a client's canonical view of the rich-content roots
// (scripts/yjs/canon.mjs), as an exact JSON string.
type richView struct {
	SV        string `json:"sv"`
	Canon     string `json:"canon"`
	Synced    bool   `json:"synced"`
	Connected bool   `json:"connected"`
}

func (c *client) richView() richView {
	c.a.t.Helper()
	var v richView
	c.do("richCanon", nil, &v)
	return v
}

// waitRichEqual waits (bounded) until every client shows the same state
// vector and canonical rich content, and returns that content.
func waitRichEqual(t *testing.T, within time.Duration, clients ...*client) richView {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		views := make([]richView, len(clients))
		same := true
		for i, c := range clients {
			views[i] = c.richView()
			if !views[i].Connected || views[i].SV != views[0].SV || views[i].Canon != views[0].Canon {
				same = false
			}
		}
		if same {
			return views[0]
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for i, v := range views {
				b.WriteString("\n  " + clients[i].name + ": sv " + v.SV + " " + v.Canon)
			}
			t.Fatalf("rich content differs after %v:%s", within, b.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRichContent: every kind of content a Yjs client produces (formats,
// embeds, astral characters, all Any values, binary, nested, XML types, a
// subdocument reference, an insert that splits a surrogate pair) passes
// through the server unchanged: live to another client, and from the
// server's stored copy to a late joiner after a restart.
func TestRichContent(t *testing.T) {
	t.Parallel()
	budget(t, 60*time.Second)
	srv := startServer(t, serverOptions{})
	aw := startAgent(t, "aw", srv.wsURL())
	ar := startAgent(t, "ar", srv.wsURL())
	const doc = "rich"
	w, r := aw.openSynced("w", doc), ar.openSynced("r", doc)
	for step := 0; ; step++ {
		var res struct {
			Done bool `json:"done"`
		}
		w.do("rich", map[string]any{"step": step}, &res)
		if res.Done {
			break
		}
		waitRichEqual(t, convergeWithin, w, r)
	}

	// Concurrent edits around an astral character: r (offline) inserts
	// between the two UTF-16 halves of the globe, w inserts before and
	// after the globe.
	var view struct {
		Rtext struct {
			String string    `json:"string"`
			Delta  []deltaOp `json:"delta"`
		} `json:"rtext"`
	}
	if err := json.Unmarshal([]byte(w.richView().Canon), &view); err != nil {
		t.Fatal(err)
	}
	// The globe's UTF-16 index in Yjs terms: an embed counts as one.
	at := utf16Index(view.Rtext.Delta, "🌍")
	if at < 0 {
		t.Fatalf("no globe in %q", view.Rtext.String)
	}
	r.disconnect()
	r.do("richInsert", map[string]any{"index": at + 1, "text": "[split]"}, nil)
	w.do("richInsert", map[string]any{"index": at, "text": "«"}, nil)
	w.do("richInsert", map[string]any{"index": at + 3, "text": "»"}, nil)
	r.connect()
	r.waitSynced()
	want := waitRichEqual(t, convergeWithin, w, r)
	noServerCloses(t, w, r)
	if err := json.Unmarshal([]byte(want.Canon), &view); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(view.Rtext.String, "\uFFFD[split]\uFFFD") {
		t.Errorf("text after the split %q: want the globe's halves replaced by U+FFFD around [split], as Yjs does", view.Rtext.String)
	}
	t.Logf("text: %q", view.Rtext.String)

	aw.close()
	ar.close()
	srv.stop()
	srv.start()
	late := startAgent(t, "al", srv.wsURL()).openSynced("late", doc)
	got := late.richView()
	if got.SV != want.SV || got.Canon != want.Canon {
		t.Errorf("late joiner after restart:\n got sv %s %s\nwant sv %s %s", got.SV, got.Canon, want.SV, want.Canon)
	}
}

type deltaOp struct {
	Insert any `json:"insert"` // a string, or an embed (counts as one)
}

// utf16Index is the Yjs index (UTF-16 code units, an embed one) of the
// first occurrence of sub in a text's delta, or -1.
func utf16Index(delta []deltaOp, sub string) int {
	n := 0
	for _, op := range delta {
		s, ok := op.Insert.(string)
		if !ok {
			n++
			continue
		}
		if i := strings.Index(s, sub); i >= 0 {
			return n + len(utf16.Encode([]rune(s[:i])))
		}
		n += len(utf16.Encode([]rune(s)))
	}
	return -1
}
