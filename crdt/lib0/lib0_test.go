package lib0_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/quirehq/quire/crdt/lib0"
)

// The byte vectors in this file were produced with the lib0 JavaScript
// package that yjs 13.6.33 depends on (node_modules/lib0, encoding.js).

const maxSafeInteger = 1<<53 - 1

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// ---------------------------------------------------------------- var-uint

func TestVarUintVectors(t *testing.T) {
	for _, tc := range []struct {
		v   uint64
		hex string
	}{
		{0, "00"},
		{127, "7f"},
		{128, "8001"},
		{16383, "ff7f"},
		{16384, "808001"},
		{1 << 32, "8080808010"},
		{maxSafeInteger, "ffffffffffffff0f"},
	} {
		e := lib0.NewEncoder(0)
		e.WriteVarUint(tc.v)
		if got := hex.EncodeToString(e.Bytes()); got != tc.hex {
			t.Errorf("WriteVarUint(%d) = %s, lib0 writes %s", tc.v, got, tc.hex)
		}
		d := lib0.NewDecoder(unhex(t, tc.hex))
		got, err := d.ReadVarUint()
		if err != nil || got != tc.v || d.Remaining() != 0 {
			t.Errorf("ReadVarUint(%s) = %d, %v (remaining %d); want %d", tc.hex, got, err, d.Remaining(), tc.v)
		}
	}
}

func TestVarUintRoundTrip(t *testing.T) {
	vals := []uint64{0, 1, 63, 64, 127, 128, 255, 256, 1<<14 - 1, 1 << 14, 1<<21 - 1, 1 << 21,
		1<<28 - 1, 1 << 28, 1<<31 - 1, 1 << 31, 1<<32 - 1, 1 << 32, 1<<49 - 1, 1 << 49, maxSafeInteger - 1, maxSafeInteger}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 10000; i++ {
		vals = append(vals, rng.Uint64N(maxSafeInteger+1)>>rng.UintN(53))
	}
	e := lib0.NewEncoder(0)
	for _, v := range vals {
		e.WriteVarUint(v)
	}
	d := lib0.NewDecoder(e.Bytes())
	for _, want := range vals {
		got, err := d.ReadVarUint()
		if err != nil || got != want {
			t.Fatalf("round trip of %d: got %d, %v", want, got, err)
		}
	}
	if d.Remaining() != 0 {
		t.Fatalf("%d bytes left over", d.Remaining())
	}
}

func TestVarUintRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, lib0.ErrUnexpectedEOF},
		{"truncated", []byte{0x80}, lib0.ErrUnexpectedEOF},
		{"truncated long", []byte{0xff, 0xff, 0xff}, lib0.ErrUnexpectedEOF},
		{"2^53", encVarUint(1 << 53), lib0.ErrOverflow},
		{"2^56-1", encVarUint(1<<56 - 1), lib0.ErrOverflow},
		{"overlong 10 bytes", []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, lib0.ErrOverflow},
		{"endless continuation", bytes.Repeat([]byte{0xff}, 1000), lib0.ErrOverflow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := lib0.NewDecoder(tc.in).ReadVarUint()
			if !errors.Is(err, tc.want) {
				t.Fatalf("ReadVarUint(%x) = %d, %v; want %v", tc.in, v, err, tc.want)
			}
		})
	}
}

// TestVarUintShortForms checks one- and two-byte integers, which
// ReadVarUint decodes without a call, against the general decoder: at the
// end of the input, and in non-minimal forms that lib0 also accepts.
func TestVarUintShortForms(t *testing.T) {
	for _, tc := range []struct {
		hex  string
		want uint64
		n    int // bytes consumed
	}{
		{"05", 5, 1}, {"0501", 5, 1}, {"8501", 133, 2}, {"850107", 133, 2},
		{"8000", 0, 2}, {"ff00", 127, 2}, {"80808000", 0, 4}, {"ff7fff", 16383, 2},
	} {
		d := lib0.NewDecoder(unhex(t, tc.hex))
		got, err := d.ReadVarUint()
		if err != nil || got != tc.want || d.Pos() != tc.n {
			t.Errorf("ReadVarUint(%s) = %d, %v after %d bytes; want %d after %d", tc.hex, got, err, d.Pos(), tc.want, tc.n)
		}
	}
}

func TestSkipPrefix(t *testing.T) {
	in := append(encVarUint(3000000000), encVarUint(7)...)
	d := lib0.NewDecoder(in)
	v, raw, err := d.ReadVarUintBytes()
	if err != nil || v != 3000000000 || !bytes.Equal(raw, in[:5]) {
		t.Fatalf("ReadVarUintBytes = %d, %x, %v", v, raw, err)
	}
	d = lib0.NewDecoder(in)
	if d.SkipPrefix(nil) || d.SkipPrefix(in[1:3]) || d.SkipPrefix(append(slicesClone(in), 0)) || d.Pos() != 0 {
		t.Fatalf("SkipPrefix matched what is not a prefix (pos %d)", d.Pos())
	}
	if !d.SkipPrefix(raw) || d.Pos() != 5 {
		t.Fatalf("SkipPrefix(%x) did not skip it", raw)
	}
	if got, err := d.ReadVarUint(); err != nil || got != 7 {
		t.Fatalf("after SkipPrefix: %d, %v", got, err)
	}
}

// SkipWord is SkipPrefix with the prefix as a word: the same answers, with
// eight bytes of input or more and near the end (a byte loop there).
func TestSkipWord(t *testing.T) {
	raw := encVarUint(3000000000)
	w, ok := lib0.PrefixWord(raw)
	if !ok {
		t.Fatalf("PrefixWord(%x) refused", raw)
	}
	if _, ok := lib0.PrefixWord(nil); ok {
		t.Fatal("PrefixWord(nil) accepted")
	}
	if _, ok := lib0.PrefixWord(make([]byte, 9)); ok {
		t.Fatal("PrefixWord of nine bytes accepted")
	}
	for _, tail := range [][]byte{encVarUint(7), append(encVarUint(7), 1, 2, 3, 4, 5)} {
		in := append(slicesClone(raw), tail...)
		other := slicesClone(in)
		other[4]++ // the prefix's last byte differs
		d := lib0.NewDecoder(other)
		if d.SkipWord(w, len(raw)) || d.Pos() != 0 {
			t.Fatalf("SkipWord matched %x in %x", raw, other)
		}
		if d := lib0.NewDecoder(in[:4]); d.SkipWord(w, len(raw)) || d.Pos() != 0 {
			t.Fatalf("SkipWord matched %x in the shorter %x", raw, in[:4])
		}
		d = lib0.NewDecoder(in)
		if d.SkipWord(w, 0) || d.SkipWord(w, 9) || d.Pos() != 0 {
			t.Fatal("SkipWord took a length outside 1..8")
		}
		if !d.SkipWord(w, len(raw)) || d.Pos() != len(raw) {
			t.Fatalf("SkipWord(%x) did not skip it in %x", raw, in)
		}
		if got, err := d.ReadVarUint(); err != nil || got != 7 {
			t.Fatalf("after SkipWord: %d, %v", got, err)
		}
	}
}

