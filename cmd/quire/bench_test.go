package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/quirehq/quire/loadtest"
	"github.com/quirehq/quire/storage/memory"
	"github.com/quirehq/quire/sync"
)

// TestBench runs `quire bench fan-out` against a server on loopback and
// reads its JSON: every update delivered to every other member.
func TestBench(t *testing.T) {
	srv, err := sync.NewServer(sync.Options{Store: memory.New()})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ws/", srv)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		hs.Close()
	})
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"

	stdout, stderr, code, err := run(t, nil, "bench", "--url", url, "--json", "-", "--rooms", "2", "--clients", "3",
		"--senders", "2", "--rate", "50", "--duration", "200ms", "fan-out")
	if err != nil || code != 0 {
		t.Fatalf("exit %d, err %v, stderr %s", code, err, stderr)
	}
	var r loadtest.Result
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout)
	}
	if r.Scenario != loadtest.FanOut || r.Sent != 2*2*10 || r.Delivered != 2*r.Sent || r.Errors != 0 {
		t.Errorf("result %+v: want 40 sent, 80 delivered, no errors", r)
	}

	// The table names what it measured.
	stdout, _, code, err = run(t, nil, "bench", "--url", url, "--clients", "5", "--duration", "10ms", "idle")
	if err != nil || code != 0 || !strings.Contains(stdout, "5 opened and synced") {
		t.Errorf("idle: exit %d, err %v, output:\n%s", code, err, stdout)
	}
}

func TestBenchUsage(t *testing.T) {
	for _, args := range [][]string{
		{"bench"},
		{"bench", "nope"},
		{"bench", "--protocol", "other", "idle"},
		{"bench", "fan-out", "idle"},
	} {
		_, _, code, err := run(t, nil, args...)
		if !errors.Is(err, ErrUsage) || code != 2 {
			t.Errorf("%v: exit %d, err %v; want a usage error", args, code, err)
		}
	}
}
