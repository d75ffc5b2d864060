package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/quirehq/quire/loadtest"
)

const benchUsage = `Usage: quire bench [flags] SCENARIO

Bench drives a Yjs WebSocket server (Quire, @y/websocket-server,
@hocuspocus/server, any y-websocket server) with simulated clients and
prints what it measured as a table, and as JSON with --json. It stops by
itself. Scenarios:

	fan-out     rooms × clients, --senders per room typing real Yjs
	            updates at --rate for --duration: delivery latency,
	            delivered vs expected, deliveries/s, server CPU/delivery
	idle        --clients connections over --rooms rooms, held --duration:
	            time to open and sync, server memory per connection
	join-storm  --clients clients join --rooms rooms holding a ~20 KB
	            document at once: time to sync, memory per document
	seed        store the ~20 KB document in --rooms rooms (for cold-load)
	cold-load   join-storm on rooms seeded (same --prefix) before the
	            server restarted

With --pid, the server's CPU time and memory are read from /proc/PID. The
load generator's own CPU time is always shown: on a small machine it
competes with the server.

Flags:
`

func runBench(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("quire bench", flag.ContinueOnError)
	var cfg loadtest.Config
	fs.StringVar(&cfg.URL, "url", "ws://127.0.0.1:8080/ws", "the server's WebSocket URL (y-websocket: the document name is appended as a path segment)")
	proto := fs.String("protocol", string(loadtest.YWebsocket), "message framing: y-websocket or hocuspocus")
	fs.StringVar(&cfg.Label, "label", "", "name of the server in the output (default: the URL)")
	fs.IntVar(&cfg.Rooms, "rooms", 1, "rooms (documents)")
	fs.IntVar(&cfg.Clients, "clients", 10, "clients per room (fan-out), or in all (other scenarios)")
	fs.IntVar(&cfg.Senders, "senders", 1, "typing clients per room (fan-out; at most 16)")
	fs.Float64Var(&cfg.Rate, "rate", 10, "updates per second per sender (fan-out)")
	fs.DurationVar(&cfg.Duration, "duration", 5*time.Second, "how long senders type (fan-out) or connections stay open (idle)")
	fs.BoolVar(&cfg.Awareness, "awareness", true, "clients announce an awareness state on joining, as providers do")
	fs.StringVar(&cfg.Prefix, "prefix", "", "room name prefix (default: fresh rooms each run; cold-load needs seed's)")
	fs.IntVar(&cfg.PID, "pid", 0, "the server's process ID, to measure its CPU time and memory")
	fs.DurationVar(&cfg.Drain, "drain", 10*time.Second, "longest wait for deliveries after the last send (fan-out)")
	fs.IntVar(&cfg.Dialers, "dialers", 64, "connections opened at once (fan-out, idle, seed)")
	fs.DurationVar(&cfg.Settle, "settle", time.Second, "wait after seeding, before the server's memory is read (join-storm)")
	jsonOut := fs.String("json", "", "also write the result as JSON to this file (- for standard output, instead of the table)")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up after this long")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), benchUsage)
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, m, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("bench: want exactly one SCENARIO (%s), got %d arguments", strings.Join(loadtest.Scenarios, ", "), len(pos))
	}
	cfg.Scenario = pos[0]
	cfg.Protocol = loadtest.Protocol(*proto)

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	// The load generator's own CPU counts in every latency it measures
	// (on a small machine it shares the cores with the server): it
	// trades memory for fewer garbage collections.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	r, err := loadtest.Run(ctx, cfg)
	if errors.Is(err, loadtest.ErrConfig) {
		return usagef("bench: %v", err)
	}
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if *jsonOut != "-" {
		if err := loadtest.WriteTable(m.Stdout, r); err != nil {
			return err
		}
	}
	if *jsonOut != "" {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		b = append(b, '\n')
		if *jsonOut == "-" {
			_, err = m.Stdout.Write(b)
		} else {
			err = os.WriteFile(*jsonOut, b, 0o644)
		}
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	}
	return nil
}
