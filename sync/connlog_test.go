package sync

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestConnLog checks that a connection's logger writes what
// Logger.With("doc", …, "conn", …, "remote", …) would have: the
// connection's attributes first, outside any group, at the server's level.
func TestConnLog(t *testing.T) {
	var buf bytes.Buffer
	base := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})).With("component", "sync")
	c := newConn(&Server{log: base}, "notes", 7, "10.0.0.1:5000")
	want := base.With("doc", "notes", "conn", uint64(7), "remote", "10.0.0.1:5000")

	line := func(log func(l *slog.Logger), l *slog.Logger) string {
		buf.Reset()
		log(l)
		_, rest, _ := strings.Cut(buf.String(), " level=") // drop the time
		return rest
	}
	for name, log := range map[string]func(l *slog.Logger){
		"plain":      func(l *slog.Logger) { l.Warn("closing", "code", 1008, "err", "too big") },
		"many attrs": func(l *slog.Logger) { l.Info("m", "a", 1, "b", 2, "c", 3, "d", 4, "e", 5) },
		"with":       func(l *slog.Logger) { l.With("x", 1).Info("m", "y", 2) },
		"group":      func(l *slog.Logger) { l.WithGroup("g").Info("m", "y", 2) },
		"disabled":   func(l *slog.Logger) { l.Debug("m", "y", 2) },
	} {
		if got, exp := line(log, c.log), line(log, want); got != exp {
			t.Errorf("%s: got %q, want %q", name, got, exp)
		}
	}
	if c.log.Enabled(t.Context(), slog.LevelDebug) {
		t.Error("debug enabled on a connection of a server logging at info")
	}
}
