package lib0

import (
	"encoding/binary"
	"math"
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
	if buf := d.buf[min(d.pos, len(d.buf)):]; len(buf) >= 8 {
		// Enough input for the longest accepted encoding: no bounds
		// checks per byte. Anything unusual takes the loop below.
		v := uint64(buf[0] & 0x7f)
		for i := 1; i < 8; i++ {
			b := buf[i]
			v |= uint64(b&0x7f) << (7 * uint(i))
			if b < 0x80 {
				if v > maxSafeInteger {
					break
				}
				d.pos += i + 1
				return v, nil
			}
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
