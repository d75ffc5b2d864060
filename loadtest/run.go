package loadtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	gosync "sync"
	"time"
)

// Scenario names.
const (
	FanOut    = "fan-out"    // rooms of clients, some typing at a rate
	Idle      = "idle"       // many connections doing nothing
	JoinStorm = "join-storm" // clients joining rooms that hold a ~20 KB document at once
	Seed      = "seed"       // store a ~20 KB document in each room, for cold-load
	ColdLoad  = "cold-load"  // join-storm on rooms seeded before a restart
)

// Scenarios lists the scenario names Run accepts.
var Scenarios = []string{FanOut, Idle, JoinStorm, Seed, ColdLoad}

// ErrConfig is wrapped by errors in a Config.
var ErrConfig = errors.New("loadtest: invalid config")

// Config describes one run. Zero fields take the defaults given.
type Config struct {
	URL      string   // the server's WebSocket URL, e.g. ws://127.0.0.1:8080/ws. Required.
	Protocol Protocol // framing; zero: YWebsocket
	Scenario string   // one of Scenarios. Required.
	Label    string   // names the server in the report; zero: the URL

	Rooms   int // documents; zero: 1
	Clients int // clients per room (fan-out) or in all (idle, join storms); zero: 10
	Senders int // typing clients per room (fan-out); zero: 1; at most the fixture's 16 streams

	Rate     float64       // updates per second per sender (fan-out); zero: 10
	Duration time.Duration // how long senders type (fan-out) or connections stay idle; zero: 5 s

	// Awareness makes every client announce an awareness state on
	// joining, as providers do. The server then relays presence too.
	Awareness bool

	// Prefix starts every room name; cold-load must use seed's. Zero:
	// "bench-" and the current time, a fresh set of rooms.
	Prefix string

	// PID is the server's process ID: its CPU time and memory are read
	// from /proc. Zero: not measured.
	PID int

	// Drain bounds how long a fan-out waits after the last send for the
	// deliveries still under way. Zero: 10 s.
	Drain time.Duration

	// Dialers bounds the connections being opened at once (fan-out,
	// idle); join storms open all at once. Zero: 64.
	Dialers int

	// Settle is how long a join storm waits after seeding its rooms
	// before it reads the server's memory, so that the documents are
	// idle (a server may compact or unload what nobody edits) and a
	// garbage-collected server has collected. Zero: 1 s.
	Settle time.Duration
}

// Result is what a run measured. Durations are in milliseconds, CPU times
// in seconds; fields that do not apply to the scenario are zero.
type Result struct {
	Scenario string   `json:"scenario"`
	Label    string   `json:"label"`
	Protocol Protocol `json:"protocol"`
	Rooms    int      `json:"rooms"`
	Clients  int      `json:"clients"`
	Senders  int      `json:"senders,omitempty"`
	Rate     float64  `json:"rate,omitempty"`

	Connections int     `json:"connections"`
	ConnectSec  float64 `json:"connect_sec"` // opening and syncing every connection

	// Fan-out.
	Sent       int64     `json:"sent,omitempty"`
	Expected   int64     `json:"expected,omitempty"`
	Delivered  int64     `json:"delivered,omitempty"`
	Loss       float64   `json:"loss"` // 1 - delivered/expected
	PerSecond  float64   `json:"deliveries_per_sec,omitempty"`
	SendSec    float64   `json:"send_sec,omitempty"`
	Latency    Quantiles `json:"latency_ms"` // delivery (fan-out) or time to sync (joins)
	CPUPerItem float64   `json:"server_cpu_us_per_delivery,omitempty"`

	// Memory: idle connections, seeded documents.
	BytesPerConn int64 `json:"server_bytes_per_conn,omitempty"`
	BytesPerRoom int64 `json:"server_bytes_per_room,omitempty"`
	// BytesPerDoc is BytesPerRoom less the same growth for as many
	// rooms without a document, each with one connection: what an idle
	// loaded document costs by itself.
	BytesPerDoc int64 `json:"server_bytes_per_doc,omitempty"`

	ServerCPUSec  float64 `json:"server_cpu_sec"`
	ServerRSS     int64   `json:"server_rss_bytes"`
	ServerPeakRSS int64   `json:"server_peak_rss_bytes"`
	ServerKnown   bool    `json:"server_measured"`
	OwnCPUSec     float64 `json:"loadgen_cpu_sec"`
	WallSec       float64 `json:"wall_sec"`
	Errors        int     `json:"errors"`
	FirstError    string  `json:"first_error,omitempty"`
}

// Quantiles summarises a distribution, in milliseconds.
type Quantiles struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

func quantiles(d []time.Duration) Quantiles {
	if len(d) == 0 {
		return Quantiles{}
	}
	slices.Sort(d)
	at := func(q float64) float64 {
		i := min(int(q*float64(len(d))), len(d)-1)
		return float64(d[i]) / float64(time.Millisecond)
	}
	return Quantiles{N: len(d), P50: at(0.50), P95: at(0.95), P99: at(0.99), Max: at(1)}
}

// Run runs cfg's scenario against the server and returns what it measured.
// It returns an error only when the scenario could not run at all (bad
// config, no server); failures of single connections are counted in
// Result.Errors.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	f, err := loadFixtures()
	if err != nil {
		return nil, err
	}
	r := &Result{Scenario: cfg.Scenario, Label: cfg.Label, Protocol: cfg.Protocol, Rooms: cfg.Rooms, Clients: cfg.Clients}
	switch cfg.Scenario {
	case FanOut:
		if cfg.Senders > len(f.streams) || cfg.Senders > cfg.Clients {
			return nil, fmt.Errorf("%w: %d senders (at most %d, and at most the clients per room)", ErrConfig, cfg.Senders, len(f.streams))
		}
		r.Senders, r.Rate = cfg.Senders, cfg.Rate
		err = runFanOut(ctx, cfg, f, r)
	case Idle:
		err = runIdle(ctx, cfg, r)
	case JoinStorm:
		err = runJoin(ctx, cfg, f, r, true)
	case ColdLoad:
		err = runJoin(ctx, cfg, f, r, false)
	case Seed:
		err = runSeed(ctx, cfg, f, r)
	}
	return r, err
}

