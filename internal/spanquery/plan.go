package spanquery

import (
	"encoding/json"
	"math"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/loupe-dev/loupe/internal/span"
)

// The default frame reshapes every span's attributes with Phoenix's
// unflatten and flatten (frameAttributes), which, done on maps, costs most
// of an export. What the reshaping gives depends on the document's shape
// alone (its keys, the kind of each value, the lengths of its lists, what
// its JSON-string attributes parse to) and not on its scalars, and the
// spans of one instrumentation share a few shapes. So each shape is
// reshaped once, with its scalars standing in as numbered placeholders
// (leafRef), into a plan: the columns it gives, each a template naming the
// scalars it holds. A span then costs one walk over its attributes text,
// which finds its shape and where each scalar's text is, and its row is
// written from the plan's templates, the scalars copied from the text:
// no maps, no decoding but of escaped strings. A document the walk cannot
// take as Phoenix would (text that is not JSON, nesting beyond
// span.MaxJSONDepth, a JSON-string attribute nested in an object) goes
// the exact way, frameAttributes on maps.

// leaf is a scalar of an attributes document.
type leaf struct {
	raw []byte // the JSON text: a string with its quotes, a number, true or false
	// kind is the scalar's kind as the shape writes it: 's', 'i', 'f'
	// or 'b'.
	kind byte
	// plain says that a string's text between its quotes is its value:
	// no escapes, valid UTF-8.
	plain bool
}

// leafRef stands for a document's scalar, by position, while a shape is
// reshaped into a plan.
type leafRef int

// dropped is what a JSON-string attribute that parses to an empty or
// false-like value becomes: no attribute, as loadJSONStrings drops it.
type dropped struct{}

// docWalk walks attributes documents. It is reused from span to span.
type docWalk struct {
	shape  []byte // the shape of the document walked last
	leaves []leaf // its scalars, in the order of the text
	path   []byte // the dotted path of the value being walked
	build  bool   // also build the document, scalars as leafRefs
}

