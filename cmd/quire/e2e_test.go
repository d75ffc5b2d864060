package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/quirehq/quire/crdt"
)

// buildQuire compiles the command into a temporary directory.
func buildQuire(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("the go tool is not in PATH, cannot build the binary: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "quire")
	cmd := exec.Command(goTool, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// goldenExpected is the part of a golden case's expected.json (written by
// scripts/yjs/golden.mjs with yjs) that inspect can be checked against.
type goldenExpected struct {
	Description string         `json:"description"`
	Roots       map[string]any `json:"roots"`
	// StateVector is computed from the update itself; DocStateVector from
	// a document that loaded it (they differ when content stays pending).
	StateVector    string `json:"stateVector"`
	DocStateVector string `json:"docStateVector"`
}

// emptyCanon reports whether a canonical root value shows no content.
func emptyCanon(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	for _, k := range []string{"items", "delta", "children"} {
		if l, ok := m[k].([]any); ok && len(l) > 0 {
			return false
		}
	}
	if e, ok := m["entries"].(map[string]any); ok && len(e) > 0 {
		return false
	}
	s, _ := m["string"].(string)
	return s == ""
}

func decodeSV(t *testing.T, b64 string) map[string]any {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := crdt.DecodeStateVector(raw)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	for c, clock := range sv {
		out[strconv.FormatUint(c, 10)] = float64(clock)
	}
	return out
}

// TestEndToEndGolden runs the built binary on every golden update made by
// yjs (testdata/crdt/golden/<case>/update.bin) and checks its output
// against expected.json:
//
//   - "bytes" is the file size and "stateVector" is the state vector of
//     the document yjs loaded the update into;
//   - "pending" is set whenever that differs from the update's own state
//     vector (content that cannot be integrated);
//   - every root of expected.json is in "roots" with exactly the same
//     canonical JSON, and there are no other roots.
//
// The one exception is principled, not a list: updates do not record the
// kind of a root type (Yjs's loader is told it by getText, getMap, ...), so
// inspect infers kinds from content, and a root showing no content at all
// cannot be named. Such roots must be absent, and expected.json must show
// them empty; every one is logged.
func TestEndToEndGolden(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "crdt", "golden", "*"))
	var cases []string
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "update.bin")); err == nil {
			cases = append(cases, d)
		}
	}
	if len(cases) == 0 {
		t.Skip("no golden updates in testdata/crdt/golden (generate them with scripts/yjs/golden.mjs)")
	}
	bin := buildQuire(t)
	compared, excused := 0, 0
	for _, dir := range cases {
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, "expected.json"))
			if err != nil {
				t.Fatal(err)
			}
			var want goldenExpected
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatalf("expected.json: %v", err)
			}
			update := filepath.Join(dir, "update.bin")
			info, err := os.Stat(update)
			if err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			cmd := exec.Command(bin, "update", "inspect", update)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("quire update inspect: %v\n%s", err, stderr.String())
			}
			var got struct {
				Roots       map[string]any `json:"roots"`
				StateVector map[string]any `json:"stateVector"`
				Bytes       int64          `json:"bytes"`
				Pending     bool           `json:"pending"`
			}
			if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
				t.Fatalf("output is not JSON: %v", err)
			}
			if got.Bytes != info.Size() {
				t.Errorf("bytes = %d, want %d", got.Bytes, info.Size())
			}
			docSV := decodeSV(t, want.DocStateVector)
			if !reflect.DeepEqual(got.StateVector, docSV) {
				t.Errorf("stateVector = %v, yjs's document has %v", got.StateVector, docSV)
			}
			if !reflect.DeepEqual(decodeSV(t, want.StateVector), docSV) && !got.Pending {
				t.Errorf("pending = false, but the update carries content beyond the loaded state")
			}
			for root, wantV := range want.Roots {
				gotV, ok := got.Roots[root]
				if !ok {
					if !emptyCanon(wantV) {
						t.Errorf("root %q missing from the output, though yjs shows content in it:\n%v", root, wantV)
						continue
					}
					excused++
					t.Logf("root %q: not in the output because it shows no content, so its kind cannot be inferred", root)
					continue
				}
				compared++
				if !reflect.DeepEqual(gotV, wantV) {
					g, _ := json.MarshalIndent(gotV, "", "  ")
					w, _ := json.MarshalIndent(wantV, "", "  ")
					t.Errorf("root %q differs from yjs:\ngot  %s\nwant %s", root, g, w)
				}
			}
			for root := range got.Roots {
				if _, ok := want.Roots[root]; !ok {
					t.Errorf("output has root %q, which expected.json does not list", root)
				}
			}
		})
	}
	t.Logf("%d golden cases: %d roots compared, %d empty roots not nameable", len(cases), compared, excused)
	if compared == 0 {
		t.Errorf("no root was compared")
	}
}
