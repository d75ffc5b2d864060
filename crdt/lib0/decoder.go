package lib0

import (
	"encoding/binary"
	"math"
	"math/bits"
	"unicode/utf8"
)

// maxSafeInteger is JavaScript's Number.MAX_SAFE_INTEGER; lib0 refuses
// variable-length integers beyond it.
const maxSafeInteger = 1<<53 - 1

// Decoder reads lib0-encoded values from a byte slice. It never retains or
// modifies bytes beyond what the caller passed in; strings it returns are
// copies.
type Decoder struct {
	buf []byte
	pos int
}

// NewDecoder returns a decoder reading b from the start.
func NewDecoder(b []byte) *Decoder { return &Decoder{buf: b} }

// Remaining reports how many unread bytes are left.
func (d *Decoder) Remaining() int { return len(d.buf) - d.pos }

// Unread returns the unread input, for a caller that parses a run of
// values in place and then moves on with Advance. It aliases the input.
func (d *Decoder) Unread() []byte { return d.buf[d.pos:] }

// Advance moves on by n bytes, at most Remaining.
func (d *Decoder) Advance(n int) {
	if n < 0 || n > len(d.buf)-d.pos {
		panic("lib0: Advance past the input")
	}
	d.pos += n
}

// VarUintWord reads a variable-length integer of up to seven bytes (49
// bits, below 2^53) from the first word of b, which must hold eight bytes
// or more, and returns it with the bytes it took. It reports false when
// the integer does not end within seven bytes. Its 7-bit groups are moved
// together without a loop.
func VarUintWord(b []byte) (v uint64, n int, ok bool) {
	x := binary.LittleEndian.Uint64(b)
	stop := ^x & 0x0080808080808080
	if stop == 0 {
		return 0, 0, false
	}
	k := uint(bits.TrailingZeros64(stop)>>3) + 1 // bytes taken
	x &= 1<<(8*k) - 1
	v = x&0x7f | x>>1&(0x7f<<7) | x>>2&(0x7f<<14)
	if k > 3 {
		v |= x>>3&(0x7f<<21) | x>>4&(0x7f<<28) | x>>5&(0x7f<<35) | x>>6&(0x7f<<42)
	}
	return v, int(k), true
}

// VarUint3 decodes the variable-length integer at the start of the
// little-endian word y when it takes at most three bytes (below 2^21: a
// clock or a length, mostly), with the bytes it takes; ok is false for a
// longer one, and v and n are then meaningless. It has no branch, so that
// a decoding loop it is inlined into keeps its values in registers.
func VarUint3(y uint64) (v uint64, n int, ok bool) {
	stop := ^y & 0x808080 // (the bytes without the continuation bit)
	y &= stop ^ (stop - 1)
	return y&0x7f | y>>1&(0x7f<<7) | y>>2&(0x7f<<14), (bits.TrailingZeros64(stop) + 1) >> 3, stop != 0
}

// Pos reports the read offset, for error messages.
func (d *Decoder) Pos() int { return d.pos }

// ReadUint8 reads one byte.
func (d *Decoder) ReadUint8() (byte, error) {
	if d.pos >= len(d.buf) {
		return 0, ErrUnexpectedEOF
	}
	b := d.buf[d.pos]
	d.pos++
	return b, nil
}

// ReadVarUint reads an unsigned variable-length integer of at most 53 bits.
func (d *Decoder) ReadVarUint() (uint64, error) {
	if d.pos+1 < len(d.buf) {
		// One or two bytes (clocks and lengths, mostly) without a call.
		b0, b1 := d.buf[d.pos], d.buf[d.pos+1]
		if b0 < 0x80 {
			d.pos++
			return uint64(b0), nil
		}
		if b1 < 0x80 {
			d.pos += 2
			return uint64(b0&0x7f) | uint64(b1)<<7, nil
		}
	} else if d.pos < len(d.buf) {
		if b := d.buf[d.pos]; b < 0x80 {
			d.pos++
			return uint64(b), nil
		}
	}
	return d.readVarUintSlow()
}

func (d *Decoder) readVarUintSlow() (uint64, error) {
	if d.pos <= len(d.buf)-8 {
		if v, n, ok := VarUintWord(d.buf[d.pos:]); ok {
			d.pos += n
			return v, nil
		}
	}
	var v uint64
	var shift uint
	for {
		if d.pos >= len(d.buf) {
			return 0, ErrUnexpectedEOF
		}
		b := d.buf[d.pos]
		d.pos++
		if shift >= 56 {
			return 0, ErrOverflow
		}
		v |= uint64(b&0x7f) << shift
		if b < 0x80 {
			if v > maxSafeInteger {
				return 0, ErrOverflow
			}
			return v, nil
		}
		shift += 7
	}
}

