package auth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Permission is what a connection may do with a document.
type Permission int

const (
	// Read receives the document and every later update, and may send
	// sync step 1, awareness and query-awareness; updates it sends are
	// refused.
	Read Permission = iota + 1
	// Write may also change the document.
	Write
)

// String returns "read" or "write", the names tokens carry.
func (p Permission) String() string {
	switch p {
	case Read:
		return "read"
	case Write:
		return "write"
	}
	return fmt.Sprintf("Permission(%d)", int(p))
}

// ParsePermission parses "read" or "write".
func ParsePermission(s string) (Permission, error) {
	switch s {
	case "read":
		return Read, nil
	case "write":
		return Write, nil
	}
	return 0, fmt.Errorf("%w: permission %q (read or write)", ErrInvalidToken, s)
}

// Grant is what an authorized connection may do, and until when.
type Grant struct {
	Permission Permission
	// Expires is when the grant ends; a connection still open then is
	// closed. Zero: never.
	Expires time.Time
}

// CanWrite reports whether the grant allows changing the document.
func (g Grant) CanWrite() bool { return g.Permission == Write }

// Sentinel errors of a refused handshake; Error values wrap one of them.

// ErrMissingToken: the request carries no token.
var ErrMissingToken = errors.New("auth: missing token")

// ErrInvalidToken: the token does not parse, its signature does not
// verify, its algorithm is not accepted, or its claims are malformed.
var ErrInvalidToken = errors.New("auth: invalid token")

// ErrExpiredToken: the token's expiry has passed (or it is not valid
// yet).
var ErrExpiredToken = errors.New("auth: token expired")

// ErrForbidden: the token is valid but does not name the document.
var ErrForbidden = errors.New("auth: token does not grant this document")

// Error is a refused handshake: the HTTP status and the short reason the
// client is sent, and the cause, which is only logged.
type Error struct {
	Status int    // 401 or 403
	Reason string // sent as the response body
	Err    error  // wraps one of the sentinels above
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Reason
	}
	return fmt.Sprintf("%s: %v", e.Reason, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Refuse builds the Error for a sentinel (or an error wrapping one):
// 401 for a missing, invalid or expired token, 403 for another document.
func Refuse(err error) *Error {
	switch {
	case errors.Is(err, ErrMissingToken):
		return &Error{Status: http.StatusUnauthorized, Reason: "missing token", Err: err}
	case errors.Is(err, ErrExpiredToken):
		return &Error{Status: http.StatusUnauthorized, Reason: "token expired", Err: err}
	case errors.Is(err, ErrForbidden):
		return &Error{Status: http.StatusForbidden, Reason: "token does not grant this document", Err: err}
	}
	return &Error{Status: http.StatusUnauthorized, Reason: "invalid token", Err: err}
}

// TokenFromRequest returns the token of a handshake: the query parameter
// "token" (y-websocket's params option puts it there; browsers cannot set
// headers on a WebSocket handshake), else an "Authorization: Bearer"
// header (for other clients). It returns ErrMissingToken if neither is
// present.
func TokenFromRequest(r *http.Request) (string, error) {
	if t := r.URL.Query().Get("token"); t != "" {
		return t, nil
	}
	h := r.Header.Get("Authorization")
	if scheme, t, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
		if t = strings.TrimSpace(t); t != "" {
			return t, nil
		}
	}
	return "", ErrMissingToken
}
