package sqlite

import (
	"fmt"

	"github.com/loupe-dev/loupe/internal/query"
)

// spanBlocks lists the blocks of the spans_span_id index (migration 0010),
// whose entries are grouped by row id >> 16: SQLite uses that index only
// for a lookup that names the block with the very same expression.
const spanBlocks = `WITH RECURSIVE span_block(n) AS (
	SELECT (SELECT coalesce(min(id), 0) >> 16 FROM spans)
	UNION ALL SELECT n + 1 FROM span_block WHERE n < (SELECT coalesce(max(id), 0) >> 16 FROM spans))`

// spanIDLookup selects columns (of spans aliased l) of the spans whose
// span_id is one of n bound parameters, probing each block of spans_span_id
// from the oldest stored span to the newest.
func spanIDLookup(columns string, n int) string {
	cond := "= ?"
	if n != 1 {
		cond = "IN (" + placeholders(n) + ")"
	}
	return fmt.Sprintf("%s SELECT %s FROM span_block CROSS JOIN spans l ON (l.id >> 16) = span_block.n AND l.span_id %s",
		spanBlocks, columns, cond)
}

// filterDialect compiles filters for this store: a span_id compared with
// literals is looked up block by block instead of tested on every span of
// the project, and attributes are read through loupe_json (jsonpack.go).
var filterDialect = query.SQLite.
	WithSpanRows(func(n int) string { return spanIDLookup("l.id", n) }).
	WithTraceSpanRows(traceSpanRows).
	WithAttributesText("loupe_json(s.attributes)")

// traceSpanRows selects the row ids of the spans of the traces whose
// trace_id is one of n bound parameters.
func traceSpanRows(n int) string {
	return "SELECT qs.id FROM spans qs WHERE " + traceRowIDs("qs.trace_rowid", n)
}

// fewRows is the condition that column, a row id, is among those rowIDs
// selects, marked as matching few rows: the statistics PRAGMA optimize
// samples can make walking the whole project in the page's order look
// cheaper to the planner than reading those rows and sorting them (at 1M
// spans, 870 ms against under 1 ms for one trace's spans).
func fewRows(column, rowIDs string) string {
	return "likelihood(" + column + " IN (" + rowIDs + "), 0.000001)"
}
