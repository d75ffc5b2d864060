//go:build memdiag

package main

// A diagnostic build for measuring what the server's memory is made of
// (scripts/bench/idle-breakdown.sh): built only with -tags memdiag, never
// in the shipped binary. On SIGUSR1 it collects garbage and writes the
// runtime's memory classes to $QUIRE_MEMDIAG_DIR/metrics.<n>.txt and a heap
// profile to $QUIRE_MEMDIAG_DIR/heap.<n>.pprof. QUIRE_MEMDIAG_RATE sets
// runtime.MemProfileRate (default: the runtime's); a fine rate such as 64
// makes the profile exact but costs memory of its own, so the classes are
// best read in a run at the default rate.

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
)

func init() {
	dir := os.Getenv("QUIRE_MEMDIAG_DIR")
	if dir == "" {
		return
	}
	if r, err := strconv.Atoi(os.Getenv("QUIRE_MEMDIAG_RATE")); err == nil && r > 0 {
		runtime.MemProfileRate = r
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	go func() {
		for n := 0; ; n++ {
			<-sig
			runtime.GC()
			if err := writeMemDiag(dir, n); err != nil {
				fmt.Fprintln(os.Stderr, "memdiag:", err)
			}
		}
	}()
}

func writeMemDiag(dir string, n int) error {
	var samples []metrics.Sample
	for _, d := range metrics.All() {
		if strings.HasPrefix(d.Name, "/memory/classes/") || d.Name == "/sched/goroutines:goroutines" {
			samples = append(samples, metrics.Sample{Name: d.Name})
		}
	}
	metrics.Read(samples)
	var b strings.Builder
	for _, s := range samples {
		fmt.Fprintf(&b, "%s %d\n", s.Name, s.Value.Uint64())
	}
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("metrics.%d.txt", n)), []byte(b.String()), 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("heap.%d.pprof", n)))
	if err != nil {
		return err
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
