package lib0

import "unicode/utf8"

// ToValidUTF8 replaces every maximal ill-formed subsequence of b with one
// U+FFFD, as the WHATWG encoding standard (and so JavaScript's TextDecoder)
// does. Go's strings.ToValidUTF8 collapses runs instead, which would change
// string lengths compared with Yjs.
func ToValidUTF8(b []byte) string {
	out := make([]byte, 0, len(b)+8)
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || size > 1 {
			out = append(out, b[i:i+size]...)
			i += size
			continue
		}
		out = append(out, "\uFFFD"...)
		i += maximalSubpart(b[i:])
	}
	return string(out)
}

// maximalSubpart returns the length of the ill-formed prefix of b that a
// WHATWG decoder replaces with a single U+FFFD.
func maximalSubpart(b []byte) int {
	lead := b[0]
	var need int
	lo, hi := byte(0x80), byte(0xbf)
	switch {
	case lead >= 0xc2 && lead <= 0xdf:
		need = 1
	case lead == 0xe0:
		need, lo = 2, 0xa0
	case lead >= 0xe1 && lead <= 0xec, lead == 0xee, lead == 0xef:
		need = 2
	case lead == 0xed:
		need, hi = 2, 0x9f
	case lead == 0xf0:
		need, lo = 3, 0x90
	case lead >= 0xf1 && lead <= 0xf3:
		need = 3
	case lead == 0xf4:
		need, hi = 3, 0x8f
	default:
		return 1
	}
	n := 1
	for k := 0; k < need && n < len(b); k++ {
		c := b[n]
		if c < lo || c > hi {
			break
		}
		n++
		lo, hi = 0x80, 0xbf
	}
	return n
}

// UTF16Len returns the number of UTF-16 code units that encode s, the unit
// Yjs measures text in. s must be valid UTF-8 (every string the engine
// holds is).
func UTF16Len(s string) int {
	n := 0
	i := 0
	// ASCII runs, eight bytes at a time: one unit per byte.
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if w&0x8080808080808080 != 0 {
			break
		}
		n += 8
	}
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c < 0x80:
			n++
		case c < 0xc0: // continuation byte: counted with its lead
		case c < 0xf0: // lead of a 2- or 3-byte sequence: one unit
			n++
		default: // lead of a 4-byte sequence: a surrogate pair
			n += 2
		}
	}
	return n
}

// UTF16Offset converts an offset in UTF-16 code units into a byte offset
// into s. When the offset falls between the two halves of a surrogate pair,
// it returns the byte offset of that character and mid = true.
func UTF16Offset(s string, units int) (byteOff int, mid bool) {
	u := 0
	for i := 0; i < len(s); {
		if u >= units {
			return i, false
		}
		c := s[i]
		switch {
		case c < 0x80:
			u++
			i++
		case c < 0xe0:
			u++
			i += 2
		case c < 0xf0:
			u++
			i += 3
		default:
			if u+1 == units {
				return i, true
			}
			u += 2
			i += 4
		}
	}
	return len(s), false
}
