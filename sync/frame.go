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
	return append(appendFrameHeader(dst, head, len(payload)), payload...)
}

// appendFrameHeader appends to dst the header of a frame of first byte
// head whose payload is n bytes long.
func appendFrameHeader(dst []byte, head byte, n int) []byte {
	switch {
	case n < 126:
		return append(dst, head, byte(n))
	case n <= 0xffff:
		dst = append(dst, head, 126)
		return binary.BigEndian.AppendUint16(dst, uint16(n))
	default:
		dst = append(dst, head, 127)
		return binary.BigEndian.AppendUint64(dst, uint64(n))
	}
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

// syncFrame returns the frame of the sync message [messageSync, sub,
// varbytes payload], built in one allocation of its exact size.
func syncFrame(sub uint64, payload []byte) []byte {
	return varBytesFrame(messageSync, sub, true, payload)
}

// awarenessFrame returns the frame of an awareness message holding an
// awareness update of entries: [messageAwareness, varbytes update].
func awarenessFrame(entries []awarenessEntry) []byte {
	return varBytesFrame(messageAwareness, 0, false, encodeAwarenessUpdate(entries))
}

// varBytesFrame returns a binary frame holding the y-protocols message
// [kind, sub (if withSub), varbytes payload]; kind and sub are below 128.
func varBytesFrame(kind, sub uint64, withSub bool, payload []byte) []byte {
	f := appendVarBytesStart(nil, kind, sub, withSub, len(payload))
	return append(f, payload...)
}

// appendVarBytesStart appends to dst all of varBytesFrame's frame but the
// payload's n bytes; with dst nil, in a slice with room for them.
func appendVarBytesStart(dst []byte, kind, sub uint64, withSub bool, n int) []byte {
	msgLen := 1 + uvarintLen(uint64(n)) + n
	if withSub {
		msgLen++
	}
	if dst == nil {
		dst = make([]byte, 0, frameSize(msgLen))
	}
	dst = appendFrameHeader(dst, finBinary, msgLen)
	dst = append(dst, byte(kind))
	if withSub {
		dst = append(dst, byte(sub))
	}
	return binary.AppendUvarint(dst, uint64(n)) // lib0's varuint is LEB128
}

// uvarintLen is the length of v as a varuint.
func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// closeFrame returns a close frame with code and reason; code
// websocket.CloseNoStatusReceived gives an empty close frame.
func closeFrame(code int, reason string) []byte {
	return appendFrame(nil, finClose, websocket.FormatCloseMessage(code, reason))
}

// pingFrame is the ping the keep-alive loop sends (Server.pingAll).
var pingFrame = []byte{finPing, 0}

// keepaliveFrame and permissionDeniedFrame are keepaliveMessage and
// permissionDeniedMessage framed, shared by every connection.
var (
	keepaliveFrame        = binaryFrame(keepaliveMessage)
	permissionDeniedFrame = binaryFrame(permissionDeniedMessage)
)

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