func (cfg *Config) setDefaults() error {
	if cfg.URL == "" {
		return fmt.Errorf("%w: no URL", ErrConfig)
	}
	if !slices.Contains(Scenarios, cfg.Scenario) {
		return fmt.Errorf("%w: unknown scenario %q (one of %v)", ErrConfig, cfg.Scenario, Scenarios)
	}
	switch cfg.Protocol {
	case "":
		cfg.Protocol = YWebsocket
	case YWebsocket, Hocuspocus:
	default:
		return fmt.Errorf("%w: unknown protocol %q", ErrConfig, cfg.Protocol)
	}
	if cfg.Rooms < 0 || cfg.Clients < 0 || cfg.Senders < 0 || cfg.Rate < 0 || cfg.Duration < 0 || cfg.Drain < 0 || cfg.Dialers < 0 {
		return fmt.Errorf("%w: negative value", ErrConfig)
	}
	cfg.Label = cmpOr(cfg.Label, cfg.URL)
	cfg.Rooms = cmpOr(cfg.Rooms, 1)
	cfg.Clients = cmpOr(cfg.Clients, 10)
	cfg.Senders = cmpOr(cfg.Senders, 1)
	cfg.Rate = cmpOr(cfg.Rate, 10)
	cfg.Duration = cmpOr(cfg.Duration, 5*time.Second)
	cfg.Drain = cmpOr(cfg.Drain, 10*time.Second)
	cfg.Dialers = cmpOr(cfg.Dialers, 64)
	cfg.Settle = cmpOr(cfg.Settle, time.Second)
	cfg.Prefix = cmpOr(cfg.Prefix, "bench-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	return nil
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func (cfg *Config) room(i int) string { return cfg.Prefix + "-" + strconv.Itoa(i) }

// record fills the process figures of r from a measured phase.
func (r *Result) record(p phase) {
	r.WallSec = p.Wall.Seconds()
	r.OwnCPUSec = p.OwnCPU.Seconds()
	r.ServerKnown = p.Measured
	r.ServerCPUSec = p.ServerCPU.Seconds()
	r.ServerRSS = p.ServerRSS
	r.ServerPeakRSS = p.ServerPeakRSS
}

// errorCount counts failures of single connections, keeping the first.
type errorCount struct {
	mu    gosync.Mutex
	n     int
	first error
}

func (e *errorCount) add(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	if e.first == nil {
		e.first = err
	}
}

func (e *errorCount) fill(r *Result) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r.Errors = e.n
	if e.first != nil {
		r.FirstError = e.first.Error()
	}
}

// connectSynced opens n connections with at most parallel dialing at
// once and waits until each has its first sync step 2. newClient(i) dials
// connection i. Connections that failed are nil in the result and counted
// in errs; the time each took to sync is returned with them, and with
// keepStep2 the update of each one's first step 2 (checked by the caller
// once all are synced: checking parses the whole update, which on a load
// generator sharing one core would delay the other clients' reads and
// count in their times).
func connectSynced(ctx context.Context, n, parallel int, errs *errorCount, keepStep2 bool, newClient func(i int) (*client, error)) (cs []*client, took []time.Duration, step2s [][]byte) {
	cs = make([]*client, n)
	took = make([]time.Duration, n)
	if keepStep2 {
		step2s = make([][]byte, n)
	}
	connect := func(i int) {
		start := time.Now()
		c, err := newClient(i)
		if err == nil {
			wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			var u []byte
			u, err = c.sync(wctx)
			cancel()
			if err == nil && step2s != nil {
				step2s[i] = u
			}
		}
		if err != nil {
			errs.add(fmt.Errorf("connection %d: %w", i, err))
			return
		}
		cs[i], took[i] = c, time.Since(start)
	}
	// parallel dialers, each with its stack grown before the first dial:
	// a goroutine started for each connection grew its stack from 2 KB
	// step by step (copying it each time) as it first dialed, on the
	// load generator's clock.
	var wg, ready gosync.WaitGroup
	next := make(chan int)
	for range min(parallel, n) {
		ready.Add(1)
		wg.Go(func() {
			growStack(stackDepth)
			ready.Done()
			for i := range next {
				connect(i)
			}
		})
	}
	ready.Wait()
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return cs, took, step2s
}

// stackDepth is how many growStack frames a dialer's stack is grown by
// before it dials: about 32 KB, more than a dial and a sync use.
const stackDepth = 32

// growStack uses about depth KB of stack, so that the calling goroutine's
// stack is that large when it returns (a stack shrinks only in a garbage
// collection, which a join storm holds off).
//
//go:noinline
func growStack(depth int) byte {
	var frame [1000]byte
	frame[depth%len(frame)] = byte(depth)
	if depth <= 0 {
		return frame[0]
	}
	return growStack(depth-1) + frame[(depth*7)%len(frame)]
}

// awarenessID returns connection i's awareness client ID when awareness
// is on: distinct from the fixture's clients and from other connections.
func awarenessID(cfg Config, i int) uint64 {
	if !cfg.Awareness {
		return 0
	}
	return 0x40000000 + uint64(i)
}
