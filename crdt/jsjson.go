package crdt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/quirehq/quire/crdt/lib0"
)

// Yjs stores embeds, format attribute values and legacy JSON content as
// JSON text. These helpers read and write JSON the way JavaScript's JSON
// does: objects keep their key order, numbers are float64, and output is
// byte-identical to JSON.stringify.

var errJSONTrailing = errors.New("trailing data after JSON value")

// parseJSON parses one JSON value into lib0 Any form (lib0.Object for
// objects, []any, float64, string, bool, nil).
func parseJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	v, err := parseJSONValue(dec, 0)
	if err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errJSONTrailing
	}
	return v, nil
}

func parseJSONValue(dec *json.Decoder, depth int) (any, error) {
	if depth > lib0.MaxAnyDepth {
		return nil, lib0.ErrTooDeep
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			obj := lib0.Object{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := parseJSONValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				replaced := false
				for i := range obj {
					if obj[i].Key == k {
						obj[i].Value, replaced = v, true
					}
				}
				if !replaced {
					obj = append(obj, lib0.Field{Key: k, Value: v})
				}
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return lib0.OrderLikeJSONParse(obj), nil
		case '[':
			arr := []any{}
			for dec.More() {
				v, err := parseJSONValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return arr, nil
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case json.Number:
		return strconv.ParseFloat(string(t), 64)
	default:
		return t, nil // string, bool, nil
	}
}

// stringifyJSON writes v as JSON.stringify would. Values JSON cannot hold
// follow JavaScript: undefined is dropped from objects and becomes null in
// arrays, non-finite numbers become null, byte arrays become objects keyed
// by index. A BigInt is an error, as in JavaScript.
func stringifyJSON(v any) (string, error) {
	var buf bytes.Buffer
	if err := writeJSON(&buf, v, 0); err != nil {
		return "", err
	}
	return buf.String(), nil
}

func writeJSON(buf *bytes.Buffer, v any, depth int) error {
	if depth > lib0.MaxAnyDepth {
		return lib0.ErrTooDeep
	}
	switch x := v.(type) {
	case nil, lib0.Undefined:
		buf.WriteString("null")
	case bool:
		buf.WriteString(strconv.FormatBool(x))
	case string:
		writeJSONString(buf, x)
	case lib0.BigInt:
		return fmt.Errorf("%w: BigInt cannot be JSON", ErrUnsupportedValue)
	case []byte:
		buf.WriteByte('{')
		for i, c := range x {
			if i > 0 {
				buf.WriteByte(',')
			}
			fmt.Fprintf(buf, "\"%d\":%d", i, c)
		}
		buf.WriteByte('}')
	case []any:
		buf.WriteByte('[')
		for i, el := range x {
			if i > 0 {
				buf.WriteByte(',')
			}
			if _, undef := el.(lib0.Undefined); undef {
				buf.WriteString("null")
				continue
			}
			if err := writeJSON(buf, el, depth+1); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case lib0.Object:
		buf.WriteByte('{')
		first := true
		for _, f := range x {
			if _, undef := f.Value.(lib0.Undefined); undef {
				continue
			}
			if !first {
				buf.WriteByte(',')
			}
			first = false
			writeJSONString(buf, f.Key)
			buf.WriteByte(':')
			if err := writeJSON(buf, f.Value, depth+1); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	default:
		// Numbers and Go collections: normalise through the Any encoding
		// (which turns maps into sorted objects and numbers into float64).
		n := normalizeAny(v)
		if f, ok := n.(float64); ok {
			writeJSONNumber(buf, f)
			return nil
		}
		switch n.(type) {
		case []any, lib0.Object:
			return writeJSON(buf, n, depth)
		}
		return fmt.Errorf("%w: %T", ErrUnsupportedValue, v)
	}
	return nil
}

func writeJSONNumber(buf *bytes.Buffer, f float64) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		buf.WriteString("null")
		return
	}
	if f == 0 {
		buf.WriteByte('0') // JavaScript prints -0 as 0
		return
	}
	// encoding/json formats floats as ECMAScript's Number#toString does.
	b, _ := json.Marshal(f)
	buf.Write(b)
}

func writeJSONString(buf *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	buf.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			buf.WriteByte(c)
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			_, size := utf8.DecodeRuneInString(s[i:])
			buf.WriteString(s[i : i+size])
			i += size
			continue
		}
		switch c {
		case '"':
			buf.WriteString(`\"`)
		case '\\':
			buf.WriteString(`\\`)
		case '\b':
			buf.WriteString(`\b`)
		case '\f':
			buf.WriteString(`\f`)
		case '\n':
			buf.WriteString(`\n`)
		case '\r':
			buf.WriteString(`\r`)
		case '\t':
			buf.WriteString(`\t`)
		default:
			buf.WriteString(`\u00`)
			buf.WriteByte(hex[c>>4])
			buf.WriteByte(hex[c&0xf])
		}
		i++
	}
	buf.WriteByte('"')
}

// normalizeJSON returns JSON text as JSON.stringify(JSON.parse(s)) would.
func normalizeJSON(s string) (string, error) {
	v, err := parseJSON(s)
	if err != nil {
		return "", err
	}
	return stringifyJSON(v)
}
