package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/quirehq/quire/static"
	"github.com/quirehq/quire/storage/bolt"
	"github.com/quirehq/quire/storage/memory"
	"github.com/quirehq/quire/sync"
)

// serveConfig is every setting of `quire serve`. Each has a flag and an
// environment variable that supplies the flag's default.
type serveConfig struct {
	addr            string
	dataDir         string
	store           string
	logFormat       string
	logLevel        string
	allowedOrigins  string
	maxMessageBytes int64
	pingInterval    time.Duration
	commitDelay     time.Duration
	shutdownTimeout time.Duration
	tuning          tuningConfig
	security        securityConfig
}

// tuningConfig holds the sync server's performance settings; zero keeps
// each one's default (sync.Options documents them).
type tuningConfig struct {
	sendQueue          int
	sendQueueBytes     int
	broadcastWindow    time.Duration
	maxBroadcastWindow time.Duration
	unloadDelay        time.Duration
	hibernateAfter     time.Duration
}

func (c *serveConfig) register(fs *flag.FlagSet) {
	str := func(p *string, name, env, def, usage string) {
		if v, ok := os.LookupEnv(env); ok {
			def = v
		}
		fs.StringVar(p, name, def, usage+" (env "+env+")")
	}
	dur := func(p *time.Duration, name, env string, def time.Duration, usage string) {
		if v, ok := os.LookupEnv(env); ok {
			if d, err := time.ParseDuration(v); err == nil {
				def = d
			}
		}
		fs.DurationVar(p, name, def, usage+" (env "+env+")")
	}
	str(&c.addr, "addr", "QUIRE_ADDR", ":8080", "address to listen on")
	str(&c.dataDir, "data-dir", "QUIRE_DATA_DIR", "data", "directory of the bbolt file quire.db")
	str(&c.store, "store", "QUIRE_STORE", "bolt", "where documents live: bolt (on disk) or memory (lost at exit)")
	str(&c.logFormat, "log-format", "QUIRE_LOG_FORMAT", "text", "log format: text or json")
	str(&c.logLevel, "log-level", "QUIRE_LOG_LEVEL", "info", "log level: debug, info, warn or error")
	str(&c.allowedOrigins, "allowed-origins", "QUIRE_ALLOWED_ORIGINS", "", "comma-separated Origin hosts allowed to connect; empty: same host only; * allows any")
	maxMsg := int64(32 << 20)
	if v, ok := os.LookupEnv("QUIRE_MAX_MESSAGE_BYTES"); ok {
		fmt.Sscan(v, &maxMsg)
	}
	fs.Int64Var(&c.maxMessageBytes, "max-message-bytes", maxMsg, "largest WebSocket message accepted (env QUIRE_MAX_MESSAGE_BYTES)")
	dur(&c.pingInterval, "ping-interval", "QUIRE_PING_INTERVAL", 10*time.Second, "interval of pings and keep-alive messages (must be below 30s)")
	dur(&c.commitDelay, "commit-delay", "QUIRE_COMMIT_DELAY", 2*time.Millisecond, "longest an update waits to share a disk commit with others")
	dur(&c.shutdownTimeout, "shutdown-timeout", "QUIRE_SHUTDOWN_TIMEOUT", 10*time.Second, "how long a graceful shutdown may take")
	num := func(p *int, name, env string, def int, usage string) {
		if v, ok := os.LookupEnv(env); ok {
			fmt.Sscan(v, &def)
		}
		fs.IntVar(p, name, def, usage+" (env "+env+")")
	}
	t := &c.tuning
	num(&t.sendQueue, "send-queue", "QUIRE_SEND_QUEUE", 512, "messages that may wait for one slow client before it is disconnected (1013)")
	num(&t.sendQueueBytes, "send-queue-bytes", "QUIRE_SEND_QUEUE_BYTES", 16<<20, "bytes that may wait for one slow client before it is disconnected (1013)")
	dur(&t.broadcastWindow, "broadcast-window", "QUIRE_BROADCAST_WINDOW", time.Millisecond, "shortest time between a room's update broadcasts (updates within it are merged); negative: none")
	dur(&t.maxBroadcastWindow, "max-broadcast-window", "QUIRE_MAX_BROADCAST_WINDOW", 10*time.Millisecond, "how far a busy room's broadcast window may grow")
	dur(&t.unloadDelay, "unload-delay", "QUIRE_UNLOAD_DELAY", 30*time.Second, "how long a document without connections stays loaded")
	dur(&t.hibernateAfter, "hibernate-after", "QUIRE_HIBERNATE_AFTER", 10*time.Second, "idle time after which a document is dropped from memory until needed (it is in the store); negative: never")
	c.security.register(fs)
}

