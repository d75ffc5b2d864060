// Package lib0 implements the binary encoding of the lib0 JavaScript library
// that Yjs and y-protocols build on: variable-length unsigned and signed
// integers, length-prefixed strings and byte arrays, big-endian floats and
// lib0's self-describing "Any" values.
//
// Decoders treat their input as hostile. Every read returns an error instead
// of panicking, every length is checked against the bytes that remain before
// anything is allocated, and nested Any values are bounded in depth, so a
// decoder never allocates more than its input justifies and never recurses
// without limit.
//
// Concurrency: an Encoder or a Decoder belongs to one goroutine at a time.
// The package has no global mutable state.
package lib0