// ReadVarUintAfter answers as SkipWord followed by ReadVarUint
// whenever it reports true, and reads nothing when it reports false; it
// takes the common case (expected prefix, integer within the word) at
// least; SkipWordPrefix answers as SkipWord. Randomized over prefixes of 1
// to 8 bytes, integers of every
// length, other prefixes, truncated and trailing input.
func TestReadVarUintAfter(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	taken, short := 0, 0
	for range 200000 {
		client := rng.Uint64N(1 << (1 + rng.IntN(53)))
		raw := encVarUint(client)
		w, _ := lib0.PrefixWord(raw)
		prefix := lib0.NewWordPrefix(raw)
		in := encVarUint(client)
		if rng.IntN(4) == 0 {
			in = encVarUint(rng.Uint64N(1 << 53)) // another client
		}
		in = append(in, encVarUint(rng.Uint64N(1<<(1+rng.IntN(53))))...)
		for range rng.IntN(10) {
			in = append(in, byte(rng.Uint32()))
		}
		if rng.IntN(8) == 0 {
			in = in[:rng.IntN(len(in)+1)]
		}
		if a, b := lib0.NewDecoder(in).SkipWordPrefix(&prefix), lib0.NewDecoder(in).SkipWord(w, len(raw)); a != b {
			t.Fatalf("%x after %x: SkipWordPrefix %v, SkipWord %v", in, raw, a, b)
		}
		ref := lib0.NewDecoder(in)
		refOK := ref.SkipWord(w, len(raw))
		want, err := ref.ReadVarUint()
		refOK = refOK && err == nil
		if len(in) >= len(raw)+8 {
			// Matches and VarUint3, as a decoding loop uses them: the same
			// answer for integers of up to three bytes after the prefix,
			// and a refusal for the rest.
			v, n, ok := lib0.VarUint3(binary.LittleEndian.Uint64(in[len(raw):]))
			ok = ok && prefix.Matches(binary.LittleEndian.Uint64(in))
			fits := refOK && ref.Pos()-len(raw) <= 3
			if ok != fits || ok && (v != want || len(raw)+n != ref.Pos()) {
				t.Fatalf("%x after %x: Matches and VarUint3 %d, %d, %v; want %d, %d, %v", in, raw, v, n, ok, want, ref.Pos(), fits)
			}
			if ok {
				short++
			}
		}
		d := lib0.NewDecoder(in)
		got, ok := d.ReadVarUintAfter(&prefix)
		if !ok {
			if d.Pos() != 0 {
				t.Fatalf("%x after %x: refused but read %d bytes", in, raw, d.Pos())
			}
			continue
		}
		taken++
		if !refOK || got != want || d.Pos() != ref.Pos() {
			t.Fatalf("%x after %x: got %d at %d, want %d at %d (%v)", in, raw, got, d.Pos(), want, ref.Pos(), err)
		}
	}
	if taken < 50000 || short < 10000 {
		t.Fatalf("only %d and %d of 200,000 inputs took the one-word paths", taken, short)
	}
}

// VarUintWord answers as ReadVarUint for every integer that ends within
// the word's first seven bytes and refuses the rest.
func TestVarUintWord(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	for range 100000 {
		in := encVarUint(rng.Uint64N(1 << (1 + rng.IntN(53))))
		if rng.IntN(10) == 0 {
			in = []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 1} // too long
		}
		for len(in) < 8 || rng.IntN(3) == 0 {
			in = append(in, byte(rng.Uint32()))
		}
		ref := lib0.NewDecoder(in)
		want, err := ref.ReadVarUint()
		fits := err == nil && ref.Pos() <= 7
		v, n, ok := lib0.VarUintWord(in)
		if ok != fits || ok && (v != want || n != ref.Pos()) {
			t.Fatalf("%x: VarUintWord %d, %d, %v; want %d, %d, %v", in, v, n, ok, want, ref.Pos(), fits)
		}
	}
}

func slicesClone(b []byte) []byte { return append([]byte(nil), b...) }

func encVarUint(v uint64) []byte {
	e := lib0.NewEncoder(0)
	e.WriteVarUint(v)
	return e.Bytes()
}

// ---------------------------------------------------------------- var-int

func TestVarIntVectors(t *testing.T) {
	for _, tc := range []struct {
		v   int64
		hex string
	}{
		{0, "00"},
		{63, "3f"},
		{64, "8001"},
		{-63, "7f"},
		{-64, "c001"},
		{8191, "bf7f"},
		{8192, "808001"},
		{1 << 31, "8080808010"},
		{-(1 << 31), "c080808010"},
		{maxSafeInteger, "bfffffffffffff1f"},
		{-maxSafeInteger, "ffffffffffffff1f"},
	} {
		e := lib0.NewEncoder(0)
		e.WriteVarInt(tc.v)
		if got := hex.EncodeToString(e.Bytes()); got != tc.hex {
			t.Errorf("WriteVarInt(%d) = %s, lib0 writes %s", tc.v, got, tc.hex)
		}
		d := lib0.NewDecoder(unhex(t, tc.hex))
		got, neg, err := d.ReadVarInt()
		if err != nil || got != tc.v || neg != (tc.v < 0) || d.Remaining() != 0 {
			t.Errorf("ReadVarInt(%s) = %d, %v, %v; want %d", tc.hex, got, neg, err, tc.v)
		}
	}
}

