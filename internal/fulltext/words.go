package fulltext

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/loupe-dev/loupe/internal/span"
)

// SearchableKey reports whether an attribute holds searchable text: the
// contents of messages (whole or text parts) and of retrieved documents.
func SearchableKey(key string) bool {
	switch {
	case strings.HasPrefix(key, "llm.input_messages."), strings.HasPrefix(key, "llm.output_messages."):
		return strings.HasSuffix(key, ".message.content") || strings.HasSuffix(key, ".message_content.text")
	case strings.HasPrefix(key, "retrieval.documents."):
		return strings.HasSuffix(key, ".document.content")
	}
	return false
}

// SpanDocument is the Document of a span: its input, output, and the
// searchable text of its attributes.
func SpanDocument(sp *span.Span) string {
	parts := []string{sp.View.InputValue, sp.View.OutputValue}
	for _, a := range sp.Attributes {
		if a.Value.Type == span.TypeString && SearchableKey(a.Key) {
			parts = append(parts, a.Value.Str)
		}
	}
	return Document(parts)
}

// Words cuts text into the words a search matches, as SQLite's unicode61
// tokenizer makes them: runs of letters and digits, lower-cased, with
// diacritics removed. Backends whose own tokenizer differs index and query
// these instead.
func Words(text string) []string {
	if isASCII(text) {
		// The common case, without decomposing: the words are slices of
		// one lower-cased copy.
		lower := strings.ToLower(text)
		var out []string
		start := -1
		for i := 0; i <= len(lower); i++ {
			if i < len(lower) && isAlnum(lower[i]) {
				if start < 0 {
					start = i
				}
				continue
			}
			if start >= 0 {
				out = append(out, lower[start:i])
			}
			start = -1
		}
		return out
	}
	var out []string
	var w strings.Builder
	end := func() {
		if w.Len() > 0 {
			out = append(out, w.String())
		}
		w.Reset()
	}
	for _, r := range norm.NFD.String(text) {
		switch {
		case unicode.Is(unicode.Mn, r):
			// A combining mark, such as the accent of é: dropped.
		case unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r):
			w.WriteRune(unicode.ToLower(r))
		default:
			end()
		}
	}
	end()
	return out
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || 'A' <= c && c <= 'Z'
}
