package sync

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/olahol/melody"
)

// TestIdleConnectionHasNoWriter checks that a connection's writer runs
// only while something waits to be written: once a member has synced and
// been sent everything, no goroutine of the server is in conn.write, and
// melody's writer, never handed a message, is parked in its loop.
func TestIdleConnectionHasNoWriter(t *testing.T) {
	h := newHarness(t, Options{})
	// Melody calls this after each binary message its writer wrote.
	var melodyWrote atomic.Int32
	h.srv.m.HandleSentMessageBinary(func(*melody.Session, []byte) { melodyWrote.Add(1) })
	a, b := h.dial("doc"), h.dial("doc")
	a.insert("typed by a, so that b is sent an update")
	waitText(t, "typed by a, so that b is sent an update", b)

	var writers, melodyWriters int
	waitFor(t, "the writers to end", func() bool {
		writers, melodyWriters = 0, 0
		for _, g := range goroutineStacks() {
			if strings.Contains(g, "sync.(*conn).write(") {
				writers++
			}
			if strings.Contains(g, "melody.(*Session).writePump") {
				melodyWriters++
				if strings.Contains(g, "websocket.(*Conn).WriteMessage") {
					t.Fatalf("melody's writer is writing:\n%s", g)
				}
			}
		}
		return writers == 0
	})
	if melodyWriters < 2 {
		t.Errorf("%d melody writers for 2 connections", melodyWriters)
	}
	// A new message starts a writer again.
	b.insert(", and b answers")
	waitText(t, "typed by a, so that b is sent an update, and b answers", a, b)
	if n := melodyWrote.Load(); n != 0 {
		t.Errorf("melody's writer wrote %d messages", n)
	}
}

// TestPingsKeepAReadingClient checks the server's own pings: a client that
// reads answers them (gorilla answers a ping while reading), which keeps
// extending its read deadline, so it stays connected for many times the
// deadline; a client that never reads sends no pong and is dropped once
// the deadline passes. Without pings both would be dropped.
func TestPingsKeepAReadingClient(t *testing.T) {
	const ping, writeTimeout = 50 * time.Millisecond, 100 * time.Millisecond
	pongWait := 2*ping + writeTimeout
	h := newHarness(t, Options{PingInterval: ping, WriteTimeout: writeTimeout})
	reading := h.dialWith("reading", clientOptions{noRead: true})
	var pings atomic.Int32
	reading.ws.SetPingHandler(func(data string) error {
		pings.Add(1)
		return reading.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	reading.startReading()
	h.dialWith("silent", clientOptions{noRead: true})
	waitFor(t, "both members", func() bool { return h.members("reading") == 1 && h.members("silent") == 1 })

	time.Sleep(8 * pongWait)
	if !reading.isOpen() || h.members("reading") != 1 {
		t.Fatalf("a client answering pings was dropped after %v (read deadline %v)", 8*pongWait, pongWait)
	}
	if got := pings.Load(); got < 4 {
		t.Errorf("%d pings in %v at one per %v", got, 8*pongWait, ping)
	}
	waitFor(t, "the silent client to be dropped", func() bool { return h.members("silent") == 0 })
}
