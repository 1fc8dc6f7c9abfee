package sqlite

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/bench/agentgen"
	"github.com/loupe-dev/loupe/internal/otlp"
	"github.com/loupe-dev/loupe/internal/store"
)

// queryPlan is what EXPLAIN QUERY PLAN says of query, one step a line.
func queryPlan(t *testing.T, s *Store, query string, args ...any) string {
	t.Helper()
	rows, err := s.read.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "\n")
}

// Every page of the span list walks one index in start-time order. Spans
// that start in the same nanosecond may be sorted among themselves by row
// id ("LAST TERM OF ORDER BY"); a plan that sorts by start time reads every
// span of the project in range before returning the first.
func TestSpanListPlans(t *testing.T) {
	ctx := context.Background()
	s := openTempStore(t)
	gen := agentgen.New(agentgen.Agent, 1, time.Unix(1_750_000_000, 0))
	spans := otlp.Decode(agentgen.Traces(agentgen.Resource{ServiceName: "plan", Project: "plan"}, gen.Spans(3000)), "").Spans
	if _, err := s.WriteSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	if err := s.Optimize(ctx); err != nil {
		t.Fatal(err)
	}
	var projectID int64
	if err := s.read.QueryRowContext(ctx, "SELECT id FROM projects WHERE name = 'plan'").Scan(&projectID); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		q     store.SpanListQuery
		index string
	}{
		{"newest", store.SpanListQuery{Limit: 50}, "spans_project_start_kind"},
		{"oldest", store.SpanListQuery{Ascending: true, Limit: 50}, "spans_project_start_kind"},
		{"one kind", store.SpanListQuery{Kinds: []string{"LLM"}, Limit: 50}, "spans_project_start_kind"},
		{"two kinds", store.SpanListQuery{Kinds: []string{"LLM", "TOOL"}, Limit: 50}, "spans_project_start_kind"},
		{"errors", store.SpanListQuery{ErrorOnly: true, Limit: 50}, "spans_project_start_kind"},
		{"time range and cursor", store.SpanListQuery{StartTime: 1_750_000_000e9, EndTime: 1_750_000_100e9, Cursor: 2000, Limit: 50}, "spans_project_start_kind"},
		{"roots", store.SpanListQuery{RootsOnly: true, Limit: 50}, "spans_project_roots"},
		{"root LLM spans", store.SpanListQuery{RootsOnly: true, Kinds: []string{"LLM"}, Limit: 50}, "spans_project_roots"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.ProjectID = projectID
			query, args := spanListQuery(tc.q)
			plan := queryPlan(t, s, query, args...)
			if !strings.Contains(plan, "INDEX "+tc.index) || strings.Contains(plan, "TEMP B-TREE FOR ORDER BY") {
				t.Errorf("plan does not walk %s in order:\n%s", tc.index, plan)
			}
		})
	}
}
