package loadtest

import (
	"context"
	"fmt"
	"time"
)

// runIdle opens Clients connections spread over Rooms rooms, syncs each,
// and holds them idle for Duration; the server's memory growth divided by
// the connections is the cost of an idle connection.
func runIdle(ctx context.Context, cfg Config, r *Result) error {
	errs := &errorCount{}
	m := startMeter(cfg.PID)
	clients, took, _ := connectSynced(ctx, cfg.Clients, cfg.Dialers, errs, false, func(i int) (*client, error) {
		return dial(ctx, cfg.URL, cfg.Protocol, cfg.room(i%cfg.Rooms), awarenessID(cfg, i), nil)
	})
	defer func() { closeAll(clients) }()
	r.Connections = cfg.Clients - errs.n
	r.ConnectSec = time.Since(m.start).Seconds()
	if r.Connections == 0 {
		errs.fill(r)
		return fmt.Errorf("loadtest: no connection could be opened: %s", r.FirstError)
	}
	r.Latency = quantiles(synced(clients, took))
	select {
	case <-time.After(cfg.Duration):
	case <-ctx.Done():
	}
	p := m.stop()
	r.record(p)
	if p.Measured {
		r.BytesPerConn = p.ServerRSSGrew / int64(r.Connections)
	}
	countDropped(clients, errs)
	errs.fill(r)
	return nil
}

// synced returns the sync times of the connections that were opened.
func synced(cs []*client, took []time.Duration) []time.Duration {
	var out []time.Duration
	for i, c := range cs {
		if c != nil {
			out = append(out, took[i])
		}
	}
	return out
}
