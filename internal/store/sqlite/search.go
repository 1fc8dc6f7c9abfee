package sqlite

import (
	"context"
	"strings"

	"github.com/loupe-dev/loupe/internal/fulltext"
	"github.com/loupe-dev/loupe/internal/store"
)

// searchSelect is spanSelect driven by the search index: the index is walked
// newest row first (FTS5 yields rowids in either order without sorting) and
// each match is looked up by row id, so a page stops after as many matches as
// the other conditions let through. CROSS JOIN keeps SQLite from starting at
// spans instead.
var searchSelect = spanSelect[:strings.Index(spanSelect, "FROM spans s")] +
	"FROM span_search f CROSS JOIN spans s ON s.id = f.rowid CROSS JOIN traces t ON t.id = s.trace_rowid"

// searchSpans answers Spans for a query with Search: the conditions Spans
// built (where, args) over the spans whose text matches.
func (s *Store) searchSpans(ctx context.Context, q store.SpanQuery, where []string, args []any) ([]store.SpanRecord, error) {
	match := matchExpression(fulltext.Phrases(q.Search))
	if match == "" {
		return nil, nil
	}
	where = append([]string{"f.span_search MATCH ?"}, where...)
	args = append([]any{match}, args...)
	dir, upTo := spanOrder(q), "<="
	if q.Ascending {
		upTo = ">="
	}
	order := " ORDER BY f.rowid " + dir
	switch {
	case q.OrderByStartTime:
		// Every match is read and sorted: fine for rare words, slow for
		// words in most spans of a large project.
		order = " ORDER BY s.start_time " + dir + ", s.id " + dir
	case q.Cursor > 0:
		// Also on the index, which then starts its walk at the cursor.
		where = append(where, "f.rowid "+upTo+" ?")
		args = append(args, q.Cursor)
	}
	sqlText := searchSelect + whereClause(where) + order
	if q.Limit > 0 {
		sqlText += " LIMIT ?"
		args = append(args, q.Limit)
	}
	return s.querySpans(ctx, sqlText, args...)
}

// matchExpression makes an FTS5 query matching texts that contain every
// phrase. Each phrase is an FTS5 string, so nothing a person types (quotes,
// *, :, NEAR, parentheses) is read as query syntax; the tokenizer splits the
// string into words that must appear in order.
func matchExpression(phrases []string) string {
	var b strings.Builder
	for i, p := range phrases {
		if i > 0 {
			b.WriteString(" AND ")
		}
		b.WriteByte('"')
		b.WriteString(strings.ReplaceAll(p, `"`, `""`))
		b.WriteByte('"')
	}
	return b.String()
}
