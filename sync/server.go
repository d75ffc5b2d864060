package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"runtime/debug"
	"slices"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/olahol/melody"
)

// Defaults of Options.
const (
	defaultMaxMessageBytes = 32 << 20
	defaultPingInterval    = 10 * time.Second
	defaultWriteTimeout    = 10 * time.Second
	defaultSendQueue       = 512
	defaultSendQueueBytes  = 16 << 20
	defaultBroadcastWindow = time.Millisecond
	// defaultMaxBroadcastWin: a hot room's writes (one per member per
	// window) are most of its CPU, and at 10 ms they cost about a sixth
	// less than at 8 ms, while its updates still reach every member well
	// within 20 ms (README, "Merged broadcasts").
	defaultMaxBroadcastWin = 10 * time.Millisecond
	defaultUnloadDelay     = 30 * time.Second
	defaultHibernateAfter  = 10 * time.Second

	// clientIdleTimeout is how long y-websocket waits for any message
	// before it closes the socket and reconnects.
	clientIdleTimeout = 30 * time.Second
)

// Options configures a Server. Every field but Store has a working zero
// value.
type Options struct {
	// Store persists the documents. Required.
	Store Store

	// Logger receives the server's logs. Nil discards them.
	Logger *slog.Logger

	// AllowedOrigins lists the browser origins that may connect, checked
	// against the Origin header before the upgrade (403 otherwise).
	// Entries are origins ("https://app.example.com", matched exactly) or
	// host patterns without a scheme ("app.example.com:8080",
	// "*.example.com", matched with path.Match); "*" allows any origin.
	// Empty: only pages served by the host the request was sent to
	// (Origin host equal to the Host header). Requests without an Origin
	// header (programs, not browsers) are always allowed.
	AllowedOrigins []string

	// MaxMessageBytes is the largest message accepted from a client; a
	// larger one closes the connection with 1009. Zero: 32 MiB. The limit
	// must hold a client's whole document: on (re)connect y-websocket sends
	// everything the server lacks in one sync step 2, e.g. a large document
	// written offline, and a client refused it would reconnect and send it
	// again forever. Melody's default of 512 bytes would break sync.
	MaxMessageBytes int64

	// PingInterval is how often WebSocket pings go out (a client that does
	// not answer within twice that plus WriteTimeout is dropped) and how
	// often idle members are sent a keep-alive message. Zero: 10 s. It must
	// be below 30 s: y-websocket closes a socket on which no message
	// arrived for 30 s, and pongs are invisible to it.
	PingInterval time.Duration

	// WriteTimeout bounds each write to a client that has to wait for
	// room in its socket (a client that reads nothing for that long is
	// dropped), and a closed connection waits twice that for the client's
	// close frame. Zero: 10 s.
	WriteTimeout time.Duration

	// SendQueue is how many messages may wait to be sent to one client
	// behind the one being written; at least 2. Zero: 512. SendQueueBytes
	// bounds their bytes; zero: 16 MiB (a message alone may be larger:
	// the queue refuses the message that comes when it is over the bound).
	// A member whose queue is full is disconnected with 1013 ("slow
	// consumer"); the room never waits for it. Its client reconnects and
	// catches up with one sync step 2. An empty queue takes no memory
	// (sendqueue.go).
	SendQueue      int
	SendQueueBytes int

	// BroadcastWindow is the shortest time between two update broadcasts
	// of a room: updates applied within it after a broadcast go out
	// together in the next one, merged into one message per member
	// (broadcast.go), so that a busy room costs one write per member per
	// window rather than per update. An update to a room quiet for that
	// long goes out at once. Zero: 1 ms; negative: no window (updates are
	// still merged when they queue behind a broadcast under way).
	//
	// MaxBroadcastWindow bounds how far a busy room's window grows: it
	// doubles with every broadcast that had to wait for its window's end,
	// and falls back to BroadcastWindow after a window without one.
	// Zero: 10 ms (or BroadcastWindow, if longer).
	BroadcastWindow    time.Duration
	MaxBroadcastWindow time.Duration

	// UnloadDelay is how long a room without members stays in memory after
	// the store was flushed for it, so that a client that reconnects soon
	// does not pay for a reload. Zero: 30 s.
	UnloadDelay time.Duration

	// HibernateAfter is how long a document must go without a change
	// before its room drops the live document until the next update
	// (hibernate.go); once all its updates are stored the room keeps no
	// copy of it, only its state vector, and loads it back from the
	// store when a client needs its content. Rooms are checked every
	// PingInterval/2. Zero: 10 s; negative: never.
	HibernateAfter time.Duration

	// Authorizer checks every handshake before the upgrade (auth.go): a
	// refusal is answered with its HTTP status (401, 403) and reason, and
	// a grant that expires closes the connection with 4401. Nil: the
	// server is open, every connection may write.
	Authorizer Authorizer

	// Limits bound connections, messages and documents (limits.go).
	Limits Limits
}

