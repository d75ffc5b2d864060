package sync

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"unsafe"
)

// Reading a connection's socket. Gorilla reads each connection through its
// net.Conn, and net.Conn.Read enters the runtime's system-call state, which
// wakes sysmon whenever it sleeps because every P is idle: a server that
// idles between messages (most of the time, at any load below its
// capacity) paid a futex wake and then a run of 20 µs sysmon wake-ups for
// nearly every message it read, about a tenth of its CPU in a hot room.
// The socket is non-blocking, so a read never waits in the kernel; a
// plain TCP or Unix socket is therefore handed to gorilla wrapped in a
// socketConn, whose Read is a raw read(2) through the socket's RawConn:
// the runtime's poller still waits for data (and enforces the read
// deadline) when there is none, but the read itself does not involve the
// scheduler. Writes take the same route already (tryWrite).
//
// Any other net.Conn (a TLS connection) is left as it is.

// socketConn is a plain socket as gorilla sees it: every method is the
// socket's own but Read and Write.
//
// Write holds the first thing written, gorilla's answer to the upgrade
// request, until the connection's goroutine has queued its opening
// messages (sync step 1, awareness): flushReplies then writes them all in
// one system call, where they took two, and the client's first read finds
// them together.
type socketConn struct {
	net.Conn // *net.TCPConn or *net.UnixConn
	raw      syscall.RawConn
	// handshake is the held answer to the upgrade; holding is set until
	// the first Write.
	handshake []byte
	holding   bool
}

// wrapSocket returns nc as a socketConn if it is a plain socket, else nc.
func wrapSocket(nc net.Conn) net.Conn {
	var raw syscall.RawConn
	var err error
	switch s := nc.(type) {
	case *net.TCPConn:
		raw, err = s.SyscallConn()
	case *net.UnixConn:
		raw, err = s.SyscallConn()
	default:
		return nc
	}
	if err != nil {
		return nc
	}
	return &socketConn{Conn: nc, raw: raw, holding: true}
}

// Read reads what the socket holds, waiting for the poller if it holds
// nothing. Errors are those of net.Conn.Read: io.EOF at the end, a
// *net.OpError otherwise (a timeout once the read deadline has passed).
func (s *socketConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var errno syscall.Errno
	err := s.raw.Read(func(fd uintptr) bool {
		for {
			r, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
			switch e {
			case 0:
				n = int(r)
				return true
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false // the poller waits for data
			default:
				errno = e
				return true
			}
		}
	})
	switch {
	case err != nil:
		// RawConn reports "raw-read"; say what net.Conn would.
		var op *net.OpError
		if errors.As(err, &op) {
			err = op.Err
		}
		return 0, s.readError(err)
	case errno != 0:
		return 0, s.readError(os.NewSyscallError("read", errno))
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// Write holds the first write (see socketConn), and writes what it
// holds ahead of any other.
func (s *socketConn) Write(p []byte) (int, error) {
	if s.holding {
		s.holding = false
		s.handshake = bytes.Clone(p) // p is gorilla's buffer
		return len(p), nil
	}
	if h := s.takeHandshake(); h != nil {
		bufs := net.Buffers{h, p}
		n, err := bufs.WriteTo(s.Conn)
		return max(int(n)-len(h), 0), err
	}
	return s.Conn.Write(p)
}

// takeHandshake returns the held answer to the upgrade, if any is still
// held, for the caller to write first.
func (s *socketConn) takeHandshake() []byte {
	h := s.handshake
	s.handshake = nil
	return h
}

func (s *socketConn) readError(err error) error {
	return &net.OpError{Op: "read", Net: s.LocalAddr().Network(), Source: s.LocalAddr(), Addr: s.RemoteAddr(), Err: err}
}

// hijackWriter is the response writer melody's upgrader gets: its Hijack
// hands over the connection's socket wrapped (wrapSocket).
type hijackWriter struct {
	http.ResponseWriter
}

// errNotHijackable is returned by hijackWriter.Hijack when the response
// writer cannot hand over its connection (the upgrader answers 500).
var errNotHijackable = errors.New("sync: the response writer does not implement http.Hijacker")

func (w hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errNotHijackable
	}
	nc, brw, err := h.Hijack()
	if err != nil {
		return nil, nil, err
	}
	return wrapSocket(nc), brw, nil
}