// TestVarIntNegativeZero: lib0 writes JavaScript's -0 as a var-int with the
// sign bit and a zero magnitude; the decoder must report the sign.
func TestVarIntNegativeZero(t *testing.T) {
	v, neg, err := lib0.NewDecoder([]byte{0x40}).ReadVarInt()
	if err != nil || v != 0 || !neg {
		t.Fatalf("ReadVarInt(40) = %d, %v, %v; want 0, negative", v, neg, err)
	}
	// A padded -0 (continuation with zero bits) is still -0.
	v, neg, err = lib0.NewDecoder([]byte{0xc0, 0x00}).ReadVarInt()
	if err != nil || v != 0 || !neg {
		t.Fatalf("ReadVarInt(c000) = %d, %v, %v; want 0, negative", v, neg, err)
	}
	v, neg, err = lib0.NewDecoder([]byte{0x00}).ReadVarInt()
	if err != nil || v != 0 || neg {
		t.Fatalf("ReadVarInt(00) = %d, %v, %v; want 0, positive", v, neg, err)
	}
}

func TestVarIntRoundTrip(t *testing.T) {
	vals := []int64{0, 1, -1, 63, -63, 64, -64, 8191, -8191, 8192, -8192,
		1<<31 - 1, -(1<<31 - 1), 1 << 31, -(1 << 31), maxSafeInteger, -maxSafeInteger}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 10000; i++ {
		v := int64(rng.Uint64N(maxSafeInteger+1) >> rng.UintN(53))
		if rng.IntN(2) == 0 {
			v = -v
		}
		vals = append(vals, v)
	}
	e := lib0.NewEncoder(0)
	for _, v := range vals {
		e.WriteVarInt(v)
	}
	d := lib0.NewDecoder(e.Bytes())
	for _, want := range vals {
		got, neg, err := d.ReadVarInt()
		if err != nil || got != want || neg != (want < 0) {
			t.Fatalf("round trip of %d: got %d, %v, %v", want, got, neg, err)
		}
	}
}

func TestVarIntRejects(t *testing.T) {
	over := lib0.NewEncoder(0)
	over.WriteVarInt(1 << 53)
	overNeg := lib0.NewEncoder(0)
	overNeg.WriteVarInt(-(1 << 53))
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, lib0.ErrUnexpectedEOF},
		{"truncated", []byte{0x80}, lib0.ErrUnexpectedEOF},
		{"2^53", over.Bytes(), lib0.ErrOverflow},
		{"-2^53", overNeg.Bytes(), lib0.ErrOverflow},
		{"endless continuation", bytes.Repeat([]byte{0xff}, 1000), lib0.ErrOverflow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, _, err := lib0.NewDecoder(tc.in).ReadVarInt()
			if !errors.Is(err, tc.want) {
				t.Fatalf("ReadVarInt(%x) = %d, %v; want %v", tc.in, v, err, tc.want)
			}
		})
	}
}

// ---------------------------------------------------------------- strings

func TestVarStringRoundTrip(t *testing.T) {
	for _, s := range []string{"", "a", "hello world", "\x00", "héllo", "漢字", "😀👍🏽🇩🇪👨‍👩‍👧",
		"\uFEFFbom", "\uFFFD", strings.Repeat("x", 300), strings.Repeat("é", 200)} {
		e := lib0.NewEncoder(0)
		e.WriteVarString(s)
		if want := append(encVarUint(uint64(len(s))), s...); !bytes.Equal(e.Bytes(), want) {
			t.Errorf("WriteVarString(%q) = %x, want %x", s, e.Bytes(), want)
		}
		d := lib0.NewDecoder(e.Bytes())
		got, err := d.ReadVarString()
		if err != nil || got != s || d.Remaining() != 0 {
			t.Errorf("ReadVarString round trip of %q = %q, %v", s, got, err)
		}
	}
}

// whatwgVectors are (input, output) pairs from Node's TextDecoder('utf-8')
// with replacement: every maximal ill-formed subsequence becomes U+FFFD.
var whatwgVectors = []struct{ in, out string }{
	{"80", "efbfbd"},
	{"bf", "efbfbd"},
	{"c0", "efbfbd"},
	{"c1", "efbfbd"},
	{"c0af", "efbfbdefbfbd"},
	{"c280", "c280"},
	{"c2", "efbfbd"},
	{"c241", "efbfbd41"},
	{"e0", "efbfbd"},
	{"e080", "efbfbdefbfbd"},
	{"e0a0", "efbfbd"},
	{"e0a080", "e0a080"},
	{"e09f80", "efbfbdefbfbdefbfbd"},
	{"ed9fbf", "ed9fbf"},
	{"eda080", "efbfbdefbfbdefbfbd"},
	{"edbfbf", "efbfbdefbfbdefbfbd"},
	{"ee8080", "ee8080"},
	{"f0", "efbfbd"},
	{"f09080", "efbfbd"},
	{"f0908080", "f0908080"},
	{"f08f8080", "efbfbdefbfbdefbfbdefbfbd"},
	{"f48f8080", "f48f8080"},
	{"f4908080", "efbfbdefbfbdefbfbdefbfbd"},
	{"f5", "efbfbd"},
	{"ff", "efbfbd"},
	{"fe", "efbfbd"},
	{"e282", "efbfbd"},
	{"e28241", "efbfbd41"},
	{"f09f98", "efbfbd"},
	{"f09f9841", "efbfbd41"},
	{"61f09f98e282ac", "61efbfbde282ac"},
	{"eda0bdedb880", "efbfbdefbfbdefbfbdefbfbdefbfbdefbfbd"}, // CESU-8 surrogate pair
	{"efbbbf41", "efbbbf41"},                                 // the BOM is kept (lib0 sets ignoreBOM)
	{"c3a9", "c3a9"},
	{"2f2e2e2fc0ae", "2f2e2e2fefbfbdefbfbd"},
	{"e0808080", "efbfbdefbfbdefbfbdefbfbd"},
	{"f8888080", "efbfbdefbfbdefbfbdefbfbd"},
	{"fc84808080", "efbfbdefbfbdefbfbdefbfbdefbfbd"},
}

func TestVarStringInvalidUTF8(t *testing.T) {
	for _, tc := range whatwgVectors {
		in := unhex(t, tc.in)
		want := string(unhex(t, tc.out))
		if got := lib0.ToValidUTF8(in); got != want {
			t.Errorf("ToValidUTF8(%s) = %x, WHATWG gives %s", tc.in, got, tc.out)
		}
		e := lib0.NewEncoder(0)
		e.WriteVarBytes(in)
		got, err := lib0.NewDecoder(e.Bytes()).ReadVarString()
		if err != nil || got != want {
			t.Errorf("ReadVarString(%s) = %x, %v; WHATWG gives %s", tc.in, got, err, tc.out)
		}
	}
}

