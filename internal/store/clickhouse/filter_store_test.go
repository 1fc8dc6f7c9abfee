package clickhouse

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/clickhouse/chtest"
	"github.com/loupe-dev/loupe/internal/store/storetest"
)

// TestFilterCasesThroughStore runs every filter case over what this store
// wrote for the cases' spans, sent twice, as its span, trace and session
// lists select them: spans s FINAL, traceFilter and sessionFilter.
// Annotations, which the store does not keep yet, are written by hand into
// tables of PostgreSQL's layout.
func TestFilterCasesThroughStore(t *testing.T) {
	ctx := context.Background()
	url := chtest.URL(t)
	s, err := Open(ctx, url, Config{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	spans, anns := storetest.FilterFixture(t)
	for range 2 {
		if _, err := s.WriteSpans(ctx, spans); err != nil {
			t.Fatalf("WriteSpans: %v", err)
		}
	}
	conn := chtest.Conn(t, url)
	for _, tbl := range contractTables[3:] {
		ddl := "CREATE TABLE " + tbl.name + " (" + tbl.columns + ") ENGINE = ReplacingMergeTree ORDER BY (" + tbl.order + ")"
		if err := conn.Exec(ctx, ddl); err != nil {
			t.Fatalf("%s: %v", ddl, err)
		}
	}
	for _, a := range anns {
		var tbl string
		var id int64
		switch a.Kind {
		case store.SpanAnnotation:
			tbl, id = "span_annotations", spanRowID(spanTrace(t, spans, a.SpanID), a.SpanID)
		case store.TraceAnnotation:
			tbl, id = "trace_annotations", traceRowID(a.TraceID)
		default:
			tbl, id = "session_annotations", sessionRowID(a.SessionID)
		}
		if err := conn.Exec(ctx, "INSERT INTO "+tbl+" VALUES (?, ?, ?, ?, ?, ?)", id, a.Name, a.Label, a.Score, a.Explanation, a.Identifier); err != nil {
			t.Fatal(err)
		}
	}
	p, err := s.ProjectByName(ctx, "filters")
	if err != nil {
		t.Fatal(err)
	}
	storetest.RunFilterCases(t, func(ctx context.Context, g storetest.FilterGrain, e query.Expr) ([]string, error) {
		w := &where{}
		var sql string
		switch g.Name() {
		case "span":
			w.add("s.project_id = " + w.arg("Int64", p.ID))
			err = w.filter(query.Compile, e)
			sql = "SELECT s.span_id FROM spans AS s FINAL"
		case "trace":
			err = w.traceFilter("t.id", p.ID, e)
			sql = "SELECT t.trace_id FROM traces AS t FINAL"
		default:
			err = w.sessionFilter("se.id", p.ID, e)
			sql = "SELECT se.session_id FROM sessions AS se FINAL"
		}
		if err != nil {
			return nil, err
		}
		rows, err := conn.Query(ctx, sql+w.clause(), w.args...)
		if err != nil {
			return nil, fmt.Errorf("%w\n%s", err, w.clause())
		}
		defer rows.Close()
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return nil, err
			}
			ids = append(ids, id)
		}
		return ids, rows.Err()
	})
}

func spanTrace(t *testing.T, spans []span.Span, spanID string) string {
	t.Helper()
	for _, sp := range spans {
		if sp.SpanID == spanID {
			return sp.TraceID
		}
	}
	t.Fatalf("no span %s", spanID)
	return ""
}
