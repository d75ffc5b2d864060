// Package jwt authorizes WebSocket handshakes with JSON Web Tokens,
// verified by github.com/golang-jwt/jwt/v5.
//
// A token is accepted when it is signed with HS256 by the configured
// secret, or with RS256 or EdDSA (Ed25519) by the private half of a
// configured public key; other algorithms, "none" included, are refused.
// Its claims are:
//
//	{"docs": ["notes/plan", "team-a/*"], "perm": "write", "exp": 1767225600}
//
// docs names the documents (auth.Patterns: exact names, or prefixes ending
// in "*"), perm is "read" or "write", and exp (required) is the expiry in
// Unix seconds; nbf and iat are checked when present, sub is free for the
// issuer's use. Mint issues such tokens, for tests, the `quire token`
// command and small deployments.
//
// A Verifier is immutable and safe for concurrent use.
package jwt