// whatwgDecode is an independent transcription of the WHATWG "UTF-8
// decoder" algorithm (Encoding Standard, section 9.1.2), used as the oracle
// for random inputs.
func whatwgDecode(b []byte) string {
	var out strings.Builder
	var cp rune
	needed, seen := 0, 0
	lower, upper := byte(0x80), byte(0xbf)
	for i := 0; i <= len(b); {
		if i == len(b) {
			if needed != 0 {
				out.WriteRune(utf8.RuneError)
			}
			break
		}
		c := b[i]
		if needed == 0 {
			i++
			switch {
			case c <= 0x7f:
				out.WriteByte(c)
			case c >= 0xc2 && c <= 0xdf:
				needed, cp = 1, rune(c&0x1f)
			case c >= 0xe0 && c <= 0xef:
				if c == 0xe0 {
					lower = 0xa0
				}
				if c == 0xed {
					upper = 0x9f
				}
				needed, cp = 2, rune(c&0xf)
			case c >= 0xf0 && c <= 0xf4:
				if c == 0xf0 {
					lower = 0x90
				}
				if c == 0xf4 {
					upper = 0x8f
				}
				needed, cp = 3, rune(c&0x7)
			default:
				out.WriteRune(utf8.RuneError)
			}
			continue
		}
		if c < lower || c > upper {
			// Error; the byte is reprocessed ("prepend byte to stream").
			cp, needed, seen, lower, upper = 0, 0, 0, 0x80, 0xbf
			out.WriteRune(utf8.RuneError)
			continue
		}
		i++
		lower, upper = 0x80, 0xbf
		cp = cp<<6 | rune(c&0x3f)
		seen++
		if seen == needed {
			out.WriteRune(cp)
			cp, needed, seen = 0, 0, 0
		}
	}
	return out.String()
}

func TestToValidUTF8MatchesWHATWG(t *testing.T) {
	for _, tc := range whatwgVectors {
		if got, want := whatwgDecode(unhex(t, tc.in)), string(unhex(t, tc.out)); got != want {
			t.Fatalf("oracle broken on %s: %x, want %x", tc.in, got, want)
		}
	}
	// Bytes biased towards UTF-8 structure so that valid and almost-valid
	// sequences are common.
	pool := []byte{0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf,
		0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xf8, 0xfe, 0xff}
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 20000; i++ {
		b := make([]byte, rng.IntN(12))
		for j := range b {
			if rng.IntN(4) == 0 {
				b[j] = byte(rng.UintN(256))
			} else {
				b[j] = pool[rng.IntN(len(pool))]
			}
		}
		got, want := lib0.ToValidUTF8(b), whatwgDecode(b)
		if got != want {
			t.Fatalf("ToValidUTF8(%x) = %x, WHATWG gives %x", b, got, want)
		}
	}
}

func TestUTF16(t *testing.T) {
	for _, tc := range []struct {
		s string
		n int
	}{
		{"", 0}, {"abc", 3}, {"é", 1}, {"漢字", 2}, {"😀", 2}, {"a😀b", 4}, {"👍🏽", 4}, {"\uFFFD", 1},
	} {
		if got := lib0.UTF16Len(tc.s); got != tc.n {
			t.Errorf("UTF16Len(%q) = %d, want %d", tc.s, got, tc.n)
		}
	}
	s := "a😀b"
	for _, tc := range []struct {
		units, off int
		mid        bool
	}{{0, 0, false}, {1, 1, false}, {2, 1, true}, {3, 5, false}, {4, 6, false}, {9, 6, false}} {
		off, mid := lib0.UTF16Offset(s, tc.units)
		if off != tc.off || mid != tc.mid {
			t.Errorf("UTF16Offset(%q, %d) = %d, %v; want %d, %v", s, tc.units, off, mid, tc.off, tc.mid)
		}
	}
}

// ---------------------------------------------------------------- Any

// numberVectors: how lib0's writeAny encodes JavaScript numbers. Integers
// with |n| <= 2^31-1 become var-ints (tag 125), numbers exact in float32
// become float32 (tag 124), the rest float64 (tag 123).
var numberVectors = []struct {
	name string
	v    float64
	hex  string
}{
	{"0", 0, "7d00"},
	{"-0", math.Copysign(0, -1), "7d40"},
	{"1", 1, "7d01"},
	{"-1", -1, "7d41"},
	{"63", 63, "7d3f"},
	{"64", 64, "7d8001"},
	{"-64", -64, "7dc001"},
	{"2^31-1", 1<<31 - 1, "7dbfffffff0f"},
	{"-(2^31-1)", -(1<<31 - 1), "7dffffffff0f"},
	{"2^31", 1 << 31, "7c4f000000"},
	{"-2^31", -(1 << 31), "7ccf000000"},
	{"0.5", 0.5, "7c3f000000"},
	{"-1.5", -1.5, "7cbfc00000"},
	{"0.1", 0.1, "7b3fb999999999999a"},
	{"+Inf", math.Inf(1), "7c7f800000"},
	{"-Inf", math.Inf(-1), "7cff800000"},
	{"2^53", 1 << 53, "7c5a000000"},
	{"1e300", 1e300, "7b7e37e43c8800759c"},
	{"max float32", math.MaxFloat32, "7c7f7fffff"},
	{"smallest float32 subnormal", math.SmallestNonzeroFloat32, "7c00000001"},
}

func TestAnyNumbers(t *testing.T) {
	for _, tc := range numberVectors {
		t.Run(tc.name, func(t *testing.T) {
			e := lib0.NewEncoder(0)
			if err := e.WriteAny(tc.v); err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(e.Bytes()); got != tc.hex {
				t.Errorf("WriteAny(%v) = %s, lib0 writes %s", tc.v, got, tc.hex)
			}
			v, err := lib0.NewDecoder(unhex(t, tc.hex)).ReadAny()
			if err != nil {
				t.Fatal(err)
			}
			f, ok := v.(float64)
			if !ok || math.Float64bits(f) != math.Float64bits(tc.v) {
				t.Errorf("ReadAny(%s) = %#v, want %v (bits %x)", tc.hex, v, tc.v, math.Float64bits(tc.v))
			}
		})
	}
}

