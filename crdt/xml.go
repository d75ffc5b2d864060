package crdt

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/quirehq/quire/crdt/lib0"
)

// The XML types are Yjs's model of a DOM tree: a fragment is a list of
// nodes, an element is a named fragment with attributes (kept in the map
// part of its type), an XML text is rich text whose formatting renders as
// nested tags, and a hook is a map that an editor renders itself. Their
// String methods reproduce Yjs's toString output exactly, including the
// JavaScript conversions of non-string values.

// XmlFragment is a shared list of XML nodes (Y.XmlFragment).
type XmlFragment struct{ b *branch }

// XmlElement is a shared XML element with attributes and children.
type XmlElement struct{ b *branch }

// XmlText is shared rich text inside XML (Y.XmlText).
type XmlText struct{ b *branch }

// XmlHook is a shared map that an editor renders specially (Y.XmlHook).
type XmlHook struct{ b *branch }

// XmlFragment returns the root XML fragment named name.
func (d *Doc) XmlFragment(name string) (*XmlFragment, error) {
	b, err := d.rootOfKind(name, KindXmlFragment)
	if err != nil {
		return nil, err
	}
	return &XmlFragment{b}, nil
}

// ---------------------------------------------------------------------------
// Node lists (fragments and elements)

func xmlInsert(txn *Transaction, b *branch, index int, nodes []NewType) ([]any, error) {
	if err := b.checkAlive(); err != nil {
		return nil, err
	}
	if index < 0 || index > b.length {
		return nil, ErrIndexOutOfRange
	}
	if len(nodes) == 0 {
		return nil, nil
	}
	values := make([]any, len(nodes))
	for i, n := range nodes {
		values[i] = n
	}
	var created []*branch
	var err error
	withTxn(b, txn, func(txn2 *Transaction) {
		created, err = b.insert(txn2, index, values)
	})
	return publics(created), err
}

func xmlDelete(txn *Transaction, b *branch, index, length int) error {
	if err := b.checkAlive(); err != nil {
		return err
	}
	if index < 0 || length < 0 || index+length > b.length {
		return ErrIndexOutOfRange
	}
	var err error
	withTxn(b, txn, func(txn2 *Transaction) {
		err = b.deleteRange(txn2, index, length)
	})
	return err
}

// xmlChildrenString concatenates the string forms of a node list's
// children, as YXmlFragment.toString does.
func xmlChildrenString(b *branch) string {
	var sb strings.Builder
	for n := b.start; n != nil; n = n.right {
		if !n.visible() {
			continue
		}
		if c, ok := n.str(); ok {
			// One value per UTF-16 unit in Yjs; joined they are the string.
			sb.WriteString(c)
			continue
		}
		for _, v := range n.content().values() {
			sb.WriteString(jsString(v))
		}
	}
	return sb.String()
}

// Len returns the number of children.
func (x *XmlFragment) Len() int { return x.b.length }

// Children returns the children: node handles (*XmlElement, *XmlText,
// *XmlHook, ...), or plain values a remote replica put there.
func (x *XmlFragment) Children() []any { return x.b.listValues() }

// Get returns the child at index.
func (x *XmlFragment) Get(index int) (any, bool) { return x.b.listGet(index) }

// Insert creates nodes at index and returns their handles.
func (x *XmlFragment) Insert(txn *Transaction, index int, nodes ...NewType) ([]any, error) {
	return xmlInsert(txn, x.b, index, nodes)
}

// Delete removes length children from index.
func (x *XmlFragment) Delete(txn *Transaction, index, length int) error {
	return xmlDelete(txn, x.b, index, length)
}

// String returns the children's XML, concatenated.
func (x *XmlFragment) String() string { return xmlChildrenString(x.b) }

// Name returns the element's node name.
func (x *XmlElement) Name() string { return x.b.name }

// Len returns the number of children.
func (x *XmlElement) Len() int { return x.b.length }

// Children returns the children (see XmlFragment.Children).
func (x *XmlElement) Children() []any { return x.b.listValues() }

// Get returns the child at index.
func (x *XmlElement) Get(index int) (any, bool) { return x.b.listGet(index) }

// Insert creates nodes at index and returns their handles.
func (x *XmlElement) Insert(txn *Transaction, index int, nodes ...NewType) ([]any, error) {
	return xmlInsert(txn, x.b, index, nodes)
}

// Delete removes length children from index.
func (x *XmlElement) Delete(txn *Transaction, index, length int) error {
	return xmlDelete(txn, x.b, index, length)
}

