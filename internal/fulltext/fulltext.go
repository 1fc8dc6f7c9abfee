// Package fulltext prepares text for the stores' full-text indexes: which
// text of a span is searchable, how scripts written without spaces between
// words are cut into units a word tokenizer can index, and how what a person
// types into a search box becomes phrases, never index query syntax.
//
// Both sides go through Segment, so a query finds what the index holds
// whichever script it is written in.
package fulltext

import (
	"strings"
	"unicode"

	"github.com/loupe-dev/loupe/internal/span"
)

// MaxDocument bounds the text indexed per span, in bytes. Beyond it a span's
// text is not searchable: a few very large spans must not stall the indexer.
const MaxDocument = 256 << 10

// MaxPhrases bounds the phrases a query ANDs together; each is one walk of
// the index, and a dozen words already narrow a search to nothing.
const MaxPhrases = 16

// Document joins the searchable parts of one span (input, output, message
// and document contents) into the text to index: each distinct part once,
// since input.value often repeats the last message, cut at MaxDocument and
// segmented.
func Document(parts []string) string {
	var b strings.Builder
	for i, p := range parts {
		if p == "" || b.Len() >= MaxDocument || repeated(parts[:i], p) {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p)
	}
	doc, _ := span.CutText(b.String(), MaxDocument)
	return Segment(doc)
}

func repeated(earlier []string, p string) bool {
	for _, e := range earlier {
		if e == p {
			return true
		}
	}
	return false
}

// unspaced are the scripts written without spaces between words. A word
// tokenizer (SQLite's unicode61, PostgreSQL's default parser) takes a whole
// run of them as one token, so a search for a word inside a sentence would
// never match; cut into one token per character and searched as a phrase of
// adjacent characters, any substring matches. Korean puts spaces between
// phrases, not words, so it gains the same way.
var unspaced = []*unicode.RangeTable{
	unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul,
	unicode.Thai, unicode.Lao, unicode.Khmer, unicode.Myanmar,
}

// firstUnspaced is below the first rune of any unspaced script (Thai, U+0E00).
const firstUnspaced = 0x0E00

func isUnspaced(r rune) bool {
	return r >= firstUnspaced && unicode.In(r, unspaced...)
}

// Segment surrounds each character of an unspaced script with spaces, and
// returns s itself when it has none.
func Segment(s string) string {
	i := strings.IndexFunc(s, isUnspaced)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + len(s)/2)
	b.WriteString(s[:i])
	for _, r := range s[i:] {
		if isUnspaced(r) {
			b.WriteByte(' ')
			b.WriteRune(r)
			b.WriteByte(' ')
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Phrases reads a search as typed into the phrases a matching text must all
// contain, in order of appearance: a double-quoted part is one phrase, every
// other whitespace-separated word is one, and an unclosed quote runs to the
// end. A phrase without a letter or digit is dropped (no index token can
// match it), and so is any phrase after MaxPhrases. The phrases are
// segmented; they are plain text, to be quoted by the backend, never syntax.
func Phrases(q string) []string {
	var out []string
	add := func(p string) {
		p = Segment(strings.Join(strings.FieldsFunc(p, separator), " "))
		if len(out) < MaxPhrases && strings.IndexFunc(p, searchable) >= 0 && !repeated(out, p) {
			out = append(out, p)
		}
	}
	for q != "" {
		words, rest, quote := strings.Cut(q, `"`)
		for _, w := range strings.FieldsFunc(words, separator) {
			add(w)
		}
		if !quote {
			break
		}
		var phrase string
		phrase, q, _ = strings.Cut(rest, `"`)
		add(phrase)
	}
	return out
}

// separator is white space, and control characters, which no tokenizer
// indexes and some query parsers stop at.
func separator(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsControl(r)
}

func searchable(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r)
}