// TestAnyNaN: NaN is not float32-representable by lib0's test (NaN !==
// NaN), so it is written as float64, and decoding keeps its bits so that
// an update re-encodes byte for byte.
func TestAnyNaN(t *testing.T) {
	e := lib0.NewEncoder(0)
	if err := e.WriteAny(math.NaN()); err != nil {
		t.Fatal(err)
	}
	if b := e.Bytes(); len(b) != 9 || b[0] != 0x7b {
		t.Fatalf("WriteAny(NaN) = %x; want tag 7b and 8 bytes", b)
	}
	for _, in := range []string{"7b7ff8000000000000", "7b7ff8000000000001", "7bfff8000000000000", "7c7fc00000"} {
		v, err := lib0.NewDecoder(unhex(t, in)).ReadAny()
		if f, ok := v.(float64); err != nil || !ok || !math.IsNaN(f) {
			t.Errorf("ReadAny(%s) = %#v, %v; want NaN", in, v, err)
		}
	}
	// Every NaN is written as V8 writes NaN through a DataView, whatever
	// its payload, so that our bytes equal Yjs's.
	in := unhex(t, "7b7ff8000000000001")
	v, _ := lib0.NewDecoder(in).ReadAny()
	e.Reset()
	if want := unhex(t, "7b7ff8000000000000"); e.WriteAny(v) != nil || !bytes.Equal(e.Bytes(), want) {
		t.Errorf("NaN re-encoding: %x; want canonical %x", e.Bytes(), want)
	}
}

// TestAnyNaNCanonical: V8's NaN is 0x7ff8000000000000 and lib0 writes it
// as such; Go's math.NaN() has a different payload (0x7ff8000000000001).
// A NaN made locally should encode as JavaScript would.
func TestAnyNaNCanonical(t *testing.T) {
	e := lib0.NewEncoder(0)
	if err := e.WriteAny(math.NaN()); err != nil {
		t.Fatal(err)
	}
	if got, want := hex.EncodeToString(e.Bytes()), "7b7ff8000000000000"; got != want {
		t.Errorf("WriteAny(math.NaN()) = %s, lib0 writes %s", got, want)
	}
}

func TestAnyGoNumberTypes(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want float64
	}{
		{int(5), 5}, {int8(-5), -5}, {int16(300), 300}, {int32(-1 << 31), -(1 << 31)}, {int64(1 << 40), 1 << 40},
		{uint(7), 7}, {uint8(255), 255}, {uint16(65535), 65535}, {uint32(1 << 31), 1 << 31}, {uint64(1 << 52), 1 << 52},
		{float32(0.5), 0.5},
	} {
		a, b := lib0.NewEncoder(0), lib0.NewEncoder(0)
		if err := a.WriteAny(tc.v); err != nil {
			t.Fatalf("WriteAny(%T %v): %v", tc.v, tc.v, err)
		}
		_ = b.WriteAny(tc.want)
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Errorf("WriteAny(%T %v) = %x; want the encoding of the number %v, %x", tc.v, tc.v, a.Bytes(), tc.want, b.Bytes())
		}
	}
}

func TestAnyVectors(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
		hex  string
	}{
		{"null", nil, "7e"},
		{"undefined", lib0.Undefined{}, "7f"},
		{"true", true, "78"},
		{"false", false, "79"},
		{"string", "x", "770178"},
		{"empty string", "", "7700"},
		{"bigint 123", lib0.BigInt(123), "7a000000000000007b"},
		{"bigint -1", lib0.BigInt(-1), "7affffffffffffffff"},
		{"bytes", []byte{1, 2}, "74020102"},
		{"empty bytes", []byte{}, "7400"},
		{"empty array", []any{}, "7500"},
		{"empty object", lib0.Object{}, "7600"},
		// {b: 1, a: [true, false, null, undefined, 'x', Uint8Array [1, 2]]}
		{"object", lib0.Object{{Key: "b", Value: 1.0}, {Key: "a", Value: []any{true, false, nil, lib0.Undefined{}, "x", []byte{1, 2}}}},
			"760201627d010161750678797e7f77017874020102"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := lib0.NewEncoder(0)
			if err := e.WriteAny(tc.v); err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(e.Bytes()); got != tc.hex {
				t.Errorf("WriteAny = %s, lib0 writes %s", got, tc.hex)
			}
			d := lib0.NewDecoder(unhex(t, tc.hex))
			got, err := d.ReadAny()
			if err != nil || d.Remaining() != 0 {
				t.Fatalf("ReadAny: %v (remaining %d)", err, d.Remaining())
			}
			if !anyEqual(got, tc.v) {
				t.Errorf("ReadAny = %#v, want %#v", got, tc.v)
			}
		})
	}
}

// TestAnyObjectKeyOrder: objects keep the key order of the encoding, so
// that decoding and re-encoding reproduces the bytes.
func TestAnyObjectKeyOrder(t *testing.T) {
	obj := lib0.Object{{Key: "z", Value: 1.0}, {Key: "a", Value: 2.0}, {Key: "m", Value: lib0.Object{{Key: "y", Value: nil}, {Key: "b", Value: "s"}}}}
	e := lib0.NewEncoder(0)
	if err := e.WriteAny(obj); err != nil {
		t.Fatal(err)
	}
	in := append([]byte(nil), e.Bytes()...)
	v, err := lib0.NewDecoder(in).ReadAny()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(v, obj) {
		t.Fatalf("decoded %#v, want %#v", v, obj)
	}
	e.Reset()
	if err := e.WriteAny(v); err != nil || !bytes.Equal(e.Bytes(), in) {
		t.Fatalf("re-encoded %x, %v; want %x", e.Bytes(), err, in)
	}
	if got, ok := v.(lib0.Object).Get("a"); !ok || got != 2.0 {
		t.Errorf("Get(a) = %v, %v", got, ok)
	}
	if _, ok := v.(lib0.Object).Get("nope"); ok {
		t.Errorf("Get(nope) found a value")
	}
}