// Stats is a snapshot of a Server's load.
type Stats struct {
	Rooms         int    // documents in memory, including those loading
	Connections   int    // open WebSocket connections
	SlowConsumers uint64 // connections closed as slow consumers since the start
	// Backpressure counts the times since the start that a connection
	// stopped reading because its room had too many updates not yet
	// stored: the store is slower than the clients.
	Backpressure uint64
	// ReadOnlyRefused counts the updates (sync step 2 and update
	// messages) refused because their connection may only read.
	ReadOnlyRefused uint64
	// LimitRefusals counts the connections closed by a limit (Limits).
	LimitRefusals uint64
	// Evictions counts the idle documents unloaded early to make room
	// for another (Limits.Documents).
	Evictions uint64
}

// Server serves Yjs documents to y-websocket clients over WebSocket: one
// room per document, kept in memory while used and persisted to a Store.
type Server struct {
	store           Store
	log             *slog.Logger
	origins         originPolicy
	pingInterval    time.Duration
	writeTimeout    time.Duration
	unloadDelay     time.Duration
	hibernate       time.Duration // 0: never
	memRelease      releaser      // of memory to the system (release.go)
	broadcastWin    time.Duration // 0: none
	maxBroadcastWin time.Duration // the longest a busy room's window grows
	sendQueue       int           // messages waiting per connection, at most
	sendQueueBytes  int           // their bytes, at most
	authz           Authorizer
	limits          Limits // resolved: 0 means no limit
	m               *melody.Melody

	// Persistence limits (persist.go); fixed, tests lower them.
	maxUnsavedBytes   int
	maxUnsavedUpdates int
	maxBatchBytes     int
	maxBatchUpdates   int

	// ctx ends when Shutdown starts: loads, flush retries and the
	// keep-alive loop stop.
	ctx    context.Context
	cancel context.CancelFunc
	// persistCtx ends when Shutdown returns: updates already applied may
	// still be appended while Shutdown waits for the connections.
	persistCtx    context.Context
	persistCancel context.CancelFunc

	mu        gosync.Mutex
	rooms     map[string]*room
	conns     map[*conn]struct{}
	closing   bool
	keepalive bool           // the keep-alive loop has started
	perIP     map[string]int // open connections by client address

	handlers   gosync.WaitGroup // requests that passed the gate, until their connection ends
	bg         gosync.WaitGroup // the keep-alive loop and pending unloads
	persisters gosync.WaitGroup // the rooms' running persisters

	// writersStarted counts the connections' writer goroutines started
	// (sendqueue.go): a socket that was full, a close, a TLS connection.
	writersStarted atomic.Uint64

	// sessions maps each connected *melody.Session to its *conn: the
	// handlers' way from one to the other (a map per session, melody's
	// Keys, would cost every connection a few hundred bytes). A plain map
	// under a read-write lock: a sync.Map entry cost about 100 bytes per
	// connection, this one about 30 (kept after a peak, as maps do not
	// shrink: 3 MB after 100,000 connections).
	sessionsMu gosync.RWMutex
	sessions   map[*melody.Session]*conn

	// writeBuffers is gorilla's write buffer pool, which keeps it from
	// holding net/http's buffer for every connection; it is never drawn
	// from, as the server writes its own frames (upgrade.go).
	writeBuffers gosync.Pool

	nextConn      atomic.Uint64
	slowConsumers atomic.Uint64
	backpressure  atomic.Uint64

	readOnlyRefused atomic.Uint64
	limitRefusals   atomic.Uint64
	evictions       atomic.Uint64
}

