package lib0

import "errors"

// ErrUnexpectedEOF is returned when the input ends in the middle of a value.
var ErrUnexpectedEOF = errors.New("lib0: unexpected end of input")

// ErrOverflow is returned when a variable-length integer exceeds the range
// lib0 can represent (2^53-1, JavaScript's largest safe integer).
var ErrOverflow = errors.New("lib0: integer overflows 53 bits")

// ErrLengthExceedsInput is returned when a length prefix claims more bytes
// or elements than the rest of the input could possibly hold.
var ErrLengthExceedsInput = errors.New("lib0: length exceeds remaining input")

// ErrUnknownAnyTag is returned when an Any value starts with a type tag that
// lib0 does not define.
var ErrUnknownAnyTag = errors.New("lib0: unknown Any type tag")

// ErrTooDeep is returned when Any values nest deeper than MaxAnyDepth.
var ErrTooDeep = errors.New("lib0: Any value nested too deeply")

// ErrUnsupportedValue is returned by the encoder for Go values that have no
// lib0 Any representation (channels, functions, ...).
var ErrUnsupportedValue = errors.New("lib0: value cannot be encoded as Any")
