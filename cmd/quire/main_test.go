package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/quirehq/quire/crdt"
)

// run executes quire with args against in-memory streams and returns what
// it wrote and the exit status main would use.
func run(t *testing.T, stdin []byte, args ...string) (stdout, stderr string, code int, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	m := &Main{Stdin: bytes.NewReader(stdin), Stdout: &out, Stderr: &errOut}
	err = m.Run(context.Background(), args)
	code = exitCode(&errOut, err)
	return out.String(), errOut.String(), code, err
}

func writeFile(t *testing.T, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "update.bin")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// sampleUpdates returns a full update of a small document (client 5) and an
// incremental update of it that cannot be applied on its own.
func sampleUpdates(t *testing.T) (full, increment []byte) {
	t.Helper()
	d := crdt.NewDoc(crdt.Options{ClientID: 5})
	var updates [][]byte
	d.OnUpdate(func(u []byte, _ any) { updates = append(updates, u) })
	txt, err := d.Text("notes")
	if err != nil {
		t.Fatal(err)
	}
	m, err := d.Map("meta")
	if err != nil {
		t.Fatal(err)
	}
	d.Transact(nil, func(txn *crdt.Transaction) {
		if err := txt.Insert(txn, 0, "hi <there> & ünïcode", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Set(txn, "n", 1.5); err != nil {
			t.Fatal(err)
		}
	})
	d.Transact(nil, func(txn *crdt.Transaction) {
		if err := txt.Insert(txn, 2, "!", crdt.Attrs{{Key: "bold", Value: true}}); err != nil {
			t.Fatal(err)
		}
	})
	return d.EncodeStateAsUpdate(), updates[1]
}

const sampleRoots = `{
	"notes": {"$type":"text","string":"hi! <there> & ünïcode","delta":[
		{"insert":"hi"},{"insert":"!","attributes":{"bold":true}},{"insert":" <there> & ünïcode"}]},
	"meta": {"$type":"map","entries":{"n":1.5}}}`

func decodeJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, s)
	}
	return v
}

func TestInspect(t *testing.T) {
	full, _ := sampleUpdates(t)
	path := writeFile(t, full)
	stdout, stderr, code, err := run(t, nil, "update", "inspect", path)
	if err != nil || code != 0 || stderr != "" {
		t.Fatalf("inspect: %v (exit %d) stderr=%q", err, code, stderr)
	}
	if strings.Count(stdout, "\n") != 1 || !strings.HasSuffix(stdout, "}\n") {
		t.Errorf("want one line of JSON, got %q", stdout)
	}
	if !strings.Contains(stdout, "<there> & ") {
		t.Errorf("output escapes HTML characters: %s", stdout)
	}
	got := decodeJSON(t, stdout)
	want := decodeJSON(t, `{"roots":`+sampleRoots+`,"stateVector":{"5":24},"bytes":`+itoa(len(full))+`,"pending":false}`)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("inspect printed\n%s\nwant\n%v", stdout, want)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestInspectPretty(t *testing.T) {
	full, _ := sampleUpdates(t)
	path := writeFile(t, full)
	plain, _, _, err := run(t, nil, "update", "inspect", path)
	if err != nil {
		t.Fatal(err)
	}
	// The flag may come before or after FILE, with one dash or two.
	for _, args := range [][]string{
		{"update", "inspect", "--pretty", path},
		{"update", "inspect", path, "-pretty"},
		{"update", "inspect", "--pretty", "--", path},
	} {
		pretty, _, code, err := run(t, nil, args...)
		if err != nil || code != 0 {
			t.Fatalf("%v: %v", args, err)
		}
		if !strings.Contains(pretty, "\n  \"roots\": {\n") {
			t.Errorf("%v: output is not indented:\n%s", args, pretty)
		}
		if !reflect.DeepEqual(decodeJSON(t, pretty), decodeJSON(t, plain)) {
			t.Errorf("%v: pretty and plain output differ", args)
		}
	}
}

func TestInspectStdin(t *testing.T) {
	full, _ := sampleUpdates(t)
	stdout, _, code, err := run(t, full, "update", "inspect", "-")
	if err != nil || code != 0 {
		t.Fatalf("inspect -: %v", err)
	}
	if got := decodeJSON(t, stdout)["bytes"]; got != float64(len(full)) {
		t.Errorf("bytes = %v, want %d", got, len(full))
	}
}

// TestInspectPending: an update whose content depends on structs it does
// not carry shows nothing but reports that it is pending.
func TestInspectPending(t *testing.T) {
	_, inc := sampleUpdates(t)
	stdout, _, code, err := run(t, nil, "update", "inspect", writeFile(t, inc))
	if err != nil || code != 0 {
		t.Fatalf("inspect: %v", err)
	}
	want := decodeJSON(t, `{"roots":{},"stateVector":{},"bytes":`+itoa(len(inc))+`,"pending":true}`)
	if got := decodeJSON(t, stdout); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %s, want %v", stdout, want)
	}
}