// NewServer returns a Server configured by opts.
func NewServer(opts Options) (*Server, error) {
	if opts.Store == nil {
		return nil, fmt.Errorf("%w: Store is required", ErrInvalidOptions)
	}
	if opts.MaxMessageBytes < 0 || opts.PingInterval < 0 || opts.WriteTimeout < 0 || opts.SendQueue < 0 || opts.SendQueueBytes < 0 || opts.UnloadDelay < 0 {
		return nil, fmt.Errorf("%w: negative limit", ErrInvalidOptions)
	}
	if opts.SendQueue == 1 {
		// A member is sent two messages before its writer starts.
		return nil, fmt.Errorf("%w: SendQueue must be at least 2", ErrInvalidOptions)
	}
	origins, err := newOriginPolicy(opts.AllowedOrigins)
	if err != nil {
		return nil, err
	}
	maxMessage := cmpOr(opts.MaxMessageBytes, defaultMaxMessageBytes)
	ping := cmpOr(opts.PingInterval, defaultPingInterval)
	if ping >= clientIdleTimeout {
		return nil, fmt.Errorf("%w: PingInterval %v must be below %v, after which y-websocket clients drop an idle connection", ErrInvalidOptions, ping, clientIdleTimeout)
	}
	s := &Server{
		store:          opts.Store,
		log:            opts.Logger,
		origins:        origins,
		pingInterval:   ping,
		writeTimeout:   cmpOr(opts.WriteTimeout, defaultWriteTimeout),
		unloadDelay:    cmpOr(opts.UnloadDelay, defaultUnloadDelay),
		hibernate:      max(cmpOr(opts.HibernateAfter, defaultHibernateAfter), 0),
		broadcastWin:   max(cmpOr(opts.BroadcastWindow, defaultBroadcastWindow), 0),
		authz:          opts.Authorizer,
		sendQueue:      cmpOr(opts.SendQueue, defaultSendQueue),
		sendQueueBytes: cmpOr(opts.SendQueueBytes, defaultSendQueueBytes),
		limits:         opts.Limits.resolve(),

		maxUnsavedBytes:   defaultMaxUnsavedBytes,
		maxUnsavedUpdates: defaultMaxUnsavedUpdates,
		maxBatchBytes:     defaultMaxBatchBytes,
		maxBatchUpdates:   defaultMaxBatchUpdates,

		rooms:    make(map[string]*room),
		sessions: make(map[*melody.Session]*conn),
		conns:    make(map[*conn]struct{}),
		perIP:    make(map[string]int),
	}
	s.maxBroadcastWin = max(cmpOr(opts.MaxBroadcastWindow, defaultMaxBroadcastWin), s.broadcastWin)
	s.memRelease = releaser{every: releaseEvery, surgeMin: surgeMinConns, settle: surgeSettle, free: debug.FreeOSMemory}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.authz == nil {
		s.log.Warn("no authorizer configured: anyone who can reach the server may read and write every document")
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.persistCtx, s.persistCancel = context.WithCancel(context.Background())

	m := melody.New()
	m.Config.MaxMessageSize = maxMessage
	m.Config.MessageBufferSize = melodySlots
	m.Config.PingPeriod = noMelodyPings // keepaliveLoop pings (sendqueue.go)
	// A pong may queue behind a ping that waited for a slow write.
	m.Config.PongWait = 2*ping + s.writeTimeout
	// ServeHTTP has checked the origin with the server's own policy.
	m.Upgrader.CheckOrigin = func(*http.Request) bool { return true }
	s.configureUpgrader(m.Upgrader) // upgrade.go
	m.HandleConnect(s.onConnect)
	m.HandleDisconnect(s.onDisconnect)
	m.HandleMessageBinary(s.onBinary)
	m.HandleMessage(s.onText)
	m.HandleError(s.onError)
	m.HandleClose(s.onClose)
	s.m = m
	return s, nil
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// ServeHTTP serves /ws/<docName>: it checks the name (400), the Origin
// (403) and the token (Authorizer: 401 or 403), refuses new connections
// during Shutdown (503), upgrades the
// request and serves the connection on a goroutine of its own, returning
// once the upgrade is done (upgrade.go). Mount it at "/ws/" with
// the full path left in the request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, err := docName(r.URL)
	if errors.Is(err, errNotWebSocketPath) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		s.log.Debug("refused: bad document name", "path", r.URL.EscapedPath(), "err", err)
		http.Error(w, "invalid document name", http.StatusBadRequest)
		return
	}
	if !s.origins.allow(r) {
		s.log.Warn("refused: origin not allowed", "origin", r.Header.Get("Origin"), "host", r.Host, "remote", r.RemoteAddr)
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return
	}
	grant, err := s.authorize(r, name)
	if err != nil {
		status, reason := authAnswer(w, err)
		s.log.Info("refused: not authorized", "doc", name, "status", status, "reason", reason, "err", err, "remote", r.RemoteAddr)
		return
	}
	if !s.enter() {
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	id := s.nextConn.Add(1)
	c := newConn(s, name, id, r.RemoteAddr)
	c.grant, c.ip, c.limiter = grant, s.clientIP(r), s.newLimiter()
	s.serve(w, r, c) // upgrade.go
}

// enter lets a request through the shutdown gate, counted in handlers.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.handlers.Add(1)
	if !s.keepalive {
		s.keepalive = true
		s.bg.Add(1)
		go s.keepaliveLoop()
	}
	return true
}

