package loadtest

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is the unit of /proc/<pid>/stat's CPU times (USER_HZ), 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// procSample is what /proc says of a process at one moment.
type procSample struct {
	cpu time.Duration // user + system time since it started, in 10 ms ticks
	// schedCPU is the time its threads spent on a CPU, to the
	// nanosecond; zero if the kernel does not say (schedCPU).
	schedCPU time.Duration
	rss      int64 // resident set size, bytes
	peakRSS  int64 // highest resident set size since it started (VmHWM)
}

// sampleProc reads /proc/<pid>/stat and /proc/<pid>/status.
func sampleProc(pid int) (procSample, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procSample{}, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// fields are counted after its closing parenthesis.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return procSample{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return procSample{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return procSample{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	s := procSample{cpu: time.Duration(utime+stime) * time.Second / clockTicks}
	s.schedCPU, _ = schedCPU(pid)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procSample{}, err
	}
	for line := range strings.Lines(string(status)) {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		var dst *int64
		switch key {
		case "VmRSS":
			dst = &s.rss
		case "VmHWM":
			dst = &s.peakRSS
		default:
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return procSample{}, fmt.Errorf("/proc/%d/status %s: %w", pid, key, err)
		}
		*dst = kb << 10
	}
	return s, nil
}

// schedCPU returns the CPU time of process pid summed over its threads
// from /proc/<pid>/task/*/schedstat, in nanoseconds, where the kernel
// keeps it (CONFIG_SCHED_INFO): /proc/<pid>/stat counts in 10 ms ticks,
// too coarse for a join storm that costs a server 40 ms. It reports false
// if any thread's figure cannot be read (a thread that ended between the
// listing and the read is skipped; its time is lost either way).
func schedCPU(pid int) (time.Duration, bool) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if err != nil || len(tasks) == 0 {
		return 0, false
	}
	var sum time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(dir + "/" + t.Name() + "/schedstat")
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return 0, false
		}
		// "<ns on CPU> <ns waiting> <timeslices>"
		first, _, _ := strings.Cut(string(b), " ")
		ns, err := strconv.ParseInt(first, 10, 64)
		if err != nil {
			return 0, false
		}
		sum += time.Duration(ns)
	}
	return sum, true
}

// ownCPU is the CPU time this process has used.
func ownCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// meter measures a phase: the server's CPU time and memory (when its PID
// is known) and the load generator's own CPU time.
type meter struct {
	pid      int
	start    time.Time
	own      time.Duration
	server   procSample
	serverOK bool
}

func startMeter(pid int) *meter {
	m := &meter{pid: pid, start: time.Now(), own: ownCPU()}
	if pid > 0 {
		s, err := sampleProc(pid)
		m.server, m.serverOK = s, err == nil
	}
	return m
}

// phase is a measured phase's figures.
type phase struct {
	Wall          time.Duration
	OwnCPU        time.Duration
	ServerCPU     time.Duration // zero without a PID
	ServerRSS     int64         // at the end of the phase
	ServerRSSGrew int64         // RSS at the end minus RSS at the start
	ServerPeakRSS int64
	Measured      bool // the server's figures are known
}

func (m *meter) stop() phase {
	p := phase{Wall: time.Since(m.start), OwnCPU: ownCPU() - m.own}
	if !m.serverOK {
		return p
	}
	s, err := sampleProc(m.pid)
	if err != nil {
		return p
	}
	p.Measured = true
	p.ServerCPU = s.cpu - m.server.cpu
	if s.schedCPU > 0 && m.server.schedCPU > 0 {
		p.ServerCPU = s.schedCPU - m.server.schedCPU
	}
	p.ServerRSS = s.rss
	p.ServerRSSGrew = s.rss - m.server.rss
	p.ServerPeakRSS = s.peakRSS
	return p
}