// SetAttribute sets an attribute. Values are usually strings; like Yjs,
// any value a map accepts is allowed (a NewType creates a nested type).
func (x *XmlElement) SetAttribute(txn *Transaction, key string, value any) error {
	return typeSetAttribute(txn, x.b, key, value)
}

// RemoveAttribute removes an attribute.
func (x *XmlElement) RemoveAttribute(txn *Transaction, key string) error {
	return typeRemoveAttribute(txn, x.b, key)
}

// GetAttribute returns the value of an attribute.
func (x *XmlElement) GetAttribute(key string) (any, bool) { return x.b.mapGet(key) }

// Attributes returns all attributes.
func (x *XmlElement) Attributes() map[string]any { return typeAttributes(x.b) }

// String renders the element as `<name a="1" b="2">children</name>`, with
// the name lower-cased and the attributes sorted by key.
func (x *XmlElement) String() string {
	keys := x.b.mapKeys()
	slices.SortFunc(keys, jsCompare)
	name := jsToLower(x.b.name)
	var sb strings.Builder
	sb.WriteByte('<')
	sb.WriteString(name)
	for _, k := range keys {
		v, _ := x.b.mapGet(k)
		sb.WriteByte(' ')
		sb.WriteString(k)
		sb.WriteString(`="`)
		sb.WriteString(jsString(v))
		sb.WriteByte('"')
	}
	sb.WriteByte('>')
	sb.WriteString(xmlChildrenString(x.b))
	sb.WriteString("</")
	sb.WriteString(name)
	sb.WriteByte('>')
	return sb.String()
}

// ---------------------------------------------------------------------------
// XmlText: rich text with Text's operations

// Len returns the length in UTF-16 code units.
func (x *XmlText) Len() int { return x.b.length }

// Insert inserts s at index (see Text.Insert).
func (x *XmlText) Insert(txn *Transaction, index int, s string, attrs Attrs) error {
	return textInsert(txn, x.b, index, s, attrs)
}

// InsertEmbed inserts an embed at index (see Text.InsertEmbed).
func (x *XmlText) InsertEmbed(txn *Transaction, index int, embed any, attrs Attrs) (any, error) {
	return textInsertEmbed(txn, x.b, index, embed, attrs)
}

// Delete removes length units from index (see Text.Delete).
func (x *XmlText) Delete(txn *Transaction, index, length int) error {
	return textDelete(txn, x.b, index, length)
}

// Format applies attrs to a range (see Text.Format).
func (x *XmlText) Format(txn *Transaction, index, length int, attrs Attrs) error {
	return textFormat(txn, x.b, index, length, attrs)
}

// Delta returns the content as runs with their attributes.
func (x *XmlText) Delta() []DeltaOp { return textDelta(x.b) }

// SetAttribute sets an attribute of the text node.
func (x *XmlText) SetAttribute(txn *Transaction, key string, value any) error {
	return typeSetAttribute(txn, x.b, key, value)
}

// GetAttribute returns an attribute of the text node.
func (x *XmlText) GetAttribute(key string) (any, bool) { return x.b.mapGet(key) }

// RemoveAttribute removes an attribute of the text node.
func (x *XmlText) RemoveAttribute(txn *Transaction, key string) error {
	return typeRemoveAttribute(txn, x.b, key)
}

// Attributes returns the attributes of the text node.
func (x *XmlText) Attributes() map[string]any { return typeAttributes(x.b) }

// String renders the text as XML: each run of the delta wrapped in one tag
// per formatting attribute (tags sorted by name, the attribute value's
// properties as sorted XML attributes), as YXmlText.toString does.
func (x *XmlText) String() string {
	var sb strings.Builder
	type tag struct {
		name  string
		attrs []lib0.Field
	}
	for _, op := range textDelta(x.b) {
		var tags []tag
		for _, f := range jsObjectOrder(op.Attributes) {
			props := slices.Clone(jsEntries(f.Value))
			slices.SortStableFunc(props, func(a, b lib0.Field) int { return jsCompare(a.Key, b.Key) })
			tags = append(tags, tag{f.Key, props})
		}
		slices.SortStableFunc(tags, func(a, b tag) int { return jsCompare(a.name, b.name) })
		for _, t := range tags {
			sb.WriteByte('<')
			sb.WriteString(t.name)
			for _, p := range t.attrs {
				sb.WriteByte(' ')
				sb.WriteString(p.Key)
				sb.WriteString(`="`)
				sb.WriteString(jsString(p.Value))
				sb.WriteByte('"')
			}
			sb.WriteByte('>')
		}
		sb.WriteString(jsString(op.Insert))
		for i := len(tags) - 1; i >= 0; i-- {
			sb.WriteString("</")
			sb.WriteString(tags[i].name)
			sb.WriteByte('>')
		}
	}
	return sb.String()
}

