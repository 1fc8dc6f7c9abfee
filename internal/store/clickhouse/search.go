package clickhouse

import (
	"strings"

	"github.com/loupe-dev/loupe/internal/fulltext"
	"github.com/loupe-dev/loupe/internal/span"
)

// Full-text search keeps each span's searchable words in spans.search: the
// words of fulltext.SpanDocument as fulltext.Words cuts them (lower-cased,
// without diacritics, one per character of scripts written without spaces),
// each between single spaces. ClickHouse's text index over it splits on
// spaces alone, so its tokens are exactly those words, and a search reads
// only the parts' postings of its words (hasAllTokens); the spans are then
// kept when each phrase occurs as adjacent words (position of " w1 w2 "),
// the same query semantics as SQLite's FTS5 phrases and PostgreSQL's <->.
// The column is written with the span (searchText), so a span is
// searchable as soon as its insert is acknowledged; the spans table declares
// searchColumn and searchIndex, and a span list adds w.search(q.Search),
// returning no spans when it reports false.

// searchColumn and searchIndex are the spans table's search column and its
// text index, as the table's DDL declares them.
const (
	searchColumn = "search String DEFAULT ''"
	searchIndex  = "INDEX spans_search search TYPE text(tokenizer = splitByString([' ']))"
)

// searchText is what spans.search holds for sp: its words, each between
// single spaces, or "" when it has none.
func searchText(sp *span.Span) string {
	return wordsText(fulltext.Words(fulltext.SpanDocument(sp)))
}

func wordsText(words []string) string {
	if len(words) == 0 {
		return ""
	}
	return " " + strings.Join(words, " ") + " "
}

// search adds the condition on spans s matching a search as a person typed
// it (fulltext.Phrases: every phrase, in any order, each as adjacent
// words), its parameters numbered after those w has bound. It reports
// false, adding nothing, when the search has no word: it matches nothing.
// Nothing typed is ever read as syntax: words and phrases are parameters.
func (w *where) search(typed string) bool {
	var words, phrases []string
	seen := map[string]bool{}
	for _, p := range fulltext.Phrases(typed) {
		ws := fulltext.Words(p)
		if len(ws) == 0 {
			continue
		}
		phrases = append(phrases, wordsText(ws))
		for _, word := range ws {
			if !seen[word] {
				seen[word] = true
				words = append(words, word)
			}
		}
	}
	if len(words) == 0 {
		return false
	}
	var b strings.Builder
	b.WriteString("hasAllTokens(s.search, [")
	for i, word := range words {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(w.arg("String", word))
	}
	b.WriteString("])")
	for _, p := range phrases {
		b.WriteString(" AND position(s.search, " + w.arg("String", p) + ") > 0")
	}
	w.add(b.String())
	return true
}