func TestInspectMalformed(t *testing.T) {
	full, _ := sampleUpdates(t)
	for _, tc := range []struct {
		name string
		in   []byte
		want string // in the message
	}{
		{"truncated", full[:len(full)/2], "at byte"},
		{"empty file", nil, "at byte 0"},
		{"garbage", []byte("this is not an update"), "malformed update"},
		{"trailing struct count", []byte{0x05}, "length exceeds remaining input"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, tc.in)
			stdout, stderr, code, err := run(t, nil, "update", "inspect", path)
			if !errors.Is(err, crdt.ErrMalformedUpdate) {
				t.Fatalf("err = %v; want ErrMalformedUpdate", err)
			}
			if code != 1 {
				t.Errorf("exit status %d, want 1", code)
			}
			if stdout != "" {
				t.Errorf("printed output for a malformed update: %q", stdout)
			}
			msg := strings.TrimSpace(stderr)
			if !strings.HasPrefix(msg, "quire: "+path+": ") || !strings.Contains(msg, tc.want) || strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr = %q; want one line naming the file and containing %q", stderr, tc.want)
			}
		})
	}
	t.Run("stdin", func(t *testing.T) {
		_, stderr, code, err := run(t, []byte{0xff}, "update", "inspect", "-")
		if !errors.Is(err, crdt.ErrMalformedUpdate) || code != 1 || !strings.HasPrefix(stderr, "quire: standard input: ") {
			t.Fatalf("err=%v code=%d stderr=%q", err, code, stderr)
		}
	})
}

func TestInspectMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.bin")
	_, stderr, code, err := run(t, nil, "update", "inspect", path)
	if !errors.Is(err, fs.ErrNotExist) || code != 1 {
		t.Fatalf("err=%v code=%d; want a not-exist error and status 1", err, code)
	}
	if !strings.Contains(stderr, path) {
		t.Errorf("stderr %q does not name the file", stderr)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestInspectStdinError(t *testing.T) {
	var out, errOut bytes.Buffer
	m := &Main{Stdin: failingReader{}, Stdout: &out, Stderr: &errOut}
	err := m.Run(context.Background(), []string{"update", "inspect", "-"})
	if err == nil || !strings.Contains(err.Error(), "disk on fire") || exitCode(io.Discard, err) != 1 {
		t.Fatalf("err = %v", err)
	}
}

func TestInspectCanceled(t *testing.T) {
	full, _ := sampleUpdates(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m := &Main{Stdin: bytes.NewReader(nil), Stdout: io.Discard, Stderr: io.Discard}
	if err := m.Run(ctx, []string{"update", "inspect", writeFile(t, full)}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v; want context.Canceled", err)
	}
}

func TestUsageErrors(t *testing.T) {
	path := writeFile(t, []byte{0, 0})
	for _, tc := range []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"no update command", []string{"update"}, "update: no command given"},
		{"unknown update command", []string{"update", "squash"}, `update: unknown command "squash"`},
		{"no file", []string{"update", "inspect"}, "want exactly one FILE"},
		{"two files", []string{"update", "inspect", path, path}, "got 2 arguments"},
		{"bad flag", []string{"update", "inspect", "--nope", path}, "flag provided but not defined: -nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code, err := run(t, nil, tc.args...)
			if !errors.Is(err, ErrUsage) || code != 2 {
				t.Fatalf("err=%v code=%d; want a usage error and status 2", err, code)
			}
			if !strings.Contains(stderr, tc.want) || strings.Count(stderr, "quire: ") != 1 {
				t.Errorf("stderr = %q; want one message containing %q", stderr, tc.want)
			}
			if stdout != "" {
				t.Errorf("stdout = %q", stdout)
			}
		})
	}
	// `quire help` lists the commands (`quire` alone runs the server).
	stdout, _, _, _ := run(t, nil, "help")
	if !strings.Contains(stdout, "Commands:") || !strings.Contains(stdout, "serve") || !strings.Contains(stdout, "update") {
		t.Errorf("help does not list the commands:\n%s", stdout)
	}
}

func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"help"}, "update  work with Yjs updates"},
		{[]string{"-h"}, "Commands:"},
		{[]string{"--help"}, "Commands:"},
		{[]string{"help", "update"}, "inspect  decode a v1 update"},
		{[]string{"update", "help"}, "inspect  decode a v1 update"},
		{[]string{"help", "update", "inspect"}, "Usage: quire update inspect [--pretty] FILE"},
		{[]string{"update", "inspect", "-h"}, "-pretty"},
		{[]string{"serve", "-h"}, "-hibernate-after"},
		{[]string{"serve", "-h"}, "QUIRE_SEND_QUEUE_BYTES"},
		{[]string{"serve", "-h"}, "QUIRE_MAX_BROADCAST_WINDOW"},
	} {
		stdout, stderr, code, err := run(t, nil, tc.args...)
		if code != 0 || stderr != "" {
			t.Errorf("%v: err=%v code=%d stderr=%q", tc.args, err, code, stderr)
		}
		if !strings.Contains(stdout, tc.want) {
			t.Errorf("%v: stdout lacks %q:\n%s", tc.args, tc.want, stdout)
		}
	}
}

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
		msg  string
	}{
		{nil, 0, ""},
		{errHelpShown, 0, ""},
		{usagef("bad"), 2, "quire: bad\n"},
		{errors.New("boom"), 1, "quire: boom\n"},
	} {
		var buf bytes.Buffer
		if got := exitCode(&buf, tc.err); got != tc.code || buf.String() != tc.msg {
			t.Errorf("exitCode(%v) = %d, %q; want %d, %q", tc.err, got, buf.String(), tc.code, tc.msg)
		}
	}
}
