package view

import (
	"bytes"
	"encoding/json"
	"html/template"
	"strings"
	"unicode/utf8"

	"github.com/loupe-dev/loupe/internal/span"
)

// Text is a value prepared for display: pretty-printed when it is JSON, and
// clipped to a limit so that a multi-megabyte value never reaches the page
// whole. Key names the attribute holding the full value, for "show all".
type Text struct {
	Value     string
	JSON      bool
	Clipped   bool
	FullBytes int // size of the full (pretty) value
	Key       string
	// Markdown is Value rendered as Markdown, when the reader asked for it
	// (Span.RenderMarkdown) and the value is prose rather than JSON.
	Markdown template.HTML
}

// Empty reports whether there is nothing to show.
func (t Text) Empty() bool { return t.Value == "" && !t.Clipped }

// NewText prepares s, stored under key, for display within limit bytes.
// asJSON forces JSON handling (a JSON mime type); otherwise text that
// parses as a JSON object or array is shown as JSON too.
func NewText(s, key string, limit int, asJSON bool) Text {
	t := Text{Key: key}
	if asJSON || looksJSON(s) {
		if pretty, ok := PrettyJSON(s); ok {
			s, t.JSON = pretty, true
		}
	}
	t.FullBytes = len(s)
	t.Value, t.Clipped = Clip(s, limit)
	return t
}

// Clip cuts s to at most limit bytes on a character boundary.
func Clip(s string, limit int) (string, bool) {
	if limit <= 0 {
		return s, false
	}
	return span.CutText(s, limit)
}

// Preview is s on one line, cut to limit characters with an ellipsis.
func Preview(s string, limit int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	r := []rune(s)
	return string(r[:limit]) + "…"
}

func looksJSON(s string) bool {
	s = strings.TrimSpace(s)
	return len(s) >= 2 && (s[0] == '{' && s[len(s)-1] == '}' || s[0] == '[' && s[len(s)-1] == ']')
}

// PrettyJSON indents s when it is valid JSON.
func PrettyJSON(s string) (string, bool) {
	if !json.Valid([]byte(s)) {
		return s, false
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(s), "", "  "); err != nil {
		return s, false
	}
	return buf.String(), true
}
