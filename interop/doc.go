// Package interop holds the end-to-end tests that prove unmodified Yjs
// clients work against Quire: they build cmd/quire, run `quire serve` on a
// loopback port, and drive real yjs + y-websocket + ws clients in Node
// (interop/js/agent.mjs) against it, including server restarts and crashes.
//
// The package has no non-test code; run it with `go test ./interop/` after
// `npm ci` at the repository root. See README.md in this directory.
package interop
