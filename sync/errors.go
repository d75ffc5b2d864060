package sync

import (
	"errors"
	"fmt"
)

// ErrInvalidOptions is returned by NewServer when Options are unusable: no
// Store, a negative limit, a PingInterval too long to keep y-websocket
// clients connected, or a malformed AllowedOrigins entry.
var ErrInvalidOptions = errors.New("sync: invalid options")

// errInvalidName is why a request for /ws/<name> is refused with 400: the
// name is not 1–255 bytes of valid UTF-8 without control characters, or its
// percent-encoding is broken.
var errInvalidName = errors.New("sync: invalid document name")

// errNotWebSocketPath is why a request outside /ws/ is refused with 404.
var errNotWebSocketPath = errors.New("sync: not a /ws/ path")

// errDocumentUnavailable is what members of a room learn when its document
// could not be loaded or an update could not be stored.
var errDocumentUnavailable = errors.New("sync: document unavailable")

// errShuttingDown is why a connection that arrives during Shutdown is not
// served.
var errShuttingDown = errors.New("sync: server shutting down")

// WebSocket close codes (RFC 6455, section 7.4.1) the server sends, and the
// reasons that go with them. Reasons are short: a close frame carries at
// most 123 bytes of them.
const (
	closeGoingAway      = 1001 // Shutdown
	closeUnsupported    = 1003 // a text frame or an unknown message type
	closeInvalidPayload = 1007 // a message that does not decode
	closeInternalError  = 1011 // the document cannot be loaded or stored
	closeTryAgainLater  = 1013 // a slow consumer

	reasonShutdown    = "server shutting down"
	reasonUnavailable = "document unavailable"
	reasonSlow        = "slow consumer"
	reasonTextFrame   = "text frames are not supported"
	reasonUnknownType = "unsupported message type"
	reasonInternal    = "internal error"
)

// closeError is a reason to close one connection: the peer sent something
// the protocol does not allow. It carries the close code and reason the
// peer is told; err is the detail that is only logged.
type closeError struct {
	code   int
	reason string
	err    error
	limit  bool // a limit (Limits) refused: counted in Stats.LimitRefusals
}

func (e *closeError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("%s (close %d)", e.reason, e.code)
	}
	return fmt.Sprintf("%s (close %d): %v", e.reason, e.code, e.err)
}

func (e *closeError) Unwrap() error { return e.err }

// invalidPayload is a closeError with code 1007: the message's bytes do not
// decode as what its type says.
func invalidPayload(reason string, err error) error {
	return &closeError{code: closeInvalidPayload, reason: reason, err: err}
}
