package loadtest

import (
	_ "embed"
	"errors"
	"fmt"
	gosync "sync"

	"github.com/quirehq/quire/crdt/lib0"
)

//go:embed testdata/typing.bin
var typingFixture []byte

//go:embed testdata/doc20k.bin
var docFixture []byte

// ErrFixture is returned when an embedded fixture does not decode: the
// binary was built from a damaged file.
var ErrFixture = errors.New("loadtest: bad fixture")

// stream is the typing of one Yjs client: its updates in order, and after
// each the clock its text has reached.
type stream struct {
	client  uint64
	updates [][]byte
	ends    []uint64 // ends[k]: the client's clock once updates[0..k] are applied
}

type fixtures struct {
	streams  []stream
	byClient map[uint64]int // client ID → stream index
	doc      []byte         // a ~20 KB document
	docEnd   clockRange     // the document's client and clock
}

var (
	loadOnce   gosync.Once
	loaded     *fixtures
	loadFailed error
)

// loadFixtures decodes the embedded fixtures once.
func loadFixtures() (*fixtures, error) {
	loadOnce.Do(func() { loaded, loadFailed = decodeFixtures(typingFixture, docFixture) })
	return loaded, loadFailed
}

func decodeFixtures(typing, doc []byte) (*fixtures, error) {
	d := lib0.NewDecoder(typing)
	n, err := d.ReadVarUint()
	if err != nil || n == 0 || n > 1024 {
		return nil, fmt.Errorf("%w: typing stream count", ErrFixture)
	}
	f := &fixtures{byClient: make(map[uint64]int), doc: doc}
	for i := range int(n) {
		client, err1 := d.ReadVarUint()
		count, err2 := d.ReadVarUint()
		if err := errors.Join(err1, err2); err != nil || count > uint64(d.Remaining()) {
			return nil, fmt.Errorf("%w: typing stream %d header", ErrFixture, i)
		}
		s := stream{client: client}
		for k := range int(count) {
			u, err := d.ReadVarBytes()
			if err != nil {
				return nil, fmt.Errorf("%w: stream %d update %d: %w", ErrFixture, i, k, err)
			}
			ranges, err := clockEnds(u)
			if err != nil || len(ranges) != 1 || ranges[0].client != client {
				return nil, fmt.Errorf("%w: stream %d update %d is not one client's typing (%v)", ErrFixture, i, k, err)
			}
			s.updates = append(s.updates, u)
			s.ends = append(s.ends, ranges[0].end)
		}
		f.byClient[client] = len(f.streams)
		f.streams = append(f.streams, s)
	}
	ranges, err := clockEnds(doc)
	if err != nil || len(ranges) != 1 {
		return nil, fmt.Errorf("%w: document: %v", ErrFixture, err)
	}
	f.docEnd = ranges[0]
	return f, nil
}
