package sync

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/quirehq/quire/internal/leakcheck"
	"github.com/quirehq/quire/storage/memory"
)

// TestMain fails the run if goroutines outlive the tests: every test shuts
// its server down, and after that nothing of the server may keep running.
func TestMain(m *testing.M) { leakcheck.Main(m) }

// faultStore is storage/memory with failures, delays and counters.
type faultStore struct {
	inner *memory.Store

	mu        gosync.Mutex
	loads     map[string]int
	appends   int
	flushes   int
	loadErr   error         // returned by Load while set
	loadData  []byte        // returned by Load instead of the stored document while set
	loadGate  chan struct{} // Load waits for it to close while set
	appendErr error         // returned by Append while set
}

func newFaultStore() *faultStore {
	return &faultStore{inner: memory.New(), loads: make(map[string]int)}
}

func (s *faultStore) Load(ctx context.Context, name string) ([]byte, error) {
	s.mu.Lock()
	s.loads[name]++
	gate, err, data := s.loadGate, s.loadErr, s.loadData
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if err != nil {
		return nil, err
	}
	if data != nil {
		return data, nil
	}
	return s.inner.Load(ctx, name)
}

// LoadAppend is Load appended to dst, so that rooms take the path of
// stores that load into their message buffer (storage/memory's).
func (s *faultStore) LoadAppend(ctx context.Context, name string, dst []byte) ([]byte, error) {
	data, err := s.Load(ctx, name)
	if err != nil {
		return dst, err
	}
	return append(dst, data...), nil
}

func (s *faultStore) Append(ctx context.Context, name string, update []byte) error {
	s.mu.Lock()
	s.appends++
	err := s.appendErr
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.inner.Append(ctx, name, update)
}

func (s *faultStore) Flush(ctx context.Context) error {
	s.mu.Lock()
	s.flushes++
	s.mu.Unlock()
	return s.inner.Flush(ctx)
}

func (s *faultStore) set(fn func(s *faultStore)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s)
}

func (s *faultStore) get(fn func(s *faultStore) int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fn(s)
}

// logBuffer collects a server's logs; a failed test prints them.
type logBuffer struct {
	mu  gosync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) contains(s string) bool { return strings.Contains(b.String(), s) }

// harness is a Server behind a real loopback HTTP server, mounted at /ws/
// as `quire serve` mounts it.
type harness struct {
	t     testing.TB
	srv   *Server
	hs    *httptest.Server
	store *faultStore
	logs  *logBuffer
	base  string // ws://127.0.0.1:port
}

func newHarness(t testing.TB, opts Options) *harness {
	t.Helper()
	h := &harness{t: t, logs: &logBuffer{}}
	if opts.Store == nil {
		h.store = newFaultStore()
		opts.Store = h.store
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv, err := NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	h.srv = srv
	mux := http.NewServeMux()
	mux.Handle("/ws/", srv)
	h.hs = httptest.NewServer(mux)
	h.base = "ws" + strings.TrimPrefix(h.hs.URL, "http")
	t.Cleanup(func() {
		h.shutdown()
		if t.Failed() {
			t.Logf("server log:\n%s", h.logs)
		}
	})
	return h
}

// shutdown stops the server (again: Shutdown may be called twice) and the
// HTTP server.
func (h *harness) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.srv.Shutdown(ctx); err != nil {
		h.t.Errorf("Shutdown: %v", err)
	}
	h.hs.Close()
	h.hs.Client().CloseIdleConnections()
}

func (h *harness) dial(name string) *testClient {
	h.t.Helper()
	return dial(h.t, h.base, name, clientOptions{})
}

func (h *harness) dialWith(name string, opts clientOptions) *testClient {
	h.t.Helper()
	return dial(h.t, h.base, name, opts)
}

// get makes a plain HTTP request with WebSocket handshake headers and
// returns the status.
func (h *harness) handshakeStatus(path string, header http.Header) int {
	h.t.Helper()
	req, err := http.NewRequest("GET", h.hs.URL+path, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	resp, err := h.hs.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusSwitchingProtocols {
		// A real upgrade: the connection is now the server's WebSocket.
		// Closing the body closes it.
		return resp.StatusCode
	}
	return resp.StatusCode
}

func (h *harness) stats() Stats { return h.srv.Stats() }
