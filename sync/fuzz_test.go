package sync

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/quirehq/quire/crdt/lib0"
	"github.com/quirehq/quire/storage/memory"
)

// Fuzz targets for everything a client's bytes reach on the network path:
// the message framing, the awareness and auth message codecs, and the
// message handler over a live room. Their seed corpora are committed in
// testdata/fuzz/<target>; scripts/test.sh runs each briefly when
// QUIRE_FUZZTIME is set.

// goldenUpdates returns a few updates written by real Yjs (the crdt
// goldens), to seed the targets with well-formed content.
func goldenUpdates(f *testing.F) [][]byte {
	f.Helper()
	paths, _ := filepath.Glob("../testdata/crdt/golden/*/update.bin")
	var out [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) < 4096 {
			out = append(out, b)
		}
		if len(out) == 8 {
			break
		}
	}
	return out
}

func FuzzDecodeMessage(f *testing.F) {
	f.Add([]byte{messageSync, syncStep1, 0})
	f.Add([]byte{messageAwareness, 1, 0})
	f.Add([]byte{messageQueryAwareness})
	f.Add([]byte{messageSync, syncUpdate, 0xff, 0xff, 0xff, 0xff, 0x0f})
	for _, u := range goldenUpdates(f) {
		f.Add(encodeSync(syncUpdate, u))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMessage(b)
		if err != nil {
			var ce *closeError
			if !errors.As(err, &ce) || ce.code != closeInvalidPayload {
				t.Fatalf("error %v is not a 1007 close", err)
			}
			return
		}
		// What decodes re-encodes to the same message.
		if m.kind == messageSync {
			again, err := decodeMessage(encodeSync(m.sub, m.payload))
			if err != nil || again.sub != m.sub || !bytes.Equal(again.payload, m.payload) {
				t.Fatalf("sync message %x re-encodes as %+v, %v", b, again, err)
			}
		}
		if len(m.payload) > len(b) {
			t.Fatalf("payload of %d bytes from %d", len(m.payload), len(b))
		}
	})
}

func FuzzDecodeAwarenessUpdate(f *testing.F) {
	f.Add(encodeAwarenessUpdate([]awarenessEntry{{client: 1, clock: 2, state: `{"user":{"name":"a"}}`}, {client: 1 << 52, clock: 3, state: "null"}}))
	f.Add([]byte{0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f, 1, 1, 2, '{', '}'})
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := decodeAwarenessUpdate(b)
		if err != nil {
			return
		}
		again, err := decodeAwarenessUpdate(encodeAwarenessUpdate(entries))
		if err != nil {
			t.Fatalf("re-encoded update does not decode: %v", err)
		}
		if len(again) != len(entries) {
			t.Fatalf("%d entries, then %d", len(entries), len(again))
		}
		for i := range entries {
			if again[i] != entries[i] {
				t.Fatalf("entry %d: %+v, then %+v", i, entries[i], again[i])
			}
		}
	})
}

func FuzzPermissionDenied(f *testing.F) {
	f.Add([]byte(reasonReadOnly))
	f.Add(encodePermissionDenied("x"))
	f.Fuzz(func(t *testing.T, b []byte) {
		// Arbitrary bytes never panic the decoder (y-websocket's side).
		_, _ = decodePermissionDenied(b)
		// Every reason the server could send round-trips.
		if !utf8.Valid(b) {
			return
		}
		got, err := decodePermissionDenied(encodePermissionDenied(string(b)))
		if err != nil || got != string(b) {
			t.Fatalf("reason %q decodes as %q, %v", b, got, err)
		}
	})
}

// FuzzHandleMessage feeds arbitrary messages to a connection's handler over
// a loaded room: nothing panics, every refusal is a close of that
// connection (never a failure of the room), and a refused message leaves
// the document unchanged. Messages accumulate in one document, as they
// would from a client.
func FuzzHandleMessage(f *testing.F) {
	f.Add([]byte{messageSync, syncStep1, 0})
	f.Add([]byte{messageQueryAwareness})
	f.Add(awarenessMessage(awarenessEntry{client: 7, clock: 1, state: `{"cursor":3}`}))
	f.Add([]byte{messageSync, syncStep2, 2, 0, 0})
	for _, u := range goldenUpdates(f) {
		f.Add(encodeSync(syncUpdate, u))
		f.Add(encodeSync(syncStep2, u[:len(u)/2]))
	}
	srv, err := NewServer(Options{Store: memory.New()})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		if err := srv.Shutdown(context.Background()); err != nil {
			f.Error(err)
		}
	})
	r := newRoom(srv, "fuzz")
	r.load(context.Background())
	if r.loadErr != nil {
		f.Fatal(r.loadErr)
	}
	// A member whose sends are dropped: it is closing, so nothing is
	// queued to a socket; the room's logic runs in full.
	c := newConn(srv, "fuzz", 0, "")
	c.grant = openGrant
	c.closing.Store(true)
	r.members[c] = struct{}{}
	c.room = r

	state := func() []byte {
		s, err := r.state()
		if err != nil {
			panic(err)
		}
		return s
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		before := state()
		err := c.dispatch(r, b)
		if err == nil {
			return
		}
		var ce *closeError
		if !errors.As(err, &ce) {
			t.Fatalf("a client's message failed the room: %v", err)
		}
		if after := state(); !bytes.Equal(before, after) {
			t.Fatalf("refused message (%v) changed the document", err)
		}
	})
}

// encodeSync encodes the sync message [messageSync, sub, varbytes payload]
// with lib0, as a client does: the tests' reference for what the server's
// syncFrame holds, and how they build a client's messages.
func encodeSync(sub uint64, payload []byte) []byte {
	e := lib0.NewEncoder(len(payload) + 12)
	e.WriteVarUint(messageSync)
	e.WriteVarUint(sub)
	e.WriteVarBytes(payload)
	return e.Bytes()
}