// ReadVarInt reads a signed variable-length integer in lib0's layout. The
// second result reports a negative sign, which matters for a magnitude of
// zero: lib0 encodes JavaScript's -0 that way.
func (d *Decoder) ReadVarInt() (v int64, negative bool, err error) {
	first, err := d.ReadUint8()
	if err != nil {
		return 0, false, err
	}
	m := uint64(first & 0x3f)
	negative = first&0x40 != 0
	shift := uint(6)
	b := first
	for b&0x80 != 0 {
		if b, err = d.ReadUint8(); err != nil {
			return 0, false, err
		}
		if shift >= 56 {
			return 0, false, ErrOverflow
		}
		m |= uint64(b&0x7f) << shift
		shift += 7
	}
	if m > maxSafeInteger {
		return 0, false, ErrOverflow
	}
	if negative {
		return -int64(m), true, nil
	}
	return int64(m), false, nil
}

// ReadVarUintBytes is ReadVarUint that also returns the bytes the integer
// took (aliasing the input), for SkipPrefix.
func (d *Decoder) ReadVarUintBytes() (v uint64, raw []byte, err error) {
	start := d.pos
	v, err = d.ReadVarUint()
	if err != nil {
		return 0, nil, err
	}
	return v, d.buf[start:d.pos:d.pos], nil
}

// SkipWord skips the next n bytes (1 to 8) and reports true when, read as
// a little-endian word and masked to those n bytes, they equal w;
// otherwise it reads nothing. It is SkipPrefix for a prefix given as a
// word (see PrefixWord), one comparison instead of a loop.
func (d *Decoder) SkipWord(w uint64, n int) bool {
	if n < 1 || n > 8 {
		return false
	}
	var x uint64
	if d.pos <= len(d.buf)-8 {
		x = binary.LittleEndian.Uint64(d.buf[d.pos:])
	} else if n <= len(d.buf)-d.pos {
		for i, b := range d.buf[d.pos : d.pos+n] {
			x |= uint64(b) << (8 * uint(i))
		}
	} else {
		return false
	}
	if n < 8 {
		x &= 1<<(8*uint(n)) - 1
	}
	if x != w {
		return false
	}
	d.pos += n
	return true
}

// WordPrefix is a prefix of one to eight bytes (the encoding of an
// expected integer, such as the client of the IDs being decoded) prepared
// for ReadVarUintAfter and SkipWordPrefix: the word, its mask and the
// continuation bits of the bytes that can follow it in a word, computed
// once instead of at every read. The zero WordPrefix matches nothing.
type WordPrefix struct {
	word, mask, stops uint64
	n                 int
	shift             uint
}

// NewWordPrefix prepares p; a prefix of no or more than eight bytes gives
// the zero WordPrefix.
func NewWordPrefix(p []byte) WordPrefix {
	w, ok := PrefixWord(p)
	if !ok {
		return WordPrefix{}
	}
	sh := 8 * uint(len(p)) // 64 for eight bytes: all-ones mask, no stops
	return WordPrefix{
		word:  w,
		mask:  1<<sh - 1,
		stops: 0x0080808080808080 & (1<<(64-sh) - 1),
		n:     len(p),
		shift: sh,
	}
}

// SkipWordPrefix is SkipWord for a prepared prefix.
func (d *Decoder) SkipWordPrefix(p *WordPrefix) bool { return d.SkipWord(p.word, p.n) }

// ReadVarUintAfter is SkipWordPrefix followed by ReadVarUint, for
// the common case where both fit in the next eight bytes: an ID whose
// client is the one expected and whose clock takes at most 8-n bytes. It
// reads both from one word and reports true; in every other case (another
// prefix, a longer integer, fewer than eight bytes left) it reads nothing
// and reports false, and the caller takes the two steps.
func (d *Decoder) ReadVarUintAfter(p *WordPrefix) (uint64, bool) {
	if d.pos > len(d.buf)-8 {
		return 0, false
	}
	v, n, ok := p.UintAfter(d.buf[d.pos:])
	if ok {
		d.pos += n
	}
	return v, ok
}

// Len returns the prefix's length in bytes, 0 for the zero WordPrefix.
func (p *WordPrefix) Len() int { return p.n }

