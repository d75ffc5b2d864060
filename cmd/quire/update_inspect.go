package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/quirehq/quire/crdt"
	"github.com/quirehq/quire/crdt/crdtjson"
)

const inspectUsage = `Usage: quire update inspect [--pretty] FILE

Inspect reads a Yjs update (format v1) from FILE, or from standard input
when FILE is "-", applies it to an empty document and prints a JSON object:

	roots        the content of every root whose kind the update reveals,
	             in canonical JSON (see package crdt/crdtjson); roots that
	             hold no live content cannot be named and are left out
	stateVector  the document's state vector, {"<client>": <clock>}
	bytes        the size of the update in bytes
	pending      whether the update depends on content it does not carry

A malformed update is an error naming the problem and its byte offset.

Flags:
`

// inspectResult is what `quire update inspect` prints.
type inspectResult struct {
	Roots       map[string]any    `json:"roots"`
	StateVector map[string]uint64 `json:"stateVector"`
	Bytes       int               `json:"bytes"`
	Pending     bool              `json:"pending"`
}

func runUpdateInspect(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("quire update inspect", flag.ContinueOnError)
	pretty := fs.Bool("pretty", false, "indent the JSON output")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), inspectUsage)
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, m, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("update inspect: want exactly one FILE (or - for standard input), got %d arguments", len(pos))
	}
	name := pos[0]
	update, err := readInput(m, name)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	res, err := inspect(update)
	if err != nil {
		if name == "-" {
			name = "standard input"
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	m.Logger.DebugContext(ctx, "inspected update", "file", name, "bytes", res.Bytes, "roots", len(res.Roots), "pending", res.Pending)
	enc := json.NewEncoder(m.Stdout)
	enc.SetEscapeHTML(false)
	if *pretty {
		enc.SetIndent("", "  ")
	}
	return enc.Encode(res)
}

func readInput(m *Main, name string) ([]byte, error) {
	if name == "-" {
		b, err := io.ReadAll(m.Stdin)
		if err != nil {
			return nil, fmt.Errorf("reading standard input: %w", err)
		}
		return b, nil
	}
	return os.ReadFile(name)
}

// inspect applies update to a fresh document and describes the result.
// Garbage collection stays on: it changes what is kept of deleted content,
// never what is visible.
func inspect(update []byte) (*inspectResult, error) {
	d := crdt.NewDoc(crdt.Options{})
	if err := d.ApplyUpdate(update, nil); err != nil {
		return nil, err
	}
	sv := make(map[string]uint64)
	for client, clock := range d.StateVector() {
		sv[strconv.FormatUint(client, 10)] = clock
	}
	return &inspectResult{
		Roots:       crdtjson.Doc(d),
		StateVector: sv,
		Bytes:       len(update),
		Pending:     d.HasPending(),
	}, nil
}