func newLogger(m *Main, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("serve: bad --log-level %q", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(m.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(m.Stderr, opts)), nil
	}
	return nil, usagef("serve: bad --log-format %q (text or json)", format)
}

// runServe runs the server until ctx is cancelled (SIGINT/SIGTERM), then
// shuts down gracefully: no new connections, every pending update flushed
// to disk, sockets closed with 1001 Going Away.
func runServe(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("quire serve", flag.ContinueOnError)
	var cfg serveConfig
	cfg.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: quire serve [flags]\n\nRuns the collaboration server: WebSocket endpoint /ws/<document>, health at /healthz, the editor at /.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	rest, err := parseFlags(fs, m, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("serve: unexpected arguments %q", rest)
	}
	log, err := newLogger(m, cfg.logFormat, cfg.logLevel)
	if err != nil {
		return err
	}

	authz, err := cfg.security.authorizer()
	if err != nil {
		return err
	}
	if authz != nil {
		log.Info("tokens required on every connection")
	}

	var store sync.Store
	var closeStore func() error
	switch cfg.store {
	case "bolt":
		if err := os.MkdirAll(cfg.dataDir, 0o750); err != nil {
			return fmt.Errorf("serve: data directory: %w", err)
		}
		path := filepath.Join(cfg.dataDir, "quire.db")
		bs, err := bolt.Open(path, bolt.Options{CommitDelay: cfg.commitDelay, Logger: log.With("component", "storage")})
		if err != nil {
			return fmt.Errorf("serve: open %s: %w", path, err)
		}
		store, closeStore = bs, bs.Close
		log.Info("storage opened", "path", path)
	case "memory":
		ms := memory.New()
		store, closeStore = ms, func() error { return nil }
		log.Warn("storage in memory: documents are lost when the server stops")
	default:
		return usagef("serve: bad --store %q (bolt or memory)", cfg.store)
	}

	var origins []string
	for _, o := range strings.Split(cfg.allowedOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			origins = append(origins, o)
		}
	}
	srv, err := sync.NewServer(sync.Options{
		Store:              store,
		Logger:             log.With("component", "sync"),
		AllowedOrigins:     origins,
		MaxMessageBytes:    cfg.maxMessageBytes,
		PingInterval:       cfg.pingInterval,
		SendQueue:          cfg.tuning.sendQueue,
		SendQueueBytes:     cfg.tuning.sendQueueBytes,
		BroadcastWindow:    cfg.tuning.broadcastWindow,
		MaxBroadcastWindow: cfg.tuning.maxBroadcastWindow,
		UnloadDelay:        cfg.tuning.unloadDelay,
		HibernateAfter:     cfg.tuning.hibernateAfter,
		Authorizer:         authz,
		Limits:             cfg.security.limits,
	})
	if err != nil {
		closeStore()
		return fmt.Errorf("serve: %w", err)
	}

	mux := http.NewServeMux()
	mux.Handle("/ws/", srv)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		st := srv.Stats()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, "{\"status\":\"ok\",\"rooms\":%d,\"connections\":%d}\n", st.Rooms, st.Connections)
	})
	mux.Handle("/", static.Handler(static.Options{Logger: log.With("component", "static")}))

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		closeStore()
		return fmt.Errorf("serve: listen: %w", err)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	log.Info("listening", "addr", ln.Addr().String())

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		closeStore()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	// Stop accepting and close the sockets (1001) first, so that clients
	// reconnect elsewhere or later; then flush and close the store.
	var errs []error
	if err := srv.Shutdown(sctx); err != nil {
		errs = append(errs, fmt.Errorf("sync shutdown: %w", err))
	}
	if err := hs.Shutdown(sctx); err != nil {
		errs = append(errs, fmt.Errorf("http shutdown: %w", err))
	}
	if err := closeStore(); err != nil {
		errs = append(errs, fmt.Errorf("closing storage: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}
