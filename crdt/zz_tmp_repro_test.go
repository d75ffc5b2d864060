package crdt

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// TEMPORARY (not to be committed).
func TestZZRepro(t *testing.T) {
	f := os.Getenv("TW_REPRO")
	if f == "" {
		t.Skip()
	}
	raw, _ := os.ReadFile(f)
	var r struct {
		Client  uint64
		GC      bool
		State   string
		Upd     string
		Cleanup []string
		After   string
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	st, _ := base64.StdEncoding.DecodeString(r.State)
	up, _ := base64.StdEncoding.DecodeString(r.Upd)
	d := NewDoc(Options{ClientID: r.Client, KeepDeleted: !r.GC})
	if err := d.ApplyUpdate(st, nil); err != nil {
		t.Fatal(err)
	}
	d.clientID = r.Client
	if os.Getenv("TW_DUMP") != "" {
		fmt.Println(dumpTexts(d))
	}
	var ups []string
	d.OnUpdate(func(u []byte, _ any) { ups = append(ups, hex.EncodeToString(u)) })
	if err := d.ApplyUpdate(up, nil); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("TW_DUMP") != "" {
		fmt.Println(dumpTexts(d))
	}
	if len(ups) > 0 {
		ups = ups[1:]
	}
	if strings.Join(ups, ",") != strings.Join(r.Cleanup, ",") {
		t.Errorf("cleanup updates differ\ngot  %v\nwant %v", ups, r.Cleanup)
	}
	want, _ := hex.DecodeString(r.After)
	if got := d.EncodeStateAsUpdate(); !bytes.Equal(got, want) {
		t.Errorf("state differs\ngot  %x\nwant %x", got, want)
	}
}

func dumpTexts(d *Doc) string {
	var sb strings.Builder
	var walk func(b *branch, path string)
	walk = func(b *branch, path string) {
		if b.kind == KindText || b.kind == KindXmlText {
			fmt.Fprintf(&sb, "%s (fmt=%v):\n", path, b.hasFormatting)
			for n := b.start; n != nil; n = n.right {
				del := " "
				if n.deleted() {
					del = "D"
				}
				fmt.Fprintf(&sb, "  %s %d:%d len=%d ", del, n.id.Client, n.id.Clock, n.length)
				switch c := n.content.(type) {
				case *contentString:
					fmt.Fprintf(&sb, "%q", c.s)
				case *contentFormat:
					fmt.Fprintf(&sb, "[%s=%s]", c.key, c.raw)
				default:
					fmt.Fprintf(&sb, "%T", c)
				}
				sb.WriteString("\n")
			}
		}
		i := 0
		for n := b.start; n != nil; n = n.right {
			if ct, ok := n.content.(*contentType); ok && !n.deleted() {
				walk(ct.b, fmt.Sprintf("%s/%d", path, i))
			}
			if n.visible() {
				i++
			}
		}
	}
	for name, b := range d.roots {
		walk(b, name)
	}
	return sb.String()
}