// ---------------------------------------------------------------------------
// XmlHook

// Name returns the hook name.
func (x *XmlHook) Name() string { return x.b.name }

// Set writes value under key (values as for Map.Set).
func (x *XmlHook) Set(txn *Transaction, key string, value any) (any, error) {
	return (&Map{x.b}).Set(txn, key, value)
}

// Get returns the value of key.
func (x *XmlHook) Get(key string) (any, bool) { return x.b.mapGet(key) }

// Delete removes key.
func (x *XmlHook) Delete(txn *Transaction, key string) error {
	return (&Map{x.b}).Delete(txn, key)
}

// Keys returns the keys with values, sorted.
func (x *XmlHook) Keys() []string { return (&Map{x.b}).Keys() }

// ---------------------------------------------------------------------------
// JavaScript string conversions

// jsString converts a value to a string as JavaScript's String(v) does,
// with shared types rendered by their toString (Y.Array, Y.Map and
// Y.XmlHook have none of their own and print as plain objects).
func jsString(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case lib0.Undefined:
		return "undefined"
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case lib0.BigInt:
		return strconv.FormatInt(int64(x), 10)
	case []any:
		parts := make([]string, len(x))
		for i, el := range x {
			switch el.(type) {
			case nil, lib0.Undefined:
			default:
				parts[i] = jsString(el)
			}
		}
		return strings.Join(parts, ",")
	case []byte:
		parts := make([]string, len(x))
		for i, el := range x {
			parts[i] = strconv.Itoa(int(el))
		}
		return strings.Join(parts, ",")
	case *Text:
		return x.String()
	case *XmlText:
		return x.String()
	case *XmlElement:
		return x.String()
	case *XmlFragment:
		return x.String()
	}
	if f, ok := jsNumber(v); ok {
		return jsNumberString(f)
	}
	return "[object Object]"
}

// jsNumberString formats f as Number.prototype.toString does.
func jsNumberString(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	s, err := stringifyJSON(f)
	if err != nil {
		return "NaN"
	}
	return s
}

// jsCompare orders strings as JavaScript compares them: by UTF-16 code
// units, which differs from Go's byte order for characters above U+FFFF
// against U+E000..U+FFFF.
func jsCompare(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb {
			ua, ub := firstUnit(ra), firstUnit(rb)
			if ua != ub {
				if ua < ub {
					return -1
				}
				return 1
			}
			// Same high surrogate: the low surrogates decide, which are in
			// code point order.
			if ra < rb {
				return -1
			}
			return 1
		}
		a, b = a[na:], b[nb:]
	}
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return -1
	}
	return 1
}

func firstUnit(r rune) rune {
	if r >= 0x10000 {
		hi, _ := utf16.EncodeRune(r)
		return hi
	}
	return r
}

// jsToLower lower-cases s as JavaScript's toLocaleLowerCase does in the
// root locale: Go's simple case mapping plus the two context rules that
// change lengths or depend on position (dotted capital I becomes "i" and a
// combining dot; a capital sigma ending a word becomes a final sigma).
func jsToLower(s string) string {
	if isASCIILowerOnly(s) {
		return s
	}
	runes := []rune(s)
	var sb strings.Builder
	for i, r := range runes {
		switch r {
		case 'İ':
			sb.WriteString("i\u0307")
		case 'Σ':
			if finalSigma(runes, i) {
				sb.WriteRune('ς')
			} else {
				sb.WriteRune('σ')
			}
		default:
			sb.WriteRune(unicode.ToLower(r))
		}
	}
	return sb.String()
}

func isASCIILowerOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || (c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// finalSigma reports whether the sigma at i is preceded by a cased letter
// and not followed by one (ignoring case-ignorable characters).
func finalSigma(rs []rune, i int) bool {
	before := false
	for j := i - 1; j >= 0; j-- {
		if caseIgnorable(rs[j]) {
			continue
		}
		before = cased(rs[j])
		break
	}
	if !before {
		return false
	}
	for j := i + 1; j < len(rs); j++ {
		if caseIgnorable(rs[j]) {
			continue
		}
		return !cased(rs[j])
	}
	return true
}

func cased(r rune) bool {
	return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r)
}

func caseIgnorable(r rune) bool {
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk) ||
		r == '\'' || r == '.' || r == ':' || r == '^' || r == '`' || r == '\u00B7' || r == '\u2019'
}