// TestAnyGoMaps: Go maps have no order; the encoder writes their keys
// sorted so that output is deterministic.
func TestAnyGoMaps(t *testing.T) {
	want := lib0.Object{{Key: "a", Value: 1.0}, {Key: "b", Value: []any{"x", "y"}}, {Key: "c", Value: lib0.Object{{Key: "k", Value: true}}}}
	for _, in := range []any{
		map[string]any{"c": map[string]bool{"k": true}, "a": 1, "b": []string{"x", "y"}},
		map[string]any{"b": [2]string{"x", "y"}, "c": map[string]any{"k": true}, "a": float32(1)},
	} {
		e := lib0.NewEncoder(0)
		if err := e.WriteAny(in); err != nil {
			t.Fatal(err)
		}
		got, err := lib0.NewDecoder(e.Bytes()).ReadAny()
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("WriteAny(%v) decodes to %#v, %v; want %#v", in, got, err, want)
		}
	}
}

func TestAnyUnsupported(t *testing.T) {
	for _, v := range []any{make(chan int), func() {}, struct{}{}, map[int]string{1: "x"}, []any{complex(1, 2)}} {
		if err := lib0.NewEncoder(0).WriteAny(v); !errors.Is(err, lib0.ErrUnsupportedValue) {
			t.Errorf("WriteAny(%T) = %v; want ErrUnsupportedValue", v, err)
		}
	}
}

func TestAnyUnknownTag(t *testing.T) {
	for _, tag := range []byte{0, 1, 100, 115, 128, 255} {
		_, err := lib0.NewDecoder([]byte{tag}).ReadAny()
		if !errors.Is(err, lib0.ErrUnknownAnyTag) {
			t.Errorf("ReadAny(%x) = %v; want ErrUnknownAnyTag", tag, err)
		}
	}
}

func TestAnyTruncated(t *testing.T) {
	full := unhex(t, "760201627d010161750678797e7f77017874020102")
	for n := 0; n < len(full); n++ {
		if _, err := lib0.NewDecoder(full[:n]).ReadAny(); err == nil {
			t.Errorf("ReadAny of %d-byte prefix succeeded", n)
		}
	}
}

func nestedArrays(depth int) []byte {
	b := bytes.Repeat([]byte{0x75, 0x01}, depth)
	return append(b, 0x7e)
}

func TestAnyDepth(t *testing.T) {
	if _, err := lib0.NewDecoder(nestedArrays(lib0.MaxAnyDepth)).ReadAny(); err != nil {
		t.Fatalf("nesting of MaxAnyDepth arrays: %v", err)
	}
	if _, err := lib0.NewDecoder(nestedArrays(lib0.MaxAnyDepth + 2)).ReadAny(); !errors.Is(err, lib0.ErrTooDeep) {
		t.Fatalf("nesting beyond MaxAnyDepth: %v; want ErrTooDeep", err)
	}
	var v any = "leaf"
	for i := 0; i < lib0.MaxAnyDepth+2; i++ {
		v = lib0.Object{{Key: "k", Value: v}}
	}
	if err := lib0.NewEncoder(0).WriteAny(v); !errors.Is(err, lib0.ErrTooDeep) {
		t.Fatalf("encoding beyond MaxAnyDepth: %v; want ErrTooDeep", err)
	}
}

// randomAny builds a random decoded-form Any value.
func randomAny(rng *rand.Rand, depth int) any {
	k := rng.IntN(12)
	if depth > 4 && k >= 10 {
		k = rng.IntN(10)
	}
	switch k {
	case 0:
		return nil
	case 1:
		return lib0.Undefined{}
	case 2:
		return rng.IntN(2) == 0
	case 3:
		return float64(rng.IntN(2000) - 1000)
	case 4:
		return rng.NormFloat64() * math.Pow(10, float64(rng.IntN(40)-20))
	case 5:
		return []float64{math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 1 << 31, 1 << 53, math.MaxFloat64, math.SmallestNonzeroFloat64}[rng.IntN(7)]
	case 6:
		return lib0.BigInt(int64(rng.Uint64()))
	case 7:
		return []string{"", "a", "héllo", "😀", "\x00", "\uFFFD"}[rng.IntN(6)]
	case 8:
		b := make([]byte, rng.IntN(5))
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return b
	case 9:
		return float32ish(rng)
	case 10:
		arr := make([]any, rng.IntN(4))
		for i := range arr {
			arr[i] = randomAny(rng, depth+1)
		}
		return arr
	default:
		obj := make(lib0.Object, rng.IntN(4))
		for i := range obj {
			// Distinct, non-numeric keys: a JavaScript object holds each
			// key once and orders index keys first (see TestJSObjectOrder).
			obj[i] = lib0.Field{Key: string(rune('a'+i%26)) + strconv.Itoa(i/26), Value: randomAny(rng, depth+1)}
		}
		return obj
	}
}

func float32ish(rng *rand.Rand) float64 { return float64(float32(rng.NormFloat64() * 1e6)) }

