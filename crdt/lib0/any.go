package lib0

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
)

// Any type tags as lib0 writes them.
const (
	tagUndefined = 127
	tagNull      = 126
	tagInteger   = 125
	tagFloat32   = 124
	tagFloat64   = 123
	tagBigInt    = 122
	tagFalse     = 121
	tagTrue      = 120
	tagString    = 119
	tagObject    = 118
	tagArray     = 117
	tagBytes     = 116
)

// MaxAnyDepth bounds how deeply arrays and objects may nest inside one Any
// value. JavaScript engines overflow their stack far earlier on real data;
// the bound exists so hostile input cannot exhaust the goroutine stack.
const MaxAnyDepth = 1000

// Undefined is JavaScript's undefined, which lib0 encodes distinctly from
// null (nil in Go).
type Undefined struct{}

// BigInt is a JavaScript BigInt as lib0 stores it: 64 bits, signed.
type BigInt int64

// Field is one key and value of an Object.
type Field struct {
	Key   string
	Value any
}

// Object is a lib0 object. It keeps its keys in encoding order, which a Go
// map cannot, so that decoding and re-encoding reproduces the input bytes.
type Object []Field

// Get returns the value stored under key and whether it exists.
func (o Object) Get(key string) (any, bool) {
	for _, f := range o {
		if f.Key == key {
			return f.Value, true
		}
	}
	return nil, false
}

// Map converts the object into a Go map (losing key order).
func (o Object) Map() map[string]any {
	m := make(map[string]any, len(o))
	for _, f := range o {
		m[f.Key] = f.Value
	}
	return m
}

// WriteAny encodes v as a lib0 Any. Decoded Any values are nil, Undefined,
// bool, float64, BigInt, string, []byte, []any and Object. The encoder also
// accepts Go's other integer and float types (written as JavaScript numbers
// are: small integers as var-ints, then float32 when exact, else float64),
// map[string]any (keys in sorted order, since Go maps have none) and slices.
func (e *Encoder) WriteAny(v any) error {
	return e.writeAny(v, 0)
}

