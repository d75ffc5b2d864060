package loadtest

import (
	"context"
	"fmt"
	gosync "sync"
	"sync/atomic"
	"time"
)

// fanRoom is one room of a fan-out: when each sender sent each update.
type fanRoom struct {
	sent [][]atomic.Int64 // [sender][k]: Unix nanoseconds; 0 until sent
}

// receiver tracks what one client has received of its room's senders.
type receiver struct {
	f         *fixtures
	room      *fanRoom
	self      int   // the client's own stream, or -1
	next      []int // per sender: its first update not yet received
	latencies []time.Duration
	delivered *atomic.Int64
	errs      *errorCount
}

// onUpdate runs on the client's reader goroutine. An update may carry
// several senders' updates (merged by the server) or part of one sender's
// history: each sender's updates up to the highest clock received count as
// delivered, once.
func (rc *receiver) onUpdate(payload []byte, at time.Time) {
	ranges, err := clockEnds(payload)
	if err != nil {
		rc.errs.add(fmt.Errorf("undecodable update from the server: %w", err))
		return
	}
	now := at.UnixNano()
	for _, cr := range ranges {
		s, ok := rc.f.byClient[cr.client]
		if !ok || s >= len(rc.next) || s == rc.self {
			continue
		}
		ends := rc.f.streams[s].ends
		k := rc.next[s]
		for ; k < len(ends) && ends[k] <= cr.end; k++ {
			sent := rc.room.sent[s][k].Load()
			if sent == 0 {
				break // cannot happen: an update is timed before it is written
			}
			rc.latencies = append(rc.latencies, time.Duration(now-sent))
			rc.delivered.Add(1)
		}
		rc.next[s] = k
	}
}

// runFanOut connects Rooms × Clients clients; in each room the first
// Senders of them type their stream at Rate for Duration. Every update
// should reach the room's other Clients-1 members.
func runFanOut(ctx context.Context, cfg Config, f *fixtures, r *Result) error {
	perSender := min(int(cfg.Rate*cfg.Duration.Seconds()), len(f.streams[0].updates))
	perSender = max(perSender, 1)
	rooms := make([]*fanRoom, cfg.Rooms)
	for i := range rooms {
		rooms[i] = &fanRoom{sent: make([][]atomic.Int64, cfg.Senders)}
		for s := range cfg.Senders {
			rooms[i].sent[s] = make([]atomic.Int64, perSender)
		}
	}
	var delivered atomic.Int64
	errs := &errorCount{}
	n := cfg.Rooms * cfg.Clients
	receivers := make([]*receiver, n)
	connStart := time.Now()
	clients, _, _ := connectSynced(ctx, n, cfg.Dialers, errs, false, func(i int) (*client, error) {
		room, member := i/cfg.Clients, i%cfg.Clients
		rc := &receiver{f: f, room: rooms[room], self: -1, next: make([]int, cfg.Senders), delivered: &delivered, errs: errs}
		if member < cfg.Senders {
			rc.self = member
		}
		receivers[i] = rc
		return dial(ctx, cfg.URL, cfg.Protocol, cfg.room(room), awarenessID(cfg, i), rc.onUpdate)
	})
	defer func() { closeAll(clients) }()
	r.Connections = n - errs.n
	r.ConnectSec = time.Since(connStart).Seconds()
	if r.Connections == 0 {
		errs.fill(r)
		return fmt.Errorf("loadtest: no connection could be opened: %s", r.FirstError)
	}
	// The joins (syncs, awareness announcements) settle before the clock
	// starts: a server still busy with them would be charged for them.
	time.Sleep(time.Second)

	m := startMeter(cfg.PID)
	start := time.Now().Add(10 * time.Millisecond)
	interval := time.Duration(float64(time.Second) / cfg.Rate)
	var sent atomic.Int64
	var expected atomic.Int64
	var wg gosync.WaitGroup
	totalSenders := cfg.Rooms * cfg.Senders
	for room := range cfg.Rooms {
		for s := range cfg.Senders {
			c := clients[room*cfg.Clients+s]
			if c == nil {
				continue
			}
			// Senders start spread over one interval, not in lockstep.
			offset := interval * time.Duration(room*cfg.Senders+s) / time.Duration(totalSenders)
			members := int64(0)
			for k := range cfg.Clients {
				if k != s && clients[room*cfg.Clients+k] != nil {
					members++
				}
			}
			wg.Go(func() {
				updates := f.streams[s].updates
				slots := rooms[room].sent[s]
				for k := range perSender {
					due := start.Add(offset + time.Duration(k)*interval)
					if d := time.Until(due); d > 0 {
						select {
						case <-time.After(d):
						case <-ctx.Done():
							return
						}
					}
					slots[k].Store(time.Now().UnixNano())
					if err := c.send(syncMessage(syncUpdate, updates[k])); err != nil {
						slots[k].Store(0)
						errs.add(fmt.Errorf("room %d sender %d: %w", room, s, err))
						return
					}
					sent.Add(1)
					expected.Add(members)
				}
			})
		}
	}
	wg.Wait()
	sendEnd := time.Now()
	drain(ctx, cfg.Drain, &delivered, expected.Load())
	p := m.stop()
	r.record(p)

	r.Sent, r.Expected, r.Delivered = sent.Load(), expected.Load(), delivered.Load()
	if r.Expected > 0 {
		r.Loss = 1 - float64(r.Delivered)/float64(r.Expected)
	}
	r.SendSec = sendEnd.Sub(start).Seconds()
	if r.SendSec > 0 {
		r.PerSecond = float64(r.Delivered) / p.Wall.Seconds()
	}
	if p.Measured && r.Delivered > 0 {
		r.CPUPerItem = float64(p.ServerCPU.Microseconds()) / float64(r.Delivered)
	}
	// Only the reader goroutines append latencies: read them once every
	// client has stopped reading.
	countDropped(clients, errs)
	closeAll(clients)
	clients = nil
	var all []time.Duration
	for _, rc := range receivers {
		if rc != nil {
			all = append(all, rc.latencies...)
		}
	}
	r.Latency = quantiles(all)
	errs.fill(r)
	return nil
}

// drain waits until delivered reaches want, progress stops for 2 s, or
// limit has passed.
func drain(ctx context.Context, limit time.Duration, delivered *atomic.Int64, want int64) {
	deadline := time.Now().Add(limit)
	last, lastChange := delivered.Load(), time.Now()
	for time.Now().Before(deadline) && ctx.Err() == nil {
		got := delivered.Load()
		if got >= want {
			return
		}
		if got != last {
			last, lastChange = got, time.Now()
		} else if time.Since(lastChange) > 2*time.Second {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}
