package sync

import (
	"context"
	"log/slog"
)

// connLog is the slog.Handler of a connection's logger (conn.log): it
// adds the connection's attributes (document, connection number, client
// address) to each record it handles, where Logger.With would format them
// into a handler of their own when the connection opens. That handler (a
// few hundred bytes) would be held by every idle connection for the few
// that ever log anything; a connLog is its conn.
type connLog conn

func (h *connLog) attrs() []slog.Attr {
	return []slog.Attr{slog.String("doc", h.name), slog.Uint64("conn", h.id), slog.String("remote", h.remote)}
}

func (h *connLog) base() slog.Handler { return h.srv.log.Handler() }

func (h *connLog) Enabled(ctx context.Context, l slog.Level) bool { return h.base().Enabled(ctx, l) }

// Handle passes on a copy of r with the connection's attributes first, as
// Logger.With would have put them.
func (h *connLog) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	out.AddAttrs(h.attrs()...)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(a)
		return true
	})
	return h.base().Handle(ctx, out)
}

// WithAttrs and WithGroup return what Logger.With would have built: the
// connection's attributes stay outside the group.
func (h *connLog) WithAttrs(as []slog.Attr) slog.Handler {
	return h.base().WithAttrs(h.attrs()).WithAttrs(as)
}

func (h *connLog) WithGroup(name string) slog.Handler {
	return h.base().WithAttrs(h.attrs()).WithGroup(name)
}
