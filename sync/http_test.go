package sync

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestDocName(t *testing.T) {
	for _, tc := range []struct {
		path, want string
	}{
		{"/ws/doc", "doc"},
		{"/ws/my%20doc", "my doc"},
		{"/ws/a%2Fb", "a/b"},
		{"/ws/a/b", "a/b"},
		{"/ws/%E2%9C%93", "✓"},
		{"/ws/" + strings.Repeat("x", 255), strings.Repeat("x", 255)},
		{"/ws/doc?name=other", "doc"}, // the path wins when it names one
		{"/ws/?name=..", ".."},
		{"/ws/?name=.&token=t", "."},
		{"/ws/?name=a%2Fb%20c", "a/b c"},
	} {
		sep := "?"
		if strings.Contains(tc.path, "?") {
			sep = "&"
		}
		u, err := url.Parse(tc.path + sep + "room=ignored")
		if err != nil {
			t.Fatal(err)
		}
		got, err := docName(u)
		if err != nil || got != tc.want {
			t.Errorf("docName(%s) = %q, %v; want %q", tc.path, got, err, tc.want)
		}
	}
	for _, path := range []string{
		"/ws/",
		"/ws/?name=",
		"/ws/?name=a%00b",
		"/ws/" + strings.Repeat("x", 256),
		"/ws/a%00b",
		"/ws/a%0Ab",
		"/ws/a%7Fb",
		"/ws/a%C2%85b", // U+0085, a C1 control
		"/ws/%C3%28",   // invalid UTF-8
	} {
		u, err := url.Parse(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := docName(u); !errors.Is(err, errInvalidName) {
			t.Errorf("docName(%s): %v, want errInvalidName", path, err)
		}
	}
	if _, err := docName(&url.URL{Path: "/other/doc"}); !errors.Is(err, errNotWebSocketPath) {
		t.Errorf("docName(/other/doc): %v", err)
	}
}

func TestBadNamesAreRefusedBeforeUpgrade(t *testing.T) {
	h := newHarness(t, Options{})
	for _, path := range []string{
		"/ws/",
		"/ws/" + strings.Repeat("x", 256),
		"/ws/a%00b",
		"/ws/a%7Fb",
		"/ws/%C3%28",
	} {
		if got := h.handshakeStatus(path, nil); got != http.StatusBadRequest {
			t.Errorf("%s: HTTP %d, want 400", path, got)
		}
	}
	if got := h.stats(); got.Connections != 0 || got.Rooms != 0 {
		t.Errorf("Stats = %+v after refused requests", got)
	}
	// Names that are fine, including an encoded slash and the query
	// string y-websocket may add.
	h.dial("a%2Fb?token=x").insert("slash")
	h.dial(url.PathEscape(strings.Repeat("é", 127)))
	waitFor(t, "the rooms", func() bool { return h.roomOf("a/b") != nil && h.roomOf(strings.Repeat("é", 127)) != nil })
}

func TestOrigins(t *testing.T) {
	for _, tc := range []struct {
		name    string
		allowed []string
		origin  string // "SELF" is the server's own URL
		ok      bool
	}{
		{"no origin header", nil, "", true},
		{"same host", nil, "SELF", true},
		{"other host", nil, "http://evil.example", false},
		{"opaque origin", nil, "null", false},
		{"listed origin", []string{"https://app.example.com"}, "https://app.example.com", true},
		{"listed origin, other scheme", []string{"https://app.example.com"}, "http://app.example.com", false},
		{"listed origin, case", []string{"https://App.Example.com"}, "https://app.example.COM", true},
		{"host pattern", []string{"*.example.org"}, "https://docs.example.org", true},
		{"host pattern, port", []string{"localhost:*"}, "http://localhost:5173", true},
		{"host pattern miss", []string{"*.example.org"}, "https://example.org.evil", false},
		{"list excludes own host", []string{"https://app.example.com"}, "SELF", false},
		{"any", []string{"*"}, "http://evil.example", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{AllowedOrigins: tc.allowed})
			origin := tc.origin
			if origin == "SELF" {
				origin = h.hs.URL
			}
			header := http.Header{}
			if origin != "" {
				header.Set("Origin", origin)
			}
			c, resp, err := tryDial(t, h.base, "doc", clientOptions{header: header})
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				c.insert("in")
				waitText(t, "in", c)
				return
			}
			if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Fatalf("got %v, %v; want HTTP 403", resp, err)
			}
			if h.stats().Rooms != 0 {
				t.Error("a refused request created a room")
			}
		})
	}
}

func TestNewServerOptions(t *testing.T) {
	store := newFaultStore()
	for name, opts := range map[string]Options{
		"no store":           {},
		"ping too long":      {Store: store, PingInterval: 30 * time.Second},
		"negative queue":     {Store: store, SendQueue: -1},
		"queue of one":       {Store: store, SendQueue: 1},
		"negative size":      {Store: store, MaxMessageBytes: -1},
		"negative delay":     {Store: store, UnloadDelay: -time.Second},
		"negative bytes":     {Store: store, SendQueueBytes: -1},
		"bad origin":         {Store: store, AllowedOrigins: []string{"https://"}},
		"origin with path":   {Store: store, AllowedOrigins: []string{"https://a.example/x"}},
		"bad origin pattern": {Store: store, AllowedOrigins: []string{"[a-"}},
	} {
		if _, err := NewServer(opts); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("%s: %v, want ErrInvalidOptions", name, err)
		}
	}
	s, err := NewServer(Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	c := s.m.Config
	if c.MaxMessageSize != 32<<20 || c.MessageBufferSize != melodySlots || s.pingInterval != 10*time.Second || c.PingPeriod != noMelodyPings || s.writeTimeout != 10*time.Second || s.unloadDelay != 30*time.Second {
		t.Errorf("defaults: %+v, unload %v", c, s.unloadDelay)
	}
	if s.sendQueue != 512 || s.sendQueueBytes != 16<<20 {
		t.Errorf("send queue defaults: %d messages, %d bytes", s.sendQueue, s.sendQueueBytes)
	}
	if c.PongWait <= 2*s.pingInterval {
		t.Errorf("PongWait %v leaves no room for a late pong after a ping every %v", c.PongWait, s.pingInterval)
	}
	if err := s.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestNotFoundOutsideWS(t *testing.T) {
	h := newHarness(t, Options{})
	// Mounted at "/ws/" the handler only sees /ws/ paths, but mounted
	// elsewhere it refuses other paths rather than guess a name.
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, httptest.NewRequest("GET", "/elsewhere/doc", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("HTTP %d, want 404", rec.Code)
	}
}
