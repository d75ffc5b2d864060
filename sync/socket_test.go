package sync

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// socketPair returns the two ends of a loopback TCP connection, the
// accepted end wrapped as the server wraps it.
func socketPair(t *testing.T) (server *socketConn, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	accepted, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { accepted.Close() })
	s, ok := wrapSocket(accepted).(*socketConn)
	if !ok {
		t.Fatalf("a TCP connection was not wrapped: %T", wrapSocket(accepted))
	}
	return s, client
}

func TestSocketConnRead(t *testing.T) {
	s, client := socketPair(t)
	if _, err := client.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, err := io.ReadAtLeast(s, buf, 5)
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("read %q, %v; want hello", buf[:n], err)
	}

	// Nothing to read: the poller waits, up to the deadline.
	s.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, err = s.Read(buf)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %v, want a timeout", err)
	}
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "read" {
		t.Errorf("read past the deadline: %#v, want a read *net.OpError", err)
	}

	// Data that arrives while the reader waits.
	s.SetReadDeadline(time.Now().Add(5 * time.Second))
	go func() {
		time.Sleep(10 * time.Millisecond)
		client.Write([]byte("later"))
	}()
	n, err = io.ReadAtLeast(s, buf, 5)
	if err != nil || string(buf[:n]) != "later" {
		t.Fatalf("read %q, %v; want later", buf[:n], err)
	}

	// The peer's close, then our own.
	client.Close()
	if _, err := s.Read(buf); err != io.EOF {
		t.Fatalf("read after the peer closed: %v, want io.EOF", err)
	}
	s.Close()
	if _, err := s.Read(buf); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read after close: %v, want net.ErrClosed", err)
	}
	if n, err := s.Read(nil); n != 0 || err != nil {
		t.Errorf("empty read: %d, %v", n, err)
	}
}

// The first write (gorilla's answer to the upgrade) waits until it is
// taken, or goes out ahead of the next write.
func TestSocketConnHoldsTheFirstWrite(t *testing.T) {
	s, client := socketPair(t)
	answer := []byte("HTTP/1.1 101 Switching Protocols\r\n\r\n")
	if n, err := s.Write(answer); n != len(answer) || err != nil {
		t.Fatalf("Write: %d, %v", n, err)
	}
	answer[0] = 'X' // gorilla's buffer: held as a copy
	buf := make([]byte, 256)
	client.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, err := client.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the held write reached the peer: %q, %v", buf[:n], err)
	}
	if n, err := s.Write([]byte("frame")); n != 5 || err != nil {
		t.Fatalf("second Write: %d, %v", n, err)
	}
	want := "HTTP/1.1 101 Switching Protocols\r\n\r\nframe"
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := io.ReadAtLeast(client, buf, len(want))
	if err != nil || string(buf[:n]) != want {
		t.Fatalf("peer read %q, %v; want %q", buf[:n], err, want)
	}
	if h := s.takeHandshake(); h != nil {
		t.Errorf("still held after it was written: %q", h)
	}
}

func TestSocketConnTakeHandshake(t *testing.T) {
	s, client := socketPair(t)
	s.Write([]byte("answer"))
	if h := s.takeHandshake(); !bytes.Equal(h, []byte("answer")) {
		t.Fatalf("takeHandshake: %q", h)
	}
	if h := s.takeHandshake(); h != nil {
		t.Fatalf("taken twice: %q", h)
	}
	// Later writes go straight out.
	s.Write([]byte("frame"))
	buf := make([]byte, 16)
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := io.ReadAtLeast(client, buf, 5)
	if err != nil || string(buf[:n]) != "frame" {
		t.Fatalf("peer read %q, %v", buf[:n], err)
	}
}

func TestWrapSocketLeavesOtherConnsAlone(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if got := wrapSocket(a); got != a {
		t.Errorf("a pipe was wrapped: %T", got)
	}
	tc := tls.Client(a, &tls.Config{InsecureSkipVerify: true})
	if got := wrapSocket(tc); got != net.Conn(tc) {
		t.Errorf("a TLS connection was wrapped: %T", got)
	}
}
