package sync

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/quirehq/quire/auth"
	"github.com/quirehq/quire/auth/jwt"
)

var testSecret = []byte("sync tests' secret, 32 bytes!!!!")

func newAuthHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	v, err := jwt.NewVerifier(jwt.Options{Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	opts.Authorizer = v
	return newHarness(t, opts)
}

func mint(t *testing.T, docs auth.Patterns, perm auth.Permission, ttl time.Duration) string {
	t.Helper()
	tok, err := jwt.Mint(testSecret, docs, perm, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// withToken is document name with the token as y-websocket's params
// option sends it.
func withToken(name, token string) string {
	return name + "?token=" + url.QueryEscape(token)
}

func TestTokenAccepted(t *testing.T) {
	h := newAuthHarness(t, Options{})
	a := h.dial(withToken("doc", mint(t, auth.Patterns{"doc"}, auth.Write, time.Hour)))
	// Non-browser clients may send the token in a header instead; a
	// prefix pattern names the document too.
	b := h.dialWith("doc", clientOptions{header: http.Header{
		"Authorization": {"Bearer " + mint(t, auth.Patterns{"d*"}, auth.Write, time.Hour)},
	}})
	a.insert("from a")
	waitText(t, "from a", a, b)
	b.insert("+b")
	waitText(t, "from a+b", a, b)
}

func TestTokenRefused(t *testing.T) {
	h := newAuthHarness(t, Options{})
	other, _ := jwt.Mint([]byte("not the server's secret, 32 bytes"), auth.Patterns{"doc"}, auth.Write, time.Hour)
	good := mint(t, auth.Patterns{"doc"}, auth.Write, time.Hour)
	cases := []struct {
		name   string
		path   string
		header http.Header
		status int
		reason string
	}{
		{"missing", "doc", nil, 401, "missing token"},
		{"empty bearer", "doc", http.Header{"Authorization": {"Bearer "}}, 401, "missing token"},
		{"garbage", withToken("doc", "garbage"), nil, 401, "invalid token"},
		{"wrong secret", withToken("doc", other), nil, 401, "invalid token"},
		{"tampered", withToken("doc", good[:len(good)-3]+"AAA"), nil, 401, "invalid token"},
		{"expired", withToken("doc", expiredToken(t)), nil, 401, "token expired"},
		{"other document", withToken("doc2", good), nil, 403, "token does not grant this document"},
		{"other prefix", withToken("doc", mint(t, auth.Patterns{"team/*"}, auth.Write, time.Hour)), nil, 403, "token does not grant this document"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, resp, err := tryDial(t, h.base, tc.path, clientOptions{header: tc.header})
			if err == nil {
				c.close()
				t.Fatal("connected")
			}
			if resp == nil {
				t.Fatalf("no HTTP answer: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || strings.TrimSpace(string(body)) != tc.reason {
				t.Errorf("HTTP %d %q, want %d %q", resp.StatusCode, body, tc.status, tc.reason)
			}
		})
	}
	if st := h.stats(); st.Connections != 0 || st.Rooms != 0 {
		t.Errorf("refused handshakes left %d connections, %d rooms", st.Connections, st.Rooms)
	}
}

// expiredToken is a correctly signed token whose expiry has passed.
func expiredToken(t *testing.T) string {
	t.Helper()
	tok := mint(t, auth.Patterns{"doc"}, auth.Write, time.Second)
	time.Sleep(2100 * time.Millisecond) // exp has a resolution of one second
	return tok
}

func TestTokenExpiresMidSession(t *testing.T) {
	h := newAuthHarness(t, Options{})
	long := h.dial(withToken("doc", mint(t, auth.Patterns{"doc"}, auth.Write, time.Hour)))
	short := h.dial(withToken("doc", mint(t, auth.Patterns{"doc"}, auth.Write, 2*time.Second)))
	short.insert("before expiry")
	waitText(t, "before expiry", short, long)
	short.expectClose(closeTokenExpired, reasonTokenExpired)
	if !long.isOpen() {
		t.Fatal("the connection with a valid token was closed too")
	}
	long.insert("!")
	waitText(t, "before expiry!", long)
}

func TestReadOnly(t *testing.T) {
	h := newAuthHarness(t, Options{})
	w := h.dial(withToken("doc", mint(t, auth.Patterns{"doc"}, auth.Write, time.Hour)))
	w.insert("written")
	waitText(t, "written", w)
	r := h.dial(withToken("doc", mint(t, auth.Patterns{"doc"}, auth.Read, time.Hour)))
	waitText(t, "written", r) // the document arrives

	// The reader's own edits never reach the document, the store or
	// the writer: each is answered with permission denied.
	before := h.serverState("doc")
	appends := h.store.get(func(s *faultStore) int { return s.appends })
	// The reader's answer to the server's sync step 1 may have been
	// refused already, or not yet: wait until it and both edits were.
	refusedBefore := h.stats().ReadOnlyRefused
	r.insert(" by a reader")
	r.insert("!")
	waitFor(t, "three permission-denied answers", func() bool {
		var n int
		r.with(func(c *testClient) { n = len(c.denied) })
		return n >= 3
	})
	r.with(func(c *testClient) {
		for _, reason := range c.denied {
			if reason != reasonReadOnly {
				t.Errorf("denied with %q", reason)
			}
		}
	})
	if got := h.stats().ReadOnlyRefused - refusedBefore; got < 2 || got > 3 {
		t.Errorf("ReadOnlyRefused grew by %d, want 2 (3 if the sync step 2 came after)", got)
	}
	if !bytes.Equal(before, h.serverState("doc")) {
		t.Error("a read-only update changed the document")
	}
	if got := h.store.get(func(s *faultStore) int { return s.appends }); got != appends {
		t.Errorf("%d appends after read-only updates, want %d", got, appends)
	}

	// Reads go on: later updates arrive, and awareness flows both ways.
	w.insert(" more")
	waitFor(t, "the writer's update at the reader", func() bool { return strings.Contains(r.String(), " more") })
	if w.String() != "written more" {
		t.Errorf("writer has %q", w.String())
	}
	r.write(awarenessMessage(awarenessEntry{client: 77, clock: 1, state: `{"user":"reader"}`}))
	waitFor(t, "the reader's awareness at the writer", func() bool {
		var ok bool
		w.with(func(c *testClient) { _, ok = c.awareness[77] })
		return ok
	})
	r.write([]byte{messageQueryAwareness})
	waitFor(t, "an answer to query-awareness", func() bool {
		var n int
		r.with(func(c *testClient) { n = len(c.awUpdates) })
		return n > 0
	})
	if !r.isOpen() || !w.isOpen() {
		t.Error("a connection was closed")
	}
}

func TestOpenServerWarns(t *testing.T) {
	h := newHarness(t, Options{})
	if !h.logs.contains("no authorizer configured") {
		t.Error("an open server did not warn")
	}
	a := h.dial("doc") // and anyone may write
	a.insert("x")
	waitText(t, "x", a)
}
