package crdt

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/quirehq/quire/crdt/lib0"
)

// reencode decodes a v1 update and writes it back struct by struct.
func reencode(t *testing.T, update []byte) []byte {
	t.Helper()
	u, err := decodeUpdate(update)
	if err != nil {
		t.Fatal(err)
	}
	e := lib0.NewEncoder(len(update))
	clients := sortedClientsDesc(u.structs)
	e.WriteVarUint(uint64(len(clients)))
	for _, client := range clients {
		structs := u.structs[client]
		e.WriteVarUint(uint64(len(structs)))
		e.WriteVarUint(client)
		e.WriteVarUint(structs[0].startClock())
		for _, st := range structs {
			st.write(e, 0, nil)
		}
	}
	u.ds.write(e)
	return e.Bytes()
}

// TestGoldenCodecRoundTrip: every update Yjs produced decodes and
// re-encodes byte for byte, without going through a document.
func TestGoldenCodecRoundTrip(t *testing.T) {
	paths, _ := filepath.Glob("../testdata/crdt/golden/*/update.bin")
	if len(paths) == 0 {
		t.Fatal("no golden vectors")
	}
	for _, p := range paths {
		t.Run(filepath.Base(filepath.Dir(p)), func(t *testing.T) {
			update, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if got := reencode(t, update); !bytes.Equal(got, update) {
				t.Fatalf("re-encoded update differs\ngot  %x\nwant %x", got, update)
			}
		})
	}
}
