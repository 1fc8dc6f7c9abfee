package clickhouse

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/store/clickhouse/chtest"
	"github.com/loupe-dev/loupe/internal/store/storetest"
)

// TestFilterCasesThroughStore runs every filter case over what this store
// wrote for the cases' spans, sent twice, as its span, trace and session
// lists select them: spans s FINAL, traceFilter and sessionFilter.
func TestFilterCasesThroughStore(t *testing.T) {
	ctx := context.Background()
	url := chtest.URL(t)
	s, err := Open(ctx, url, Config{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	// The spans sent twice: a re-sent span must not be matched twice.
	spans, _ := storetest.FilterFixture(t)
	if _, err := s.WriteSpans(ctx, spans); err != nil {
		t.Fatalf("WriteSpans: %v", err)
	}
	pid := storetest.WriteFilterFixture(t, s)
	conn := chtest.Conn(t, url)
	storetest.RunFilterCases(t, func(ctx context.Context, g storetest.FilterGrain, e query.Expr) ([]string, error) {
		w := &where{}
		var sql string
		switch g.Name() {
		case "span":
			w.add("s.project_id = " + w.arg("Int64", pid))
			err = w.filter(query.Compile, e)
			sql = "SELECT s.span_id FROM spans AS s FINAL"
		case "trace":
			err = w.traceFilter("t.id", pid, e)
			sql = "SELECT t.trace_id FROM traces AS t FINAL"
		default:
			err = w.sessionFilter("se.id", pid, e)
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
