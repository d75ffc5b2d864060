package lib0

import (
	"encoding/binary"
	"math"
)

// Encoder appends lib0-encoded values to a byte slice. The zero value is an
// empty encoder ready to use.
type Encoder struct {
	buf []byte
}

// NewEncoder returns an encoder whose buffer starts with capacity for n bytes.
func NewEncoder(n int) *Encoder { return &Encoder{buf: make([]byte, 0, n)} }

// Bytes returns the encoded bytes. The slice aliases the encoder's buffer
// until the next write.
func (e *Encoder) Bytes() []byte { return e.buf }

// Len reports how many bytes have been written.
func (e *Encoder) Len() int { return len(e.buf) }

// Reset empties the encoder, keeping its buffer for reuse.
func (e *Encoder) Reset() { e.buf = e.buf[:0] }

// WriteUint8 writes one byte.
func (e *Encoder) WriteUint8(b byte) { e.buf = append(e.buf, b) }

// WriteRaw appends bytes without a length prefix.
func (e *Encoder) WriteRaw(b []byte) { e.buf = append(e.buf, b...) }

// WriteVarUint writes v in 7-bit groups, least significant first; the high
// bit of each byte says whether another byte follows.
func (e *Encoder) WriteVarUint(v uint64) {
	for v > 0x7f {
		e.buf = append(e.buf, byte(v)|0x80)
		v >>= 7
	}
	e.buf = append(e.buf, byte(v))
}

// WriteVarInt writes a signed integer in lib0's layout: the first byte holds
// a continuation bit, a sign bit and the six lowest bits of the magnitude;
// further bytes hold seven bits each.
func (e *Encoder) WriteVarInt(v int64) {
	neg := v < 0
	m := uint64(v)
	if neg {
		m = uint64(-v)
	}
	e.writeVarIntMagnitude(m, neg)
}

func (e *Encoder) writeVarIntMagnitude(m uint64, neg bool) {
	first := byte(m & 0x3f)
	if neg {
		first |= 0x40
	}
	if m > 0x3f {
		first |= 0x80
	}
	e.buf = append(e.buf, first)
	m >>= 6
	for m > 0 {
		b := byte(m & 0x7f)
		if m > 0x7f {
			b |= 0x80
		}
		e.buf = append(e.buf, b)
		m >>= 7
	}
}

// WriteVarString writes the UTF-8 bytes of s prefixed by their count.
func (e *Encoder) WriteVarString(s string) {
	e.WriteVarUint(uint64(len(s)))
	e.buf = append(e.buf, s...)
}

// WriteVarBytes writes b prefixed by its length (lib0's VarUint8Array).
func (e *Encoder) WriteVarBytes(b []byte) {
	e.WriteVarUint(uint64(len(b)))
	e.buf = append(e.buf, b...)
}

// WriteFloat32 writes f as four big-endian bytes.
func (e *Encoder) WriteFloat32(f float32) {
	e.buf = binary.BigEndian.AppendUint32(e.buf, math.Float32bits(f))
}

// WriteFloat64 writes f as eight big-endian bytes.
func (e *Encoder) WriteFloat64(f float64) {
	e.buf = binary.BigEndian.AppendUint64(e.buf, math.Float64bits(f))
}

// WriteBigInt64 writes i as eight big-endian bytes (two's complement).
func (e *Encoder) WriteBigInt64(i int64) {
	e.buf = binary.BigEndian.AppendUint64(e.buf, uint64(i))
}
