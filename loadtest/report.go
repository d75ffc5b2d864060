package loadtest

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteTable prints r as a two-column table of the figures that apply to
// its scenario.
func WriteTable(w io.Writer, r *Result) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	row := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, args...)...) }
	row("scenario", "%s against %s (%s)", r.Scenario, r.Label, r.Protocol)
	row("rooms × clients", "%d × %d", r.Rooms, r.Clients)
	row("connections", "%d opened and synced in %.2f s", r.Connections, r.ConnectSec)
	switch r.Scenario {
	case FanOut:
		row("senders", "%d per room at %g updates/s each", r.Senders, r.Rate)
		row("updates sent", "%d in %.2f s", r.Sent, r.SendSec)
		row("delivered", "%d of %d expected (loss %.4f%%)", r.Delivered, r.Expected, 100*r.Loss)
		row("deliveries/s", "%.0f", r.PerSecond)
		row("latency", "%s", r.Latency)
		if r.ServerKnown {
			row("server CPU/delivery", "%.2f µs", r.CPUPerItem)
		}
	case Idle:
		row("time to sync", "%s", r.Latency)
		if r.ServerKnown {
			row("server memory/conn", "%s", bytesString(r.BytesPerConn))
		}
	case JoinStorm, ColdLoad:
		row("time to sync", "%s", r.Latency)
		if r.ServerKnown && r.BytesPerRoom != 0 {
			row("server memory/room", "%s (document + one connection)", bytesString(r.BytesPerRoom))
			row("server memory/doc", "%s (less a room without a document + one connection)", bytesString(r.BytesPerDoc))
		}
	}
	if r.ServerKnown {
		row("server CPU", "%.2f s", r.ServerCPUSec)
		row("server RSS", "%s (peak %s)", bytesString(r.ServerRSS), bytesString(r.ServerPeakRSS))
	}
	row("load generator CPU", "%.2f s in %.2f s", r.OwnCPUSec, r.WallSec)
	if r.Errors > 0 {
		row("errors", "%d, first: %s", r.Errors, r.FirstError)
	} else {
		row("errors", "0")
	}
	return tw.Flush()
}

func (q Quantiles) String() string {
	if q.N == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, max %.2f ms (n=%d)", q.P50, q.P95, q.P99, q.Max, q.N)
}

func bytesString(n int64) string {
	switch {
	case n >= 10<<20 || n <= -10<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 10<<10 || n <= -10<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
