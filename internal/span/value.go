package span

import (
	"encoding/base64"
	"math"
	"strconv"
	"unicode/utf8"
)

// ValueType tells which field of a Value holds its content, mirroring OTLP's AnyValue.
type ValueType uint8

const (
	TypeEmpty ValueType = iota
	TypeString
	TypeInt
	TypeDouble
	TypeBool
	TypeBytes
	TypeSlice
	TypeMap
)

// Value is an attribute value: a small tagged union, so that a span's
// attributes cost one allocation per list rather than one per value.
type Value struct {
	Type  ValueType
	Str   string // TypeString; TypeBytes holds raw bytes here
	Int   int64  // TypeInt; TypeBool uses 0/1
	Float float64
	Slice []Value
	Map   Attributes
}

// String, Int, Float, Bool build Values.
func StringValue(s string) Value  { return Value{Type: TypeString, Str: s} }
func IntValue(n int64) Value      { return Value{Type: TypeInt, Int: n} }
func DoubleValue(f float64) Value { return Value{Type: TypeDouble, Float: f} }
func BoolValue(b bool) Value {
	v := Value{Type: TypeBool}
	if b {
		v.Int = 1
	}
	return v
}

// AsString renders scalars as text (what a filter or a preview compares);
// lists and maps render as JSON.
func (v Value) AsString() string {
	switch v.Type {
	case TypeString:
		return v.Str
	case TypeInt:
		return strconv.FormatInt(v.Int, 10)
	case TypeDouble:
		return strconv.FormatFloat(v.Float, 'g', -1, 64)
	case TypeBool:
		return strconv.FormatBool(v.Int != 0)
	case TypeEmpty:
		return ""
	default:
		return string(v.AppendJSON(nil))
	}
}

// AsInt reads an integer from an int, a whole double, or a numeric string
// (some emitters send token counts as strings).
func (v Value) AsInt() (int64, bool) {
	switch v.Type {
	case TypeInt:
		return v.Int, true
	case TypeDouble:
		if v.Float == math.Trunc(v.Float) && math.Abs(v.Float) < 1<<62 {
			return int64(v.Float), true
		}
	case TypeString:
		if n, err := strconv.ParseInt(v.Str, 10, 64); err == nil {
			return n, true
		}
		if f, err := strconv.ParseFloat(v.Str, 64); err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<62 {
			return int64(f), true
		}
	}
	return 0, false
}

// AppendJSON appends v as JSON. Bytes become base64 strings; NaN and the
// infinities, which JSON cannot hold, become the strings "NaN", "Infinity" and "-Infinity".
func (v Value) AppendJSON(b []byte) []byte {
	switch v.Type {
	case TypeString:
		return AppendJSONString(b, v.Str)
	case TypeInt:
		return strconv.AppendInt(b, v.Int, 10)
	case TypeDouble:
		switch {
		case math.IsNaN(v.Float):
			return append(b, `"NaN"`...)
		case math.IsInf(v.Float, 1):
			return append(b, `"Infinity"`...)
		case math.IsInf(v.Float, -1):
			return append(b, `"-Infinity"`...)
		}
		if v.Float == math.Trunc(v.Float) && math.Abs(v.Float) < 1e15 {
			// Keep a visible fraction so a reader can tell a double from an int.
			return append(strconv.AppendFloat(b, v.Float, 'f', -1, 64), ".0"...)
		}
		return strconv.AppendFloat(b, v.Float, 'g', -1, 64)
	case TypeBool:
		if v.Int != 0 {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case TypeBytes:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, []byte(v.Str))
		return append(b, '"')
	case TypeSlice:
		b = append(b, '[')
		for i, item := range v.Slice {
			if i > 0 {
				b = append(b, ',')
			}
			b = item.AppendJSON(b)
		}
		return append(b, ']')
	case TypeMap:
		return v.Map.AppendJSON(b)
	default:
		return append(b, "null"...)
	}
}

// Attr is one attribute.
type Attr struct {
	Key   string
	Value Value
}

// Attributes is an ordered attribute list, as OTLP carries it. Lookups are
// linear: spans carry tens to hundreds of attributes and are read a few times.
type Attributes []Attr

// Get returns the value of key.
func (a Attributes) Get(key string) (Value, bool) {
	// From the end: a repeated key has its last value, as in AppendJSON.
	for i := len(a) - 1; i >= 0; i-- {
		if a[i].Key == key {
			return a[i].Value, true
		}
	}
	return Value{}, false
}

// GetString returns the text of a key's value, or "" when absent.
func (a Attributes) GetString(key string) string {
	v, ok := a.Get(key)
	if !ok {
		return ""
	}
	return v.AsString()
}

// Set replaces key's value, or appends it.
func (a *Attributes) Set(key string, v Value) {
	for i := range *a {
		if (*a)[i].Key == key {
			(*a)[i].Value = v
			return
		}
	}
	*a = append(*a, Attr{Key: key, Value: v})
}

// SetDefault sets key only when it is absent, and reports whether it did.
func (a *Attributes) SetDefault(key string, v Value) bool {
	if _, ok := a.Get(key); ok {
		return false
	}
	*a = append(*a, Attr{Key: key, Value: v})
	return true
}

// AppendJSON appends the attributes as one flat JSON object.
// A repeated key keeps its last value, as OTLP says a receiver may.
func (a Attributes) AppendJSON(b []byte) []byte {
	return a.AppendJSONExcept(b, nil)
}

// AppendJSONExcept is AppendJSON leaving out the keys for which skip returns true.
func (a Attributes) AppendJSONExcept(b []byte, skip func(key string) bool) []byte {
	// A long list has where each key last occurs looked up, not scanned
	// for: scanning is quadratic, and a span can carry thousands.
	var last map[string]int
	if len(a) > shadowScanMax {
		last = make(map[string]int, len(a))
		for i := range a {
			last[a[i].Key] = i
		}
	}
	b = append(b, '{')
	first := true
	for i := range a {
		if skip != nil && skip(a[i].Key) {
			continue
		}
		if last != nil && last[a[i].Key] != i || last == nil && a.shadowed(i) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = AppendJSONString(b, a[i].Key)
		b = append(b, ':')
		b = a[i].Value.AppendJSON(b)
	}
	return append(b, '}')
}

// shadowScanMax is the longest attribute list whose repeated keys are found
// by scanning: below it, scanning costs less than building a map.
const shadowScanMax = 64

// shadowed reports whether a later attribute has the same key as a[i].
func (a Attributes) shadowed(i int) bool {
	for j := i + 1; j < len(a); j++ {
		if a[j].Key == a[i].Key {
			return true
		}
	}
	return false
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// as encoding/json does, so the stored document is always valid JSON.
func AppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript embedding.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