// walk reads doc, a span's flat attributes, and reports whether the fast
// path can take it. With w.build it returns the document too.
func (w *docWalk) walk(doc []byte) (map[string]any, bool) {
	w.shape, w.leaves, w.path = w.shape[:0], w.leaves[:0], w.path[:0]
	i := skipSpace(doc, 0)
	if i >= len(doc) || doc[i] != '{' {
		return nil, false
	}
	v, i, ok := w.object(doc, i, 1, true)
	if !ok || skipSpace(doc, i) != len(doc) {
		return nil, false
	}
	m, _ := v.(map[string]any)
	return m, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// value walks the value at doc[i], inside depth lists and objects; top
// says it is a value of the flat document, whose JSON-string attributes
// Phoenix parses.
func (w *docWalk) value(doc []byte, i, depth int, top bool) (any, int, bool) {
	if i >= len(doc) {
		return nil, i, false
	}
	switch c := doc[i]; {
	case c == '{':
		return w.object(doc, i, depth+1, false)
	case c == '[':
		return w.array(doc, i, depth+1)
	case c == '"':
		end, plain, ok := stringEnd(doc, i)
		if !ok {
			return nil, i, false
		}
		if isJSONStringAttribute(unsafeString(w.path)) {
			return w.jsonString(doc[i:end], plain, depth, top, end)
		}
		w.shape = append(w.shape, 's')
		w.leaves = append(w.leaves, leaf{raw: doc[i:end], kind: 's', plain: plain})
		return w.ref(), end, true
	case c == 't' || c == 'f':
		lit := "true"
		if c == 'f' {
			lit = "false"
		}
		if len(doc)-i < len(lit) || string(doc[i:i+len(lit)]) != lit {
			return nil, i, false
		}
		w.shape = append(w.shape, 'b')
		w.leaves = append(w.leaves, leaf{raw: doc[i : i+len(lit)], kind: 'b'})
		return w.ref(), i + len(lit), true
	case c == 'n':
		if len(doc)-i < 4 || string(doc[i:i+4]) != "null" {
			return nil, i, false
		}
		w.shape = append(w.shape, 'n')
		return nil, i + 4, true
	case c == '-' || c >= '0' && c <= '9':
		end, kind, ok := numberEnd(doc, i)
		if !ok {
			return nil, i, false
		}
		w.shape = append(w.shape, kind)
		w.leaves = append(w.leaves, leaf{raw: doc[i:end], kind: kind})
		return w.ref(), end, true
	}
	return nil, i, false
}

// ref is the placeholder of the leaf added last, when building.
func (w *docWalk) ref() any {
	if !w.build {
		return nil
	}
	return leafRef(len(w.leaves) - 1)
}

// object walks the object at doc[i], the depth-th level; flat says it is
// the flat document.
func (w *docWalk) object(doc []byte, i, depth int, flat bool) (any, int, bool) {
	if depth > span.MaxJSONDepth {
		return nil, i, false
	}
	w.shape = append(w.shape, '{')
	var m map[string]any
	if w.build {
		m = map[string]any{}
	}
	i = skipSpace(doc, i+1)
	if i < len(doc) && doc[i] == '}' {
		w.shape = append(w.shape, '}')
		return m, i + 1, true
	}
	for {
		if i >= len(doc) || doc[i] != '"' {
			return nil, i, false
		}
		end, plain, ok := stringEnd(doc, i)
		if !ok {
			return nil, i, false
		}
		rawKey := doc[i:end]
		key, ok := stringValue(rawKey, plain)
		if !ok {
			return nil, i, false
		}
		w.shape = append(append(w.shape, rawKey...), ':')
		n := len(w.path)
		if !flat {
			w.path = append(w.path, '.')
		}
		w.path = append(w.path, key...)
		i = skipSpace(doc, end)
		if i >= len(doc) || doc[i] != ':' {
			return nil, i, false
		}
		var v any
		v, i, ok = w.value(doc, skipSpace(doc, i+1), depth, flat)
		w.path = w.path[:n]
		if !ok {
			return nil, i, false
		}
		if w.build {
			if _, drop := v.(dropped); drop {
				// A key seen twice keeps its last value, as decoding does.
				delete(m, key)
			} else {
				m[string([]byte(key))] = v
			}
		}
		i = skipSpace(doc, i)
		if i >= len(doc) {
			return nil, i, false
		}
		switch doc[i] {
		case ',':
			w.shape = append(w.shape, ',')
			i = skipSpace(doc, i+1)
		case '}':
			w.shape = append(w.shape, '}')
			return m, i + 1, true
		default:
			return nil, i, false
		}
	}
}

func (w *docWalk) array(doc []byte, i, depth int) (any, int, bool) {
	if depth > span.MaxJSONDepth {
		return nil, i, false
	}
	w.shape = append(w.shape, '[')
	var l []any
	if w.build {
		l = []any{}
	}
	i = skipSpace(doc, i+1)
	if i < len(doc) && doc[i] == ']' {
		w.shape = append(w.shape, ']')
		return l, i + 1, true
	}
	for k := 0; ; k++ {
		n := len(w.path)
		w.path = strconv.AppendInt(append(w.path, '.'), int64(k), 10)
		v, j, ok := w.value(doc, i, depth, false)
		w.path = w.path[:n]
		if !ok {
			return nil, j, false
		}
		if w.build {
			l = append(l, v)
		}
		i = skipSpace(doc, j)
		if i >= len(doc) {
			return nil, i, false
		}
		switch doc[i] {
		case ',':
			w.shape = append(w.shape, ',')
			i = skipSpace(doc, i+1)
		case ']':
			w.shape = append(w.shape, ']')
			return l, i + 1, true
		default:
			return nil, i, false
		}
	}
}

// jsonString walks a string under a JSON-string attribute, raw being its
// text: Phoenix parses the flat document's, and drops those that parse to
// an empty or false-like value. One nested in an object is parsed at
// another step of the reshaping, which the fast path does not follow.
func (w *docWalk) jsonString(raw []byte, plain bool, depth int, top bool, end int) (any, int, bool) {
	if !top {
		return nil, end, false
	}
	text, ok := stringValue(raw, plain)
	if !ok {
		return nil, end, false
	}
	inner := []byte(text)
	if plain {
		inner = raw[1 : len(raw)-1]
	}
	w.shape = append(w.shape, 'j')
	start := skipSpace(inner, 0)
	if !truthyText(inner[start:]) {
		// An empty or false-like value is valid JSON only if it parses.
		if !validJSON(inner) {
			return nil, end, false
		}
		w.shape = append(w.shape, '0')
		if w.build {
			return dropped{}, end, true
		}
		return nil, end, true
	}
	v, j, ok := w.value(inner, start, depth, false)
	if !ok || skipSpace(inner, j) != len(inner) {
		// Text that is not JSON stays text; the exact path keeps it so.
		return nil, end, false
	}
	return v, end, true
}

// truthyText is Python's truth test on the value JSON text starts with:
// false for null, false, 0, "", [] and {}.
func truthyText(t []byte) bool {
	if len(t) == 0 {
		return false
	}
	switch t[0] {
	case 'n':
		return false
	case 'f':
		return false
	case '"':
		return len(t) < 2 || t[1] != '"'
	case '[', '{':
		close := byte(']')
		if t[0] == '{' {
			close = '}'
		}
		j := skipSpace(t, 1)
		return j >= len(t) || t[j] != close
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		end, _, ok := numberEnd(t, 0)
		if !ok {
			return true
		}
		f, _ := strconv.ParseFloat(string(t[:end]), 64)
		return f != 0
	}
	return true
}

func validJSON(t []byte) bool {
	var v any
	return json.Unmarshal(t, &v) == nil
}

// stringEnd finds the end of the JSON string at doc[i] (after its closing
// quote), and whether its text between the quotes is its value. Its
// escapes are checked, so that stringValue cannot fail on it.
func stringEnd(doc []byte, i int) (end int, plain, ok bool) {
	plain = true
	ascii := true
	for j := i + 1; j < len(doc); j++ {
		switch c := doc[j]; {
		case c == '"':
			if !ascii && plain && !utf8.Valid(doc[i+1:j]) {
				plain = false
			}
			return j + 1, plain, true
		case c == '\\':
			plain = false
			j++
			if j >= len(doc) {
				return 0, false, false
			}
			switch doc[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(doc)-j <= 4 {
					return 0, false, false
				}
				for _, h := range doc[j+1 : j+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return 0, false, false
					}
				}
				j += 4
			default:
				return 0, false, false
			}
		case c < 0x20:
			return 0, false, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return 0, false, false
}

// stringValue is the value of the JSON string raw, as decoding gives it.
func stringValue(raw []byte, plain bool) (string, bool) {
	if plain {
		return unsafeString(raw[1 : len(raw)-1]), true
	}
	b, ok := appendUnquoted(nil, raw)
	return string(b), ok
}

// appendUnquoted appends the value of the JSON string raw, as
// encoding/json decodes it: a lone or broken surrogate, and a byte that is
// not UTF-8, become U+FFFD.
func appendUnquoted(b, raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return b, false
	}
	s := raw[1 : len(raw)-1]
	for r := 0; r < len(s); {
		switch c := s[r]; {
		case c == '\\':
			r++
			if r >= len(s) {
				return b, false
			}
			switch s[r] {
			case '"', '\\', '/':
				b = append(b, s[r])
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				rr := hex4(s[r+1:])
				if rr < 0 {
					return b, false
				}
				r += 5
				if utf16.IsSurrogate(rr) {
					if r+1 < len(s) && s[r] == '\\' && s[r+1] == 'u' {
						if dec := utf16.DecodeRune(rr, hex4(s[r+2:])); dec != unicode.ReplacementChar {
							b = utf8.AppendRune(b, dec)
							r += 6
							continue
						}
					}
					rr = unicode.ReplacementChar
				}
				b = utf8.AppendRune(b, rr)
				continue
			default:
				return b, false
			}
			r++
		case c == '"' || c < ' ':
			return b, false
		case c < utf8.RuneSelf:
			b = append(b, c)
			r++
		default:
			rr, size := utf8.DecodeRune(s[r:])
			r += size
			b = utf8.AppendRune(b, rr)
		}
	}
	return b, true
}

// hex4 is the value of the four hex digits s starts with, or -1.
func hex4(s []byte) rune {
	if len(s) < 4 {
		return -1
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// numberEnd finds the end of the JSON number at doc[i], and its kind: 'i'
// for a whole number int64 holds, written without fraction or exponent,
// 'f' for any other, as decodeJSONValue reads them.
func numberEnd(doc []byte, i int) (int, byte, bool) {
	j := i
	if j < len(doc) && doc[j] == '-' {
		j++
	}
	digits := func() int {
		k := j
		for j < len(doc) && doc[j] >= '0' && doc[j] <= '9' {
			j++
		}
		return j - k
	}
	if j >= len(doc) {
		return 0, 0, false
	}
	if doc[j] == '0' {
		j++
	} else if digits() == 0 {
		return 0, 0, false
	}
	kind := byte('i')
	if j < len(doc) && doc[j] == '.' {
		j++
		kind = 'f'
		if digits() == 0 {
			return 0, 0, false
		}
	}
	if j < len(doc) && (doc[j] == 'e' || doc[j] == 'E') {
		j++
		kind = 'f'
		if j < len(doc) && (doc[j] == '+' || doc[j] == '-') {
			j++
		}
		if digits() == 0 {
			return 0, 0, false
		}
	}
	if kind == 'i' && j-i > 18 {
		if _, err := strconv.ParseInt(string(doc[i:j]), 10, 64); err != nil {
			kind = 'f'
		}
	}
	return j, kind, true
}

func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// --- plans ---

// attrPlan is what a shape of attributes gives in the default frame.
type attrPlan struct {
	// slow says that the shape's spans take the exact path: its reshaping
	// reads a scalar's value, not only its shape.
	slow bool
	cols []planCol // sorted by name
	// stats are the first pass's stats of each column, once looked up.
	stats []*colStats
	// Once the frame is laid out: the column of cols each attribute
	// column takes (-1 for none), and whether the shape's spans fit the
	// layout at all.
	laidOut bool
	fits    bool
	byCol   []int
}

// planCol is one attribute column a plan gives.
type planCol struct {
	name string
	kind cellKind
	tmpl tmpl
}

// tmpl is a column value with the document's scalars left as holes.
type tmpl struct {
	leaf  int    // the scalar written here, or -1
	value []byte // else, for a value without holes, its JSON text
	list  bool   // else a list of kids, or an object of keys and kids
	keys  [][]byte
	kids  []tmpl
}

// newPlan reshapes a document built by docWalk as frameAttributes does.
func newPlan(doc map[string]any, leaves []leaf) *attrPlan {
	pairs := flattenPairs(storedAttributes(doc), "", true, true, nil)
	for _, p := range pairs {
		if ref, ok := p.val.(leafRef); ok && leaves[ref].kind == 's' && isJSONStringAttribute(p.key) {
			// loadJSONStrings would parse this text here.
			return &attrPlan{slow: true}
		}
	}
	attrs := unflattenPairs(loadJSONStrings(pairs), semanticConventionSet)
	p := &attrPlan{}
	for _, name := range sortedKeys(attrs) {
		v := attrs[name]
		kind := kindOf(v)
		if ref, ok := v.(leafRef); ok {
			kind = leafKind(leaves[ref].kind)
		}
		p.cols = append(p.cols, planCol{name: name, kind: kind, tmpl: newTmpl(v)})
	}
	return p
}

func leafKind(k byte) cellKind {
	switch k {
	case 'i':
		return kindInt
	case 'f':
		return kindFloat
	case 'b':
		return kindBool
	}
	return kindOther
}

func newTmpl(v any) tmpl {
	switch x := v.(type) {
	case leafRef:
		return tmpl{leaf: int(x)}
	case []any:
		t := tmpl{leaf: -1, list: true}
		for _, e := range x {
			t.kids = append(t.kids, newTmpl(e))
		}
		return t
	case map[string]any:
		t := tmpl{leaf: -1}
		for _, k := range sortedKeys(x) {
			t.keys = append(t.keys, append(span.AppendJSONString(nil, k), ':'))
			t.kids = append(t.kids, newTmpl(x[k]))
		}
		return t
	}
	return tmpl{leaf: -1, value: appendCell(nil, v)}
}

// appendTmpl writes t with the scalars of leaves; asFloat writes a whole
// number that is the column's value as a float, as a number column does.
// scratch holds the value of an escaped string while it is written.
func appendTmpl(b []byte, t *tmpl, leaves []leaf, asFloat bool, scratch *[]byte) []byte {
	switch {
	case t.leaf >= 0:
		return appendLeaf(b, &leaves[t.leaf], asFloat, scratch)
	case t.value != nil:
		return append(b, t.value...)
	case t.list:
		b = append(b, '[')
		for i := range t.kids {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendTmpl(b, &t.kids[i], leaves, false, scratch)
		}
		return append(b, ']')
	}
	b = append(b, '{')
	for i := range t.kids {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, t.keys[i]...)
		b = appendTmpl(b, &t.kids[i], leaves, false, scratch)
	}
	return append(b, '}')
}

// appendLeaf writes a scalar as appendCell writes its decoded value.
func appendLeaf(b []byte, l *leaf, asFloat bool, scratch *[]byte) []byte {
	switch l.kind {
	case 's':
		if l.plain {
			return span.AppendJSONString(b, unsafeString(l.raw[1:len(l.raw)-1]))
		}
		// stringEnd checked the escapes.
		*scratch, _ = appendUnquoted((*scratch)[:0], l.raw)
		return span.AppendJSONString(b, unsafeString(*scratch))
	case 'i':
		n, _ := strconv.ParseInt(unsafeString(l.raw), 10, 64)
		if asFloat {
			return appendFloat(b, float64(n))
		}
		return strconv.AppendInt(b, n, 10)
	case 'f':
		f, _ := strconv.ParseFloat(unsafeString(l.raw), 64)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return append(b, "null"...)
		}
		return appendFloat(b, f)
	}
	return append(b, l.raw...)
}

// kindValue is a value of kind k, for fits.
func kindValue(k cellKind) any {
	switch k {
	case kindNull:
		return nil
	case kindInt:
		return int64(0)
	case kindFloat:
		return 0.0
	case kindBool:
		return false
	case kindTime:
		return timestamp(0)
	}
	return ""
}
