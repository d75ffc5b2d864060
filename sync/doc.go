// Package sync is Quire's collaboration server: unmodified Yjs browser
// clients (y-websocket's WebsocketProvider) connect to /ws/<document> and
// edit documents together, the server merging their updates with package
// crdt and persisting them to a Store.
//
// # Protocol
//
// The server speaks y-protocols over binary WebSocket messages, as the
// y-websocket reference server does (protocol.go):
//
//   - On connect, once the document is loaded, the server sends sync step 1
//     (its state vector), so that the client replies with what the server
//     lacks, and the awareness states of the other clients, if any.
//   - A client's sync step 1 is answered with sync step 2: the diff
//     against the client's state vector.
//   - A client's sync step 2 and updates are applied to the document; the
//     resulting change is queued to be appended to the Store and broadcast
//     to the other members, merged with the changes applied around it
//     into one sync update per batch (broadcast.go; a batch of several
//     goes to its senders too, which Yjs ignores as already known).
//   - Awareness updates (presence: cursors, names) are merged into the
//     room's table and forwarded; when a connection ends, the states it
//     added are removed and the removal is broadcast. Query-awareness is
//     answered with every state.
//   - A message that does not decode closes its connection only: 1003 for
//     a text frame or a message type y-websocket does not send, 1007 for
//     malformed bytes; the document is unchanged (crdt applies updates all
//     or nothing).
//
// # Access and limits
//
// An Authorizer (auth.go) checks each handshake before the upgrade; a
// read-only connection's updates are refused with y-protocols'
// permission-denied message, and an expired grant closes its connection
// with 4401. Limits (limits.go) bound message rate, connections per
// address and per document, documents in memory and document size, each
// refusing with a close code and reason.
//
// # Rooms and concurrency
//
// One room per document (room.go), in the Server's own index. A room's
// crdt.Doc, members and awareness are guarded by the room's mutex, and
// messages are queued to members only under it, to each member's own
// send queue (never melody's broadcast, which scans every session of
// every room). Queuing never blocks: the server frames its messages itself
// (frame.go) and writes them on the socket from whoever finds a
// connection's queue idle: a broadcast writes to each member whose socket
// has room at once, without blocking, and a writer goroutine, running only
// while something waits, takes the rest (sendqueue.go; melody's own writer
// is left idle). A member whose queue is over SendQueue messages or
// SendQueueBytes bytes is disconnected as a slow consumer. The Store is
// called without any room lock held.
//
// Updates are broadcast in batches (broadcast.go): one merged message per
// member per batch, after a window that grows while the room is busy. A
// document idle for HibernateAfter drops its live crdt.Doc (hibernate.go);
// once all its updates are stored the room keeps no copy at all, only the
// state vector, and loads the document back from the store (outside the
// room lock, once for every connection that needs it) before anyone syncs
// against it; the next update rebuilds the live document.
//
// Each connection's messages are handled in order on its own goroutine
// (melody's read loop); the first connection to a room loads the document
// on its goroutine while later ones wait for that load, their messages
// unread.
//
// # Persistence
//
// A read loop never waits for the disk (persist.go). The changes of an
// applied update join the room's persistence queue; the room's persister,
// a goroutine running while the queue is not empty, merges everything
// queued into one update (crdt.MergeUpdates) and stores it with one
// Store.Append, batch after batch. A fast client thus costs one commit per
// batch rather than one per message, and its pongs are not held up behind
// the disk. The queue is bounded: while a room has more than 64 MiB or
// 10,000 updates not yet stored, its senders wait after each update until
// the persister catches up (backpressure, counted in Stats.Backpressure).
// A room is unloaded only once its queue is stored; Shutdown stores every
// queue, then flushes the Store.
//
// # Liveness
//
// The server pings every connection every PingInterval (through its send
// queue), and melody drops clients whose pongs stop. But
// y-websocket cannot see pongs and closes a socket that received no message
// for 30 s, so members that were sent nothing for a while get a no-op
// message (an empty awareness update; see keepaliveMessage).
//
// # Failures
//
// A document that cannot be loaded is never served empty: its connections
// are closed with 1011 and the next connection tries again. A failed Append
// fails the room: its members are closed with 1011, the updates it still
// had queued are dropped, and the next connection reloads the document
// from the Store. Clients keep their edits and send
// back whatever the Store lacks when they reconnect.
package sync
