package sync

import (
	"encoding/binary"
	"errors"
	"os"
	"syscall"
	"unsafe"

	"github.com/gorilla/websocket"
)

// WebSocket frames the server writes itself. Gorilla reads every
// connection (through melody), but the server writes its own frames on the
// socket: a message is framed once however many members it goes to, the
// messages waiting for one connection go out in one system call, and a
// broadcast writes to a member whose socket has room at once, from the
// broadcasting goroutine, with no goroutine, lock handoff or deadline
// timer per member (sendqueue.go). Server frames are never masked
// (RFC 6455, section 5.1), and the server negotiates no extension, so a
// frame is a 2-to-10-byte header and the payload.

// Frame opcodes (RFC 6455, section 5.2), with the FIN bit set: every frame
// the server writes is a whole message.
const (
	finBinary = 0x80 | websocket.BinaryMessage
	finClose  = 0x80 | websocket.CloseMessage
	finPing   = 0x80 | websocket.PingMessage
	finPong   = 0x80 | websocket.PongMessage
)

// appendFrame appends to dst a frame of first byte head holding payload.
func appendFrame(dst []byte, head byte, payload []byte) []byte {
	n := len(payload)
	switch {
	case n < 126:
		dst = append(dst, head, byte(n))
	case n <= 0xffff:
		dst = append(dst, head, 126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	default:
		dst = append(dst, head, 127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	return append(dst, payload...)
}

// frameSize is the size of a frame holding n bytes.
func frameSize(n int) int {
	switch {
	case n < 126:
		return n + 2
	case n <= 0xffff:
		return n + 4
	default:
		return n + 10
	}
}

// binaryFrame returns msg framed as a binary message, in a slice of its
// own size.
func binaryFrame(msg []byte) []byte {
	return appendFrame(make([]byte, 0, frameSize(len(msg))), finBinary, msg)
}

// closeFrame returns a close frame with code and reason; code
// websocket.CloseNoStatusReceived gives an empty close frame.
func closeFrame(code int, reason string) []byte {
	return appendFrame(nil, finClose, websocket.FormatCloseMessage(code, reason))
}

// pingFrame is the ping the keep-alive loop sends (Server.pingAll).
var pingFrame = []byte{finPing, 0}

// keepaliveFrame is keepaliveMessage framed, shared by every member.
var keepaliveFrame = binaryFrame(keepaliveMessage)

// errWriteWouldBlock reports that a write without blocking found the socket
// full: the rest goes to the connection's writer.
var errWriteWouldBlock = errors.New("socket full")

// tryWrite writes as much of f as the socket takes without blocking, and
// returns how much that was. It returns errWriteWouldBlock (with n <
// len(f)) when the socket is full or its write deadline has passed (the
// writer, which sets a deadline of its own, then takes over), and any other
// error when the connection is broken.
func tryWrite(raw syscall.RawConn, f []byte) (n int, err error) {
	var werr error
	err = raw.Write(func(fd uintptr) bool {
		for n < len(f) {
			// A raw system call: the socket does not block, so the
			// runtime need not know of it, and sysmon, which entering a
			// system call wakes to watch it, stays asleep (with a write
			// per member per broadcast, its wake-ups cost more than the
			// bookkeeping they would save).
			r, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&f[n])), uintptr(len(f)-n))
			k := int(r)
			if e == 0 && k > 0 {
				n += k
			}
			switch {
			case e == syscall.EINTR:
				continue
			case e == syscall.EAGAIN:
				werr = errWriteWouldBlock
				return true
			case e != 0:
				werr = e
				return true
			case k == 0:
				werr = errWriteWouldBlock
				return true
			}
		}
		return true
	})
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return n, errWriteWouldBlock
	}
	if err != nil {
		return n, err
	}
	return n, werr
}
