// Package loadtest drives a Yjs WebSocket server with many simulated
// clients and measures it: the scenarios behind `quire bench`.
//
// A client speaks y-protocols (sync step 1/2, update, awareness) in one of
// two framings: y-websocket's, where the document is named by the URL path,
// or Hocuspocus's, where every message starts with the document name and the
// first message is an auth token. So the same scenarios run against Quire,
// @y/websocket-server and @hocuspocus/server.
//
// Clients hold no document. Senders send real Yjs updates generated
// beforehand by scripts/bench/loadtest-fixtures.mjs (testdata/, embedded):
// stream i is the typing of one Yjs client, a few characters per update.
// Receivers read only the struct headers of what arrives: the highest clock
// they have of each sender tells which of its updates were delivered, even
// when a server merges several updates into one message. Each update's send
// time is kept by the sender in memory shared with the receivers, so
// latency needs nothing inside the update.
//
// Server CPU time and memory come from /proc/<pid> when the server's PID is
// given; the tool's own CPU time is reported beside them, since on a small
// machine the load generator competes with the server.
//
// Concurrency: Run blocks until the scenario ends (it always does: every
// phase is bounded by time) and may be called again afterwards; a Config
// is not modified.
package loadtest
