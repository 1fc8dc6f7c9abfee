package span

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Failures are grouped by exception type and message with the parts that
// differ from one occurrence to the next taken out: numbers, ids, hex,
// quoted strings, paths and URLs. "timeout after 31s on req 8f3a9c01" and
// "timeout after 12s on req 77be0d2e" are one group, "timeout after <n>s
// on req <hex>".

// Placeholders that stand for what NormalizeErrorMessage takes out.
const (
	phNumber = "<n>"
	phHex    = "<hex>"
	phString = "<str>"
	phPath   = "<path>"
	phID     = "<id>"
)

// maxGroupMessage bounds the normalized message a group is keyed by: two
// long messages that agree this far are the same failure.
const maxGroupMessage = 300

// Failure is what a failed span says about its failure: the type and
// message of its first exception event, else its status message.
type Failure struct {
	Type    string
	Message string
}

// FailureOf reads the failure of s; ok is false unless s failed.
func FailureOf(s *Span) (f Failure, ok bool) {
	if s.StatusCode != StatusError {
		return Failure{}, false
	}
	f.Message = s.StatusMessage
	for _, e := range s.Events {
		if e.Name != "exception" {
			continue
		}
		f.Type = e.Attributes.GetString("exception.type")
		if m := e.Attributes.GetString("exception.message"); m != "" {
			f.Message = m
		}
		break
	}
	return f, true
}

// ErrorGroup is the key of the group of failures f belongs to: 16 hex
// digits of a hash of its type and normalized message.
func ErrorGroup(f Failure) string {
	h := sha256.Sum256([]byte(strings.TrimSpace(f.Type) + "\x00" + NormalizeErrorMessage(f.Message)))
	return hex.EncodeToString(h[:8])
}

// NormalizeErrorMessage takes out of msg what differs between occurrences
// of one failure, and keeps its first line, spaces collapsed.
func NormalizeErrorMessage(msg string) string {
	if i := strings.IndexAny(msg, "\r\n"); i >= 0 {
		msg = msg[:i]
	}
	var b strings.Builder
	for i := 0; i < len(msg) && b.Len() < maxGroupMessage; {
		c, size := utf8.DecodeRuneInString(msg[i:])
		switch {
		case unicode.IsSpace(c):
			for i < len(msg) {
				c, size = utf8.DecodeRuneInString(msg[i:])
				if !unicode.IsSpace(c) {
					break
				}
				i += size
			}
			if b.Len() > 0 && i < len(msg) {
				b.WriteByte(' ')
			}
		case c == '\'' || c == '"' || c == '`':
			if j := strings.IndexRune(msg[i+size:], c); j >= 0 {
				b.WriteString(phString)
				i += size + j + size
				continue
			}
			b.WriteRune(c)
			i += size
		case wordStart(msg, i):
			j := i
			for j < len(msg) && !endsWord(msg[j]) {
				j++
			}
			b.WriteString(normalizeWord(msg[i:j]))
			i = j
		default:
			b.WriteRune(c)
			i += size
		}
	}
	return b.String()
}

// wordStart reports whether a word (a run up to a space, quote or
// punctuation that ends words) starts at i.
func wordStart(s string, i int) bool {
	return !endsWord(s[i]) && (i == 0 || endsWord(s[i-1]))
}

func endsWord(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\'', '"', '`', ',', ';', '(', ')', '[', ']', '{', '}', '<', '>', '=':
		return true
	}
	return false
}

// normalizeWord stands a placeholder for a word that varies: a path or
// URL, a number (with its unit: "31s" is "<n>s"), hex, a UUID or another
// id mixing letters and digits. Words of letters alone are kept, with the
// numbers in them replaced ("req-42" is "req-<n>").
func normalizeWord(w string) string {
	trail := strings.TrimRight(w, ".:!?")
	tail := w[len(trail):]
	w = trail
	if w == "" {
		return tail
	}
	if strings.Contains(w, "://") || strings.Count(w, "/") >= 2 || strings.Count(w, `\`) >= 2 ||
		(strings.HasPrefix(w, "/") && len(w) > 1) {
		return phPath + tail
	}
	if isHexID(w) {
		return phHex + tail
	}
	return replaceNumbers(w) + tail
}

// isHexID reports whether w is hex digits (or a UUID of them) long enough
// to be an id, with at least one digit: "deadbeef" alone is a word.
func isHexID(w string) bool {
	digits, hexLetters := 0, 0
	for i := 0; i < len(w); i++ {
		switch c := w[i]; {
		case '0' <= c && c <= '9':
			digits++
		case 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F':
			hexLetters++
		case c == '-':
		default:
			return false
		}
	}
	return digits > 0 && hexLetters > 0 && digits+hexLetters >= 6
}

// replaceNumbers replaces each run of digits (with a decimal part) in w
// by the number placeholder, keeping units: "31s" is "<n>s". A part of w (between - _ . :) of 8 or more
// letters and digits mixed is an id, like "org-AbC123xYz".
func replaceNumbers(w string) string {
	if !strings.ContainsAny(w, "0123456789") {
		return w
	}
	// A name like "gpt-4o-mini" keeps its short parts of letters and
	// digits: a word with a part of letters alone is a name, not a count.
	named := false
	for part := range strings.FieldsFuncSeq(w, isSeparator) {
		if len(part) >= 3 && strings.IndexFunc(part, func(r rune) bool { return !unicode.IsLetter(r) }) < 0 {
			named = true
		}
	}
	var b strings.Builder
	start := 0
	for i := 0; i <= len(w); i++ {
		if i < len(w) && !isSeparator(rune(w[i])) {
			continue
		}
		if part := w[start:i]; named && len(part) <= 3 && strings.IndexFunc(part, unicode.IsLetter) >= 0 {
			b.WriteString(part)
		} else {
			b.WriteString(numberPart(part))
		}
		if i < len(w) {
			b.WriteByte(w[i])
		}
		start = i + 1
	}
	return b.String()
}

func isSeparator(r rune) bool { return r == '-' || r == '_' || r == '.' || r == ':' }

// numberPart is replaceNumbers on a part of a word without separators.
func numberPart(p string) string {
	digits, letters := 0, 0
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case '0' <= c && c <= '9':
			digits++
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
			letters++
		}
	}
	if digits == 0 {
		return p
	}
	if letters > 0 && digits+letters >= 8 {
		return phID
	}
	var b strings.Builder
	for i := 0; i < len(p); {
		if c := p[i]; c < '0' || c > '9' {
			b.WriteByte(c)
			i++
			continue
		}
		for i < len(p) && '0' <= p[i] && p[i] <= '9' {
			i++
		}
		b.WriteString(phNumber)
	}
	return b.String()
}

// StoredFailure reads the failure of a failed span as stored: its status
// message and its events as a JSON array (Span.StoredEventsAndLinks).
func StoredFailure(statusMessage string, events []byte) Failure {
	f := Failure{Message: statusMessage}
	var list []struct {
		Name       string `json:"name"`
		Attributes struct {
			Type    any `json:"exception.type"`
			Message any `json:"exception.message"`
		} `json:"attributes"`
	}
	if len(events) == 0 || json.Unmarshal(ReadableJSON(events), &list) != nil {
		return f
	}
	for _, e := range list {
		if e.Name != "exception" {
			continue
		}
		f.Type = scalarText(e.Attributes.Type)
		if m := scalarText(e.Attributes.Message); m != "" {
			f.Message = m
		}
		break
	}
	return f
}

// scalarText is a JSON scalar as attribute strings read it.
func scalarText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}
