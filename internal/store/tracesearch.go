package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/loupe-dev/loupe/internal/span"
)

// SpanText is the text of one span that a search within its trace reads.
type SpanText struct {
	SpanID        string
	Name          string
	StatusMessage string
	Input, Output string
	// Attributes is the flat attribute object without input.value and
	// output.value (span.StoredJSON), Events the stored events array or
	// empty.
	Attributes []byte
	Events     []byte
}

// TraceMatch is a span of a trace whose text contains what was searched for.
type TraceMatch struct {
	SpanID string
	// Field says where the text is: "name", "span id", "status", "input",
	// "output", an attribute key, or an event's name and attribute key.
	Field string
	// The text around the first occurrence, on one line: Before, the
	// occurrence as written (Match), After.
	Before, Match, After string
}

// MaxTraceSearch bounds what a search within a trace looks for, in bytes.
const MaxTraceSearch = 200

// SearchTrace finds the spans of a trace whose name, id, status message,
// input, output, attribute keys and values, or events (exception types,
// messages and tracebacks) contain query, ignoring case. each reads every
// span of the trace, in start order (a backend's EachSpanText). It returns
// the first limit matches, in start order, and how many spans match in all.
// Every span is read: the trace's own text is searched, not an index that
// may trail ingest or leave out names and attributes.
func SearchTrace(ctx context.Context, each func(context.Context, int64, func(*SpanText) error) error,
	traceRowID int64, query string, limit int) ([]TraceMatch, int, error) {
	needle := strings.ToLower(strings.TrimSpace(query))
	switch {
	case needle == "":
		return nil, 0, fmt.Errorf("search within a trace: empty text: %w", ErrInvalidArgument)
	case len(needle) > MaxTraceSearch:
		return nil, 0, fmt.Errorf("search within a trace: %d bytes, at most %d: %w", len(needle), MaxTraceSearch, ErrInvalidArgument)
	}
	m := newMatcher(needle)
	var out []TraceMatch
	total := 0
	err := each(ctx, traceRowID, func(s *SpanText) error {
		if found, ok := m.span(s); ok {
			total++
			if len(out) < limit {
				out = append(out, found)
			}
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

type matcher struct {
	needle []byte // lower case
	// raw is true when the needle holds nothing JSON escapes, so a JSON
	// document whose bytes do not contain it has no key or string that does.
	raw bool
}

func newMatcher(needle string) *matcher {
	raw := !strings.ContainsFunc(needle, func(r rune) bool {
		return r < 0x20 || r == '"' || r == '\\' || r == utf8.RuneError || r == '\u2028' || r == '\u2029'
	})
	return &matcher{needle: []byte(needle), raw: raw}
}

// in reports where text contains the needle, or -1.
func (m *matcher) in(text string) (int, int) {
	if len(text) < len(m.needle) {
		return -1, 0
	}
	return indexFold(text, string(m.needle))
}

func (m *matcher) span(s *SpanText) (TraceMatch, bool) {
	plain := []struct{ field, text string }{
		{"name", s.Name}, {"span id", s.SpanID}, {"status", s.StatusMessage},
		{span.AttrInputValue, s.Input}, {span.AttrOutputValue, s.Output},
	}
	for _, p := range plain {
		if i, n := m.in(p.text); i >= 0 {
			return snippet(s.SpanID, p.field, p.text, i, n), true
		}
	}
	if found, ok := m.object(s.SpanID, "", s.Attributes); ok {
		return found, true
	}
	if len(s.Events) > 0 && m.mayHold(s.Events) {
		for _, e := range span.ReadStoredEvents(s.Events) {
			if i, n := m.in(e.Name); i >= 0 {
				return snippet(s.SpanID, "event", e.Name, i, n), true
			}
			if found, ok := m.object(s.SpanID, e.Name+": ", e.Attributes); ok {
				return found, true
			}
		}
	}
	return TraceMatch{}, false
}

// mayHold is false when doc cannot hold the needle in a key or a value.
func (m *matcher) mayHold(doc []byte) bool {
	return !m.raw || bytes.Contains(bytes.ToLower(doc), m.needle)
}

// object looks for the needle in the keys and values of a flat JSON object,
// keys in order.
func (m *matcher) object(spanID, prefix string, doc []byte) (TraceMatch, bool) {
	if len(doc) == 0 || !m.mayHold(doc) {
		return TraceMatch{}, false
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(span.ReadableJSON(doc), &obj) != nil {
		return TraceMatch{}, false
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := valueText(obj[k])
		if i, n := m.in(v); i >= 0 {
			return snippet(spanID, prefix+k, v, i, n), true
		}
		if i, n := m.in(k); i >= 0 {
			return snippet(spanID, prefix+k, k, i, n), true
		}
	}
	return TraceMatch{}, false
}

// valueText is a JSON value as a person reads it: a string without quotes,
// anything else as written.
func valueText(raw json.RawMessage) string {
	var s string
	if len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// snippetContext is how much text a match shows on either side, in runes.
const snippetContext = 48

func snippet(spanID, field, text string, at, n int) TraceMatch {
	before, after := oneLine(text[:at]), oneLine(text[at+n:])
	if r := []rune(before); len(r) > snippetContext {
		before = "…" + string(r[len(r)-snippetContext:])
	}
	if r := []rune(after); len(r) > snippetContext {
		after = string(r[:snippetContext]) + "…"
	}
	return TraceMatch{SpanID: spanID, Field: field, Before: before, Match: oneLine(text[at : at+n]), After: after}
}

// oneLine turns every run of white space into one space.
func oneLine(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	if space {
		b.WriteByte(' ')
	}
	return b.String()
}

// indexFold finds needle (lower case) in text ignoring case, returning the
// byte offset and length of the occurrence in text, or -1.
func indexFold(text, needle string) (int, int) {
	if isASCII(needle) && isASCII(text) {
		for i := 0; i+len(needle) <= len(text); i++ {
			if asciiEqualFold(text[i:i+len(needle)], needle) {
				return i, len(needle)
			}
		}
		return -1, 0
	}
	// Case mappings can change a character's length: compare rune by rune.
	nr := []rune(needle)
	for i := range text {
		j, k := i, 0
		for k < len(nr) && j < len(text) {
			r, size := utf8.DecodeRuneInString(text[j:])
			if unicode.ToLower(r) != nr[k] {
				break
			}
			j += size
			k++
		}
		if k == len(nr) {
			return i, j - i
		}
	}
	return -1, 0
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func asciiEqualFold(a, lower string) bool {
	for i := 0; i < len(a); i++ {
		c := a[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
