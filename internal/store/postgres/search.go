package postgres

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/loupe-dev/loupe/internal/fulltext"
	"github.com/loupe-dev/loupe/internal/span"
)

// Full-text search keeps a tsvector of each span's text (spans.search, with
// a GIN index), written in the same transaction as the span, so a span is
// searchable as soon as WriteSpans returns.
//
// The words are cut and folded here, not by PostgreSQL's text parser, whose
// results depend on the database's locale and which keeps e-mail addresses,
// URLs and paths whole: a word is a run of letters and digits, lower-cased,
// without diacritics, as SQLite's unicode61 tokenizer makes them, so both
// backends find the same spans. The vector is written as a tsvector literal
// and queries as a tsquery literal, so nothing a person types is read as
// query syntax.

// SearchLag is always 0: spans are searchable once stored.
func (s *Store) SearchLag(ctx context.Context, projectID int64) (int64, error) {
	return 0, nil
}

// WaitIndexed returns at once: spans are searchable once stored.
func (s *Store) WaitIndexed(ctx context.Context) error {
	return nil
}

// searchVector is the tsvector literal of a span's searchable text, or
// NULL when it has none.
func searchVector(sp *span.Span) *string {
	words := tokens(fulltext.SpanDocument(sp))
	if len(words) == 0 {
		return nil
	}
	// A tsvector lists each word once with its positions (at most 256,
	// each at most 16383): sorting by word groups them.
	const maxPositions, maxPosition = 256, 16383
	type at struct {
		word string
		pos  int
	}
	all := make([]at, len(words))
	for i, w := range words {
		all[i] = at{w, min(i+1, maxPosition)}
	}
	slices.SortStableFunc(all, func(x, y at) int { return strings.Compare(x.word, y.word) })
	var b strings.Builder
	b.Grow(len(words) * 10)
	for i := 0; i < len(all); {
		word := all[i].word
		if i > 0 {
			b.WriteByte(' ')
		}
		quoteLexeme(&b, word)
		b.WriteByte(':')
		last, n := 0, 0
		for ; i < len(all) && all[i].word == word; i++ {
			if p := all[i].pos; p != last && n < maxPositions {
				if n > 0 {
					b.WriteByte(',')
				}
				b.WriteString(strconv.Itoa(p))
				last, n = p, n+1
			}
		}
	}
	v := b.String()
	return &v
}

// searchQuery is the tsquery literal matching text that holds every phrase
// of what a person typed, or "" when it has no word.
func searchQuery(typed string) string {
	var b strings.Builder
	for _, phrase := range fulltext.Phrases(typed) {
		words := tokens(phrase)
		if len(words) == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(" & ")
		}
		b.WriteByte('(')
		for i, w := range words {
			if i > 0 {
				b.WriteString(" <-> ")
			}
			quoteLexeme(&b, w)
		}
		b.WriteByte(')')
	}
	return b.String()
}

// maxLexeme is PostgreSQL's limit on a word's length in bytes; longer runs
// of letters are not words anyone searches for.
const maxLexeme = 2047

// tokens cuts text into words (fulltext.Words) of a length PostgreSQL
// takes.
func tokens(text string) []string {
	words := fulltext.Words(text)
	out := words[:0]
	for _, w := range words {
		if len(w) <= maxLexeme {
			out = append(out, w)
		}
	}
	return out
}

func quoteLexeme(b *strings.Builder, w string) {
	b.WriteByte('\'')
	for _, r := range w {
		if r == '\'' || r == '\\' {
			b.WriteRune(r)
		}
		b.WriteRune(r)
	}
	b.WriteByte('\'')
}