// Parts returns the mask and the word Matches compares with, for a
// decoding loop written in assembly.
func (p *WordPrefix) Parts() (mask, word uint64) { return p.mask, p.word }

// Matches reports whether the little-endian word x starts with the
// prefix, which must not be the zero WordPrefix (that matches every word
// here). Small enough to be inlined into a decoding loop, with VarUint3
// reading the integer that follows from the word Len bytes on.
func (p *WordPrefix) Matches(x uint64) bool { return x&p.mask == p.word }

// UintAfter is ReadVarUintAfter on b, which must hold eight bytes or more:
// it returns the integer after the prefix and the bytes both took.
func (p *WordPrefix) UintAfter(b []byte) (v uint64, n int, ok bool) {
	if p.n == 0 {
		return 0, 0, false
	}
	x := binary.LittleEndian.Uint64(b)
	if x&p.mask != p.word {
		return 0, 0, false
	}
	y := x >> (p.shift & 63) // (masked: no range check compiled)
	// The integer ends at its first byte without the continuation bit,
	// among the 8-n bytes left in the word (at most seven: 49 bits).
	stop := ^y & p.stops
	if stop == 0 {
		return 0, 0, false
	}
	k := uint(bits.TrailingZeros64(stop)>>3) + 1
	y &= 1<<(8*k&63) - 1
	v = y&0x7f | y>>1&(0x7f<<7) | y>>2&(0x7f<<14)
	if k > 3 {
		v |= y>>3&(0x7f<<21) | y>>4&(0x7f<<28) | y>>5&(0x7f<<35) | y>>6&(0x7f<<42)
	}
	return v, p.n + int(k), true
}

// PrefixWord returns p (at most eight bytes) as the little-endian word
// SkipWord compares with, and false for a longer or empty p.
func PrefixWord(p []byte) (uint64, bool) {
	if len(p) == 0 || len(p) > 8 {
		return 0, false
	}
	var w uint64
	for i, b := range p {
		w |= uint64(b) << (8 * uint(i))
	}
	return w, true
}

// SkipPrefix skips p and reports true when the unread input starts with it;
// otherwise it reads nothing. With p the encoding of a variable-length
// integer (which is prefix-free), a match means the next integer is that
// one: decoders use it to skip a value they expect often.
func (d *Decoder) SkipPrefix(p []byte) bool {
	n := len(p)
	if n == 0 || n > len(d.buf)-d.pos {
		return false
	}
	rest := d.buf[d.pos : d.pos+n]
	for i := range n {
		if rest[i] != p[i] {
			return false
		}
	}
	d.pos += n
	return true
}

// ReadRaw returns the next n bytes without copying them.
func (d *Decoder) ReadRaw(n int) ([]byte, error) {
	if n < 0 || n > len(d.buf)-d.pos {
		return nil, ErrLengthExceedsInput
	}
	b := d.buf[d.pos : d.pos+n : d.pos+n]
	d.pos += n
	return b, nil
}

// ReadVarBytes reads a length-prefixed byte array. The result aliases the
// decoder's input; copy it before the input is reused.
func (d *Decoder) ReadVarBytes() ([]byte, error) {
	n, err := d.ReadVarUint()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(d.buf)-d.pos) {
		return nil, ErrLengthExceedsInput
	}
	return d.ReadRaw(int(n))
}

// ReadVarString reads a length-prefixed UTF-8 string. Invalid UTF-8 is
// replaced by U+FFFD the way a JavaScript TextDecoder does it, so lengths
// in UTF-16 units agree with Yjs.
func (d *Decoder) ReadVarString() (string, error) {
	b, err := d.ReadVarBytes()
	if err != nil {
		return "", err
	}
	if utf8.Valid(b) {
		return string(b), nil
	}
	return ToValidUTF8(b), nil
}

// ReadFloat32 reads four big-endian bytes.
func (d *Decoder) ReadFloat32() (float32, error) {
	b, err := d.ReadRaw(4)
	if err != nil {
		return 0, err
	}
	return math.Float32frombits(binary.BigEndian.Uint32(b)), nil
}

// ReadFloat64 reads eight big-endian bytes.
func (d *Decoder) ReadFloat64() (float64, error) {
	b, err := d.ReadRaw(8)
	if err != nil {
		return 0, err
	}
	return math.Float64frombits(binary.BigEndian.Uint64(b)), nil
}

// ReadBigInt64 reads eight big-endian bytes as a signed integer.
func (d *Decoder) ReadBigInt64() (int64, error) {
	b, err := d.ReadRaw(8)
	if err != nil {
		return 0, err
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}
