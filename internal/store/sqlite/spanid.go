package sqlite

import (
	"fmt"

	"github.com/loupe-dev/loupe/internal/query"
)

// blockLookup selects columns (of table, aliased alias) of the rows whose
// key is one of n bound parameters, through an index on (id >> 16, key):
// one whose entries are grouped by blocks of 65,536 row ids, so that new
// rows only ever land in the newest block. It probes each block from the
// oldest row to the newest; SQLite uses the index only for a lookup that
// names the block with the very same expression.
func blockLookup(table, alias, key, columns string, n int) string {
	cond := "= ?"
	if n != 1 {
		cond = "IN (" + placeholders(n) + ")"
	}
	return fmt.Sprintf(`WITH RECURSIVE block(n) AS (
	SELECT (SELECT coalesce(min(id), 0) >> 16 FROM %[1]s)
	UNION ALL SELECT n + 1 FROM block WHERE n < (SELECT coalesce(max(id), 0) >> 16 FROM %[1]s))
SELECT %[3]s FROM block CROSS JOIN %[1]s %[2]s ON (%[2]s.id >> 16) = block.n AND %[2]s.%[4]s %[5]s`,
		table, alias, columns, key, cond)
}

// spanIDLookup selects columns (of spans aliased l) of the spans whose
// span_id is one of n bound parameters, through spans_span_id (migration
// 0010).
func spanIDLookup(columns string, n int) string {
	return blockLookup("spans", "l", "span_id", columns, n)
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