// anyEqual is reflect.DeepEqual with NaN equal to itself, -0 distinct
// from 0 (bit equality of floats) and empty byte slices equal whether nil
// or not (a decoded empty Uint8Array is a nil []byte).
func anyEqual(a, b any) bool {
	switch x := a.(type) {
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	case float64:
		y, ok := b.(float64)
		return ok && (math.Float64bits(x) == math.Float64bits(y) || (math.IsNaN(x) && math.IsNaN(y)))
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !anyEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case lib0.Object:
		y, ok := b.(lib0.Object)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if x[i].Key != y[i].Key || !anyEqual(x[i].Value, y[i].Value) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

// TestAnyRoundTripProperty: decode(encode(v)) == v for random decoded-form
// values, and encoding is canonical (a second round trip gives the same
// bytes).
func TestAnyRoundTripProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 5000; i++ {
		v := randomAny(rng, 0)
		e := lib0.NewEncoder(0)
		if err := e.WriteAny(v); err != nil {
			t.Fatalf("WriteAny(%#v): %v", v, err)
		}
		b := append([]byte(nil), e.Bytes()...)
		d := lib0.NewDecoder(b)
		got, err := d.ReadAny()
		if err != nil || d.Remaining() != 0 {
			t.Fatalf("ReadAny(%x) of %#v: %v (remaining %d)", b, v, err, d.Remaining())
		}
		if !anyEqual(got, v) {
			t.Fatalf("round trip of %#v gave %#v", v, got)
		}
		e.Reset()
		_ = e.WriteAny(got)
		if !bytes.Equal(e.Bytes(), b) {
			t.Fatalf("re-encoding %#v: %x, want %x", got, e.Bytes(), b)
		}
	}
}

// ---------------------------------------------------------------- other primitives

func TestFixedWidth(t *testing.T) {
	e := lib0.NewEncoder(0)
	e.WriteUint8(0xab)
	e.WriteFloat32(1.5)
	e.WriteFloat64(-2.25)
	e.WriteBigInt64(-2)
	e.WriteRaw([]byte("raw"))
	e.WriteVarBytes([]byte{9, 8})
	if got, want := hex.EncodeToString(e.Bytes()), "ab3fc00000c002000000000000fffffffffffffffe726177020908"; got != want {
		t.Fatalf("encoded %s, want %s", got, want)
	}
	if e.Len() != len(e.Bytes()) {
		t.Fatalf("Len = %d", e.Len())
	}
	d := lib0.NewDecoder(e.Bytes())
	if b, err := d.ReadUint8(); err != nil || b != 0xab {
		t.Fatalf("ReadUint8 = %x, %v", b, err)
	}
	if f, err := d.ReadFloat32(); err != nil || f != 1.5 {
		t.Fatalf("ReadFloat32 = %v, %v", f, err)
	}
	if f, err := d.ReadFloat64(); err != nil || f != -2.25 {
		t.Fatalf("ReadFloat64 = %v, %v", f, err)
	}
	if i, err := d.ReadBigInt64(); err != nil || i != -2 {
		t.Fatalf("ReadBigInt64 = %v, %v", i, err)
	}
	if b, err := d.ReadRaw(3); err != nil || string(b) != "raw" {
		t.Fatalf("ReadRaw = %q, %v", b, err)
	}
	if d.Pos() != 24 {
		t.Fatalf("Pos = %d, want 24", d.Pos())
	}
	if b, err := d.ReadVarBytes(); err != nil || !bytes.Equal(b, []byte{9, 8}) {
		t.Fatalf("ReadVarBytes = %x, %v", b, err)
	}
	for name, read := range map[string]func() error{
		"uint8":   func() error { _, err := d.ReadUint8(); return err },
		"float32": func() error { _, err := d.ReadFloat32(); return err },
		"float64": func() error { _, err := d.ReadFloat64(); return err },
		"bigint":  func() error { _, err := d.ReadBigInt64(); return err },
		"raw":     func() error { _, err := d.ReadRaw(1); return err },
		"raw -1":  func() error { _, err := d.ReadRaw(-1); return err },
	} {
		if err := read(); err == nil {
			t.Errorf("%s read past the end succeeded", name)
		}
	}
}

// ---------------------------------------------------------------- hostile input

// allocated runs f and reports the bytes and objects it allocated.
func allocated(f func()) (bytes, objects uint64) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, after.Mallocs - before.Mallocs
}

// TestHostileInputBounded: length prefixes that claim far more than the
// input holds fail at once, and no input makes the decoder allocate more
// than a small multiple of its size.
func TestHostileInputBounded(t *testing.T) {
	huge := encVarUint(1 << 50)
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	for _, tc := range []struct {
		name string
		in   []byte
		read func(*lib0.Decoder) error
		want error
	}{
		{"array of 2^50", cat([]byte{0x75}, huge, []byte{0x7e}), readAny, lib0.ErrLengthExceedsInput},
		{"object of 2^50", cat([]byte{0x76}, huge, []byte{0x01, 'k', 0x7e}), readAny, lib0.ErrLengthExceedsInput},
		{"bytes of 2^50", cat([]byte{0x74}, huge, []byte{1, 2, 3}), readAny, lib0.ErrLengthExceedsInput},
		{"string of 2^50", cat([]byte{0x77}, huge, []byte("abc")), readAny, lib0.ErrLengthExceedsInput},
		{"var-bytes of 2^50", cat(huge, []byte{1}), func(d *lib0.Decoder) error { _, err := d.ReadVarBytes(); return err }, lib0.ErrLengthExceedsInput},
		{"var-string of 2^50", cat(huge, []byte{1}), func(d *lib0.Decoder) error { _, err := d.ReadVarString(); return err }, lib0.ErrLengthExceedsInput},
		{"array of 2^53-1", cat([]byte{0x75}, encVarUint(maxSafeInteger)), readAny, lib0.ErrLengthExceedsInput},
		{"deep nesting", bytes.Repeat([]byte{0x75, 0x01}, 100000), readAny, lib0.ErrTooDeep},
		{"deep objects", bytes.Repeat([]byte{0x76, 0x01, 0x00}, 100000), readAny, lib0.ErrTooDeep},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			n, _ := allocated(func() { err = tc.read(lib0.NewDecoder(tc.in)) })
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if limit := uint64(64*len(tc.in) + 64<<10); n > limit {
				t.Fatalf("allocated %d bytes for %d bytes of input (limit %d)", n, len(tc.in), limit)
			}
		})
	}
	// A length prefix is checked before anything is allocated for it.
	in := cat([]byte{0x75}, huge)
	if a := testing.AllocsPerRun(100, func() { _ = readAny(lib0.NewDecoder(in)) }); a > 2 {
		t.Errorf("rejecting a 2^50-element array made %v allocations", a)
	}
}

func readAny(d *lib0.Decoder) error { _, err := d.ReadAny(); return err }

// nestedClaims is an Any of depth nested arrays, each claiming as many
// elements as the rest of the input could hold, so that every length check
// passes while the real content is tiny.
func nestedClaims(size, depth int) []byte {
	e := lib0.NewEncoder(size)
	for i := 0; i < depth; i++ {
		e.WriteUint8(0x75)
		e.WriteVarUint(uint64(size - e.Len() - 4))
	}
	for e.Len() < size {
		e.WriteUint8(0x7e)
	}
	return e.Bytes()
}

// TestNestedLengthClaimsBounded: each nesting level may only reserve room
// for what the remaining input can hold, but the levels together must not
// reserve depth times the input.
func TestNestedLengthClaimsBounded(t *testing.T) {
	in := nestedClaims(16<<10, 900)
	n, _ := allocated(func() { _ = readAny(lib0.NewDecoder(in)) })
	if limit := uint64(64*len(in) + 1<<20); n > limit {
		t.Fatalf("a %d-byte Any of nested length claims made the decoder allocate %d MiB (limit %d KiB): "+
			"every level pre-allocates its claimed capacity", len(in), n>>20, limit>>10)
	}
}