func (e *Encoder) writeAny(v any, depth int) error {
	if depth > MaxAnyDepth {
		return ErrTooDeep
	}
	switch x := v.(type) {
	case nil:
		e.WriteUint8(tagNull)
	case Undefined:
		e.WriteUint8(tagUndefined)
	case bool:
		if x {
			e.WriteUint8(tagTrue)
		} else {
			e.WriteUint8(tagFalse)
		}
	case string:
		e.WriteUint8(tagString)
		e.WriteVarString(x)
	case float64:
		e.WriteNumber(x)
	case float32:
		e.WriteNumber(float64(x))
	case int:
		e.WriteNumber(float64(x))
	case int8:
		e.WriteNumber(float64(x))
	case int16:
		e.WriteNumber(float64(x))
	case int32:
		e.WriteNumber(float64(x))
	case int64:
		e.WriteNumber(float64(x))
	case uint:
		e.WriteNumber(float64(x))
	case uint8:
		e.WriteNumber(float64(x))
	case uint16:
		e.WriteNumber(float64(x))
	case uint32:
		e.WriteNumber(float64(x))
	case uint64:
		e.WriteNumber(float64(x))
	case BigInt:
		e.WriteUint8(tagBigInt)
		e.WriteBigInt64(int64(x))
	case []byte:
		e.WriteUint8(tagBytes)
		e.WriteVarBytes(x)
	case []any:
		e.WriteUint8(tagArray)
		e.WriteVarUint(uint64(len(x)))
		for _, el := range x {
			if err := e.writeAny(el, depth+1); err != nil {
				return err
			}
		}
	case Object:
		e.WriteUint8(tagObject)
		e.WriteVarUint(uint64(len(x)))
		for _, f := range x {
			e.WriteVarString(f.Key)
			if err := e.writeAny(f.Value, depth+1); err != nil {
				return err
			}
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		e.WriteUint8(tagObject)
		e.WriteVarUint(uint64(len(keys)))
		for _, k := range keys {
			e.WriteVarString(k)
			if err := e.writeAny(x[k], depth+1); err != nil {
				return err
			}
		}
	default:
		return e.writeReflect(v, depth)
	}
	return nil
}

// writeReflect handles typed slices and maps ([]string, map[string]int, ...).
func (e *Encoder) writeReflect(v any, depth int) error {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		e.WriteUint8(tagArray)
		e.WriteVarUint(uint64(rv.Len()))
		for i := 0; i < rv.Len(); i++ {
			if err := e.writeAny(rv.Index(i).Interface(), depth+1); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			break
		}
		keys := make([]string, 0, rv.Len())
		for _, k := range rv.MapKeys() {
			keys = append(keys, k.String())
		}
		sort.Strings(keys)
		e.WriteUint8(tagObject)
		e.WriteVarUint(uint64(len(keys)))
		for _, k := range keys {
			e.WriteVarString(k)
			if err := e.writeAny(rv.MapIndex(reflect.ValueOf(k).Convert(rv.Type().Key())).Interface(), depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("%w: %T", ErrUnsupportedValue, v)
}

// WriteNumber writes a JavaScript number with the tag lib0 would choose:
// integers within 31 bits as var-int, values exact in float32 as float32,
// everything else as float64.
func (e *Encoder) WriteNumber(f float64) {
	if f == math.Trunc(f) && math.Abs(f) <= math.MaxInt32 {
		e.WriteUint8(tagInteger)
		e.writeVarIntMagnitude(uint64(math.Abs(f)), math.Signbit(f))
		return
	}
	if float64(float32(f)) == f {
		e.WriteUint8(tagFloat32)
		e.WriteFloat32(float32(f))
		return
	}
	e.WriteUint8(tagFloat64)
	if f != f {
		// JavaScript engines write one canonical NaN; Go's math.NaN() has
		// another payload.
		f = math.Float64frombits(canonicalNaN)
	}
	e.WriteFloat64(f)
}

// canonicalNaN is the NaN bit pattern V8 writes through a DataView.
const canonicalNaN = 0x7ff8000000000000

// ReadAny decodes one lib0 Any value.
func (d *Decoder) ReadAny() (any, error) {
	return d.readAny(0)
}

func (d *Decoder) readAny(depth int) (any, error) {
	if depth > MaxAnyDepth {
		return nil, ErrTooDeep
	}
	tag, err := d.ReadUint8()
	if err != nil {
		return nil, err
	}
	switch tag {
	case tagUndefined:
		return Undefined{}, nil
	case tagNull:
		return nil, nil
	case tagInteger:
		v, neg, err := d.ReadVarInt()
		if err != nil {
			return nil, err
		}
		if v == 0 && neg {
			return math.Copysign(0, -1), nil
		}
		return float64(v), nil
	case tagFloat32:
		f, err := d.ReadFloat32()
		return float64(f), err
	case tagFloat64:
		return d.ReadFloat64()
	case tagBigInt:
		i, err := d.ReadBigInt64()
		return BigInt(i), err
	case tagFalse:
		return false, nil
	case tagTrue:
		return true, nil
	case tagString:
		return d.ReadVarString()
	case tagObject:
		n, err := d.ReadVarUint()
		if err != nil {
			return nil, err
		}
		// Each field takes at least two bytes (key length, value tag).
		if n > uint64(d.Remaining())/2 {
			return nil, ErrLengthExceedsInput
		}
		obj := make(Object, 0, prealloc(n, depth))
		for i := uint64(0); i < n; i++ {
			k, err := d.ReadVarString()
			if err != nil {
				return nil, err
			}
			v, err := d.readAny(depth + 1)
			if err != nil {
				return nil, err
			}
			obj = append(obj, Field{Key: k, Value: v})
		}
		return jsObject(obj, true), nil
	case tagArray:
		n, err := d.ReadVarUint()
		if err != nil {
			return nil, err
		}
		if n > uint64(d.Remaining()) {
			return nil, ErrLengthExceedsInput
		}
		arr := make([]any, 0, prealloc(n, depth))
		for i := uint64(0); i < n; i++ {
			v, err := d.readAny(depth + 1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		return arr, nil
	case tagBytes:
		b, err := d.ReadVarBytes()
		if err != nil {
			return nil, err
		}
		return append([]byte(nil), b...), nil
	}
	return nil, fmt.Errorf("%w %d at offset %d", ErrUnknownAnyTag, tag, d.pos-1)
}

// prealloc returns the capacity to reserve for a container claiming n
// elements. Only the outermost container trusts its (already bounded)
// claim: a chain of nested containers, each claiming the rest of the input,
// would otherwise reserve the input size once per level.
func prealloc(n uint64, depth int) int {
	if depth > 0 && n > 8 {
		return 8
	}
	return int(n)
}

// jsObject rearranges decoded fields the way a JavaScript object built by
// assigning them in order ends up: a repeated key keeps its first position
// and its last value, "__proto__" is not an own property, and keys that are
// array indexes come first in ascending numeric order. Yjs reads objects
// into JavaScript objects, so this is the order it writes them back in.
func jsObject(obj Object, dropProto bool) Object {
	needs := false
	for i, f := range obj {
		if (dropProto && f.Key == "__proto__") || isArrayIndex(f.Key) {
			needs = true
			break
		}
		for _, g := range obj[:i] {
			if g.Key == f.Key {
				needs = true
			}
		}
	}
	if !needs {
		return obj
	}
	var idx, named Object
	pos := map[string]int{}
	for _, f := range obj {
		if dropProto && f.Key == "__proto__" {
			continue
		}
		if p, ok := pos[f.Key]; ok {
			if isArrayIndex(f.Key) {
				idx[p].Value = f.Value
			} else {
				named[p].Value = f.Value
			}
			continue
		}
		if isArrayIndex(f.Key) {
			pos[f.Key] = len(idx)
			idx = append(idx, f)
		} else {
			pos[f.Key] = len(named)
			named = append(named, f)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool {
		na, _ := strconv.ParseUint(idx[a].Key, 10, 32)
		nb, _ := strconv.ParseUint(idx[b].Key, 10, 32)
		return na < nb
	})
	return append(idx, named...)
}

// OrderLikeJSONParse arranges an object's fields as JSON.parse would
// create them: index keys first in numeric order, a repeated key in its
// first place with its last value ("__proto__" stays an ordinary key).
func OrderLikeJSONParse(obj Object) Object { return jsObject(obj, false) }

// isArrayIndex reports whether k is a canonical array index ("0" ..
// "4294967294"), which JavaScript orders before other keys.
func isArrayIndex(k string) bool {
	if k == "" || len(k) > 10 || (len(k) > 1 && k[0] == '0') {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < '0' || k[i] > '9' {
			return false
		}
	}
	n, err := strconv.ParseUint(k, 10, 64)
	return err == nil && n < 1<<32-1
}
