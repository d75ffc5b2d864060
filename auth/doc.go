// Package auth holds the domain types of access control: what a client
// may do with a document (Permission, Grant), which documents a grant
// names (Patterns), how a token travels with a WebSocket handshake
// (TokenFromRequest), and the errors a refused handshake carries (Error,
// with the HTTP status and the reason the client is told).
//
// Implementations live in subpackages named after what they wrap:
// auth/jwt verifies and mints JSON Web Tokens with
// github.com/golang-jwt/jwt/v5. The server (package sync) declares the
// interface it consumes, an Authorizer that turns a handshake request and
// a document name into a Grant.
//
// Everything here is immutable once built and safe for concurrent use.
package auth