// ---------------------------------------------------------------- fuzz

func FuzzReadVarUint(f *testing.F) {
	for _, s := range []string{"00", "7f", "8001", "ffffffffffffff0f", "ffffffffffffff1f", "80808080808080808000", ""} {
		f.Add(unhex(f, s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		d := lib0.NewDecoder(in)
		v, err := d.ReadVarUint()
		if err != nil {
			return
		}
		if v > maxSafeInteger {
			t.Fatalf("ReadVarUint(%x) = %d > 2^53-1", in, v)
		}
		// The decoder's word-at-a-time path against a byte loop.
		var want uint64
		for i, b := range in[:d.Pos()] {
			want |= uint64(b&0x7f) << (7 * uint(i))
		}
		if v != want {
			t.Fatalf("ReadVarUint(%x) = %d, its 7-bit groups make %d", in[:d.Pos()], v, want)
		}
		enc := encVarUint(v)
		if len(enc) > d.Pos() {
			t.Fatalf("canonical encoding %x of %d longer than the %d bytes read", enc, v, d.Pos())
		}
		if d.Pos() == len(enc) && !bytes.Equal(enc, in[:d.Pos()]) {
			t.Fatalf("minimal encoding of %d: read %x, write %x", v, in[:d.Pos()], enc)
		}
		got, err := lib0.NewDecoder(enc).ReadVarUint()
		if err != nil || got != v {
			t.Fatalf("round trip of %d: %d, %v", v, got, err)
		}
	})
}

func FuzzReadVarInt(f *testing.F) {
	for _, s := range []string{"00", "40", "c000", "3f", "7f", "8001", "c001", "bfffffffffffff1f", "ffffffffffffff1f", "ffffffffffffff3f", ""} {
		f.Add(unhex(f, s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		d := lib0.NewDecoder(in)
		v, neg, err := d.ReadVarInt()
		if err != nil {
			return
		}
		if v > maxSafeInteger || v < -maxSafeInteger {
			t.Fatalf("ReadVarInt(%x) = %d beyond 2^53-1", in, v)
		}
		if neg != (v < 0) && v != 0 {
			t.Fatalf("ReadVarInt(%x) = %d with negative=%v", in, v, neg)
		}
		e := lib0.NewEncoder(0)
		e.WriteVarInt(v)
		got, _, err := lib0.NewDecoder(e.Bytes()).ReadVarInt()
		if err != nil || got != v {
			t.Fatalf("round trip of %d: %d, %v", v, got, err)
		}
		if e.Len() > d.Pos() {
			t.Fatalf("canonical encoding of %d is longer than the %d bytes read", v, d.Pos())
		}
	})
}

func FuzzReadString(f *testing.F) {
	for _, tc := range whatwgVectors {
		f.Add(append(encVarUint(uint64(len(tc.in)/2)), unhex(f, tc.in)...))
	}
	f.Add([]byte{0x05, 'h', 'e', 'l', 'l', 'o'})
	f.Add([]byte{0x04, 0xf0, 0x9f, 0x98, 0x80})
	f.Fuzz(func(t *testing.T, in []byte) {
		d := lib0.NewDecoder(in)
		s, err := d.ReadVarString()
		if err != nil {
			return
		}
		b, _ := lib0.NewDecoder(in).ReadVarBytes()
		if !utf8.ValidString(s) {
			t.Fatalf("ReadVarString(%x) = %x, not valid UTF-8", in, s)
		}
		if want := whatwgDecode(b); s != want {
			t.Fatalf("ReadVarString(%x) = %x; WHATWG gives %x", in, s, want)
		}
		if utf8.Valid(b) && s != string(b) {
			t.Fatalf("valid UTF-8 %x changed to %x", b, s)
		}
	})
}

func FuzzReadAny(f *testing.F) {
	for _, tc := range numberVectors {
		f.Add(unhex(f, tc.hex))
	}
	for _, s := range []string{"7e", "7f", "78", "79", "770178", "7a000000000000007b", "74020102",
		"760201627d010161750678797e7f77017874020102", "7b7ff8000000000001", "7d40", "7dc000"} {
		f.Add(unhex(f, s))
	}
	f.Add(nestedArrays(20))
	f.Fuzz(func(t *testing.T, in []byte) {
		v, err := lib0.NewDecoder(in).ReadAny()
		if err != nil {
			return
		}
		// What lib0 would write for the value decodes to the same value,
		// and writing that again gives the same bytes.
		e := lib0.NewEncoder(len(in))
		if err := e.WriteAny(v); err != nil {
			t.Fatalf("WriteAny of decoded %#v: %v", v, err)
		}
		b := append([]byte(nil), e.Bytes()...)
		d := lib0.NewDecoder(b)
		v2, err := d.ReadAny()
		if err != nil || d.Remaining() != 0 {
			t.Fatalf("re-reading %x: %v (remaining %d)", b, err, d.Remaining())
		}
		if !anyEqual(v, v2) {
			t.Fatalf("value changed in a round trip: %#v -> %#v", v, v2)
		}
		e.Reset()
		_ = e.WriteAny(v2)
		if !bytes.Equal(e.Bytes(), b) {
			t.Fatalf("encoding not canonical: %x then %x", b, e.Bytes())
		}
	})
}

// TestJSObjectOrder: decoded objects follow JavaScript's own-property
// order, as Yjs re-encodes them: index keys ascending first, a repeated key
// keeps its first place and last value, __proto__ is dropped.
func TestJSObjectOrder(t *testing.T) {
	e := lib0.NewEncoder(0)
	in := lib0.Object{{Key: "b", Value: 1.0}, {Key: "10", Value: 2.0}, {Key: "__proto__", Value: 5.0}, {Key: "2", Value: 3.0}, {Key: "b", Value: 4.0}, {Key: "01", Value: 6.0}}
	if err := e.WriteAny(in); err != nil {
		t.Fatal(err)
	}
	got, err := lib0.NewDecoder(e.Bytes()).ReadAny()
	if err != nil {
		t.Fatal(err)
	}
	want := lib0.Object{{Key: "2", Value: 3.0}, {Key: "10", Value: 2.0}, {Key: "b", Value: 4.0}, {Key: "01", Value: 6.0}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
