package clickhouse

import (
	"database/sql"
	"fmt"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/store"
)

// Filters compile to ClickHouse SQL over the tables aliased as on the other
// backends (spans s, traces tr, sessions se), with every value a server-side
// parameter {pN:Type}: the text sent never holds a value from the filter.
// Traces and sessions keep their sums apart, so a trace or session filter
// selects from traceRows or sessionRows, which have them as columns
// (traceFilter, sessionFilter), and a filter's subqueries read traces with
// their sums the same way (filterTables). A list adds a filter to its
// where as w.filter(query.Compile, q.Filter) for spans aliased s, or
// w.traceFilter("id", projectID, q.Filter) on the traces table's rows
// (w.sessionFilter likewise on the sessions').

// filterDialect compiles filters whose parameters are named from p<first>,
// after the p1…p<first-1> the caller's own query binds.
func filterDialect(first int) query.Dialect {
	return query.ClickHouse(first).WithTables(filterTables)
}

// annotationTables are the annotations of each kind a filter reads, from
// the one annotations table, under the names PostgreSQL's tables have.
var annotationTables = map[string]string{
	"span_annotations":    annotationsOf(store.SpanAnnotation, "span_rowid"),
	"trace_annotations":   annotationsOf(store.TraceAnnotation, "trace_rowid"),
	"session_annotations": annotationsOf(store.SessionAnnotation, "session_rowid"),
}

func annotationsOf(kind store.AnnotationKind, entity string) string {
	return "(SELECT entity_rowid AS " + entity + ", name, label, score, explanation, identifier FROM annotations FINAL WHERE kind = '" +
		string(kind) + "')"
}

// filterTables is how a filter's subqueries read a table, as alias: traces
// with their sums as traceRows has them, annotations of one kind.
func filterTables(name, alias string) string {
	if name == query.TraceSums {
		return "(" + traceRows("1") + ") AS " + alias
	}
	if t, ok := annotationTables[name]; ok {
		return t + " AS " + alias
	}
	return name + " AS " + alias + " FINAL"
}

// sessionRows reads the sessions cond selects (a condition on the columns
// the sessions and traces tables share, project_id) with the sums of their
// traces, one row each, under the names PostgreSQL's sessions have.
func sessionRows(cond string) string {
	return `SELECT se.id AS id, se.session_id AS session_id, se.project_id AS project_id, se.user_id AS user_id,
		r.start_time AS start_time, r.end_time AS end_time, r.trace_count AS trace_count,
		r.prompt_tokens AS prompt_tokens, r.completion_tokens AS completion_tokens, r.total_tokens AS total_tokens,
		r.cost_total AS cost_total
	FROM (SELECT * FROM sessions FINAL WHERE ` + cond + `) AS se
	JOIN (SELECT session_rowid, min(start_time) AS start_time, max(end_time) AS end_time, toInt64(count()) AS trace_count,
		sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens, sum(total_tokens) AS total_tokens,
		sum(cost_total) AS cost_total
		FROM (` + traceRows(cond) + `) GROUP BY session_rowid) AS r ON r.session_rowid = se.id`
}

// filter adds the condition of e, a checked filter, as compile
// (query.Compile, CompileTraces or CompileSessions) writes it, its
// parameters numbered after those w has bound. A filter the language
// refuses is store.ErrInvalidArgument.
func (w *where) filter(compile func(query.Expr, query.Dialect) (string, []any, error), e query.Expr) error {
	cond, args, err := compile(e, filterDialect(len(w.args)+1))
	if err != nil {
		return fmt.Errorf("%v: %w", err, store.ErrInvalidArgument)
	}
	named, err := namedArgs(args)
	if err != nil {
		return err
	}
	w.add("(" + cond + ")")
	w.args = append(w.args, named...)
	return nil
}

// traceFilter adds "column IN (the row ids of the traces of project
// projectID that e, a checked trace filter, selects)", for a trace query
// whose traces are column (t.id).
func (w *where) traceFilter(column string, projectID int64, e query.Expr) error {
	return w.rowsFilter(column, traceRows, "tr", projectID, query.CompileTraces, e)
}

// sessionFilter is traceFilter for sessions and session filters.
func (w *where) sessionFilter(column string, projectID int64, e query.Expr) error {
	return w.rowsFilter(column, sessionRows, "se", projectID, query.CompileSessions, e)
}

func (w *where) rowsFilter(column string, rows func(cond string) string, alias string, projectID int64,
	compile func(query.Expr, query.Dialect) (string, []any, error), e query.Expr) error {
	sub := &where{args: w.args}
	project := "project_id = " + sub.arg("Int64", projectID)
	if err := sub.filter(compile, e); err != nil {
		return err
	}
	w.add(column + " IN (SELECT " + alias + ".id FROM (" + rows(project) + ") AS " + alias + sub.clause() + ")")
	w.args = sub.args
	return nil
}

// namedArgs turns the arguments query.ClickHouse returns into the driver's
// named values, which it sends as the query's parameters, never in its
// text. Texts are made storable, so that they compare with what was stored.
func namedArgs(args []any) ([]any, error) {
	out := make([]any, len(args))
	for i, a := range args {
		na, ok := a.(sql.NamedArg)
		if !ok {
			return nil, fmt.Errorf("filter parameter %T is not named", a)
		}
		v := na.Value
		if s, ok := v.(string); ok {
			v = text(s)
		}
		out[i] = ch.Named(na.Name, v)
	}
	return out, nil
}