// keepaliveLoop pings every connection, sends idle members a keep-alive
// message (see keepaliveMessage and room.keepalive) and lets idle
// documents hibernate (hibernate.go).
func (s *Server) keepaliveLoop() {
	defer s.bg.Done()
	t := time.NewTicker(max(s.pingInterval/2, time.Millisecond))
	defer t.Stop()
	for tick := 0; ; tick++ {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		if tick%2 == 1 {
			s.pingAll()
		}
		s.mu.Lock()
		rooms := slices.Collect(maps.Values(s.rooms))
		s.mu.Unlock()
		now := time.Now()
		var slept int
		for _, r := range rooms {
			r.keepalive()
			if s.hibernate > 0 {
				slept += r.hibernate(now.Add(-s.hibernate))
			}
		}
		s.memRelease.afterSweep(now, slept)
	}
}

// pingAll queues a WebSocket ping for every connection; the pong extends
// the connection's read deadline (melody's pong handler), and one that
// stops answering is dropped once it passes. Called every PingInterval.
func (s *Server) pingAll() {
	s.mu.Lock()
	conns := slices.Collect(maps.Keys(s.conns))
	s.mu.Unlock()
	for _, c := range conns {
		c.ping()
	}
}

// Shutdown stops the server: new connections are refused with 503, every
// connection is closed with 1001 Going Away (clients reconnect, to this
// server once it is back or to another), updates already received are
// stored (every room's persistence queue is emptied), and the store is
// flushed. If ctx ends first, Shutdown returns its error; connections still
// open are then left to finish on their own, and Store calls still under
// way are cancelled.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	conns := slices.Collect(maps.Keys(s.conns))
	for _, r := range s.rooms {
		if r.idleStop != nil {
			close(r.idleStop)
			r.idleStop = nil
		}
	}
	s.mu.Unlock()
	s.cancel()
	s.memRelease.stop()
	defer s.persistCancel()

	for _, c := range conns {
		c.close(closeGoingAway, reasonShutdown)
	}
	var errs []error
	if err := s.waitConnections(ctx); err != nil {
		errs = append(errs, fmt.Errorf("sync: waiting for connections to close: %w", err))
	} else if err := wait(ctx, &s.persisters); err != nil {
		// Only once every handler has returned: nothing is queued after
		// that, so that no persister starts during the wait.
		errs = append(errs, fmt.Errorf("sync: storing queued updates: %w", err))
	}
	if err := wait(ctx, &s.bg); err != nil {
		errs = append(errs, fmt.Errorf("sync: waiting for background work: %w", err))
	}
	if err := s.store.Flush(ctx); err != nil {
		errs = append(errs, fmt.Errorf("sync: flushing the store: %w", err))
	}
	if len(errs) == 0 {
		s.mu.Lock()
		clear(s.rooms)
		s.mu.Unlock()
	}
	return errors.Join(errs...)
}

// waitConnections waits for the connections to end after their close
// frames went out. Peers get half of ctx's time (at most WriteTimeout) to
// answer; those that do not are dropped, so that the store is flushed
// before ctx ends even when a client has stopped reading.
func (s *Server) waitConnections(ctx context.Context) error {
	grace := s.writeTimeout
	if d, ok := ctx.Deadline(); ok {
		grace = min(grace, time.Until(d)/2)
	}
	graceCtx, cancel := context.WithTimeout(ctx, grace)
	err := wait(graceCtx, &s.handlers)
	cancel()
	if err == nil {
		return nil
	}
	s.mu.Lock()
	rest := slices.Collect(maps.Keys(s.conns))
	s.mu.Unlock()
	for _, c := range rest {
		c.log.Debug("dropping a connection that did not close in time")
		c.abort()
	}
	return wait(ctx, &s.handlers)
}

// wait waits for wg or ctx.
func wait(ctx context.Context, wg *gosync.WaitGroup) error {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stats returns the server's current load.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{
		Rooms:         len(s.rooms),
		Connections:   len(s.conns),
		SlowConsumers: s.slowConsumers.Load(),
		Backpressure:  s.backpressure.Load(),

		ReadOnlyRefused: s.readOnlyRefused.Load(),
		LimitRefusals:   s.limitRefusals.Load(),
		Evictions:       s.evictions.Load(),
	}
}
