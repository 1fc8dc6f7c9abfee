package sqlite

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/bench/agentgen"
	"github.com/loupe-dev/loupe/internal/otlp"
	"github.com/loupe-dev/loupe/internal/query"
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

// Every page in start-time order finds its spans on one index without
// sorting the project: the page's row ids come from
// spans_project_start_bucket, sorted bucket by bucket ("LAST 2 TERMS OF
// ORDER BY"), and only the page is then read and sorted; root-span pages walk
// spans_project_roots in order. A plan that sorts by start time reads every
// span of the project in range before returning the first. A filter on a
// trace id reads that trace's spans and sorts them.
func TestStartTimePlans(t *testing.T) {
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
	filter := func(expr string) store.SpanQuery {
		e, err := query.Parse(expr)
		if err != nil {
			t.Fatal(err)
		}
		return store.SpanQuery{ProjectID: projectID, Filter: e, OrderByStartTime: true, Limit: 101}
	}
	restQuery := func(q store.SpanQuery) (string, []any) {
		where, args, err := spanConditions(q)
		if err != nil {
			t.Fatal(err)
		}
		return spansQuery(q, where, args)
	}
	for _, tc := range []struct {
		name  string
		query func() (string, []any)
		walk  string // bucket, roots, trace, errors or llm
	}{
		{"newest", list(store.SpanListQuery{ProjectID: projectID, Limit: 50}), "bucket"},
		{"oldest", list(store.SpanListQuery{ProjectID: projectID, Ascending: true, Limit: 50}), "bucket"},
		{"one kind", list(store.SpanListQuery{ProjectID: projectID, Kinds: []string{"LLM"}, Limit: 50}), "bucket"},
		{"two kinds", list(store.SpanListQuery{ProjectID: projectID, Kinds: []string{"LLM", "TOOL"}, Limit: 50}), "bucket"},
		{"errors", list(store.SpanListQuery{ProjectID: projectID, ErrorOnly: true, Limit: 50}), "bucket"},
		{"time range and cursor", list(store.SpanListQuery{ProjectID: projectID, StartTime: 1_750_000_000e9,
			EndTime: 1_750_000_100e9, Cursor: 2000, Limit: 50}), "bucket"},
		{"roots", list(store.SpanListQuery{ProjectID: projectID, RootsOnly: true, Limit: 50}), "roots"},
		{"root LLM spans", list(store.SpanListQuery{ProjectID: projectID, RootsOnly: true, Kinds: []string{"LLM"}, Limit: 50}), "roots"},
		{"filter", func() (string, []any) { return restQuery(filter("span_kind == 'LLM' and latency_ms > 4000")) }, "bucket"},
		{"filter by trace id", func() (string, []any) {
			return restQuery(filter("trace_id == '0af7651916cd43dd8448eb211c80319c'"))
		}, "trace"},
		{"trace id or errors", func() (string, []any) {
			return restQuery(filter("trace_id == '0af7651916cd43dd8448eb211c80319c' or status_code == 'ERROR'"))
		}, "bucket"},
		{"error group", func() (string, []any) {
			q := filter("error_group == 'ffffffffffffffff'")
			q.StartTime = 1_750_000_000e9
			return restQuery(q)
		}, "errors"},
		{"filter after a cursor", func() (string, []any) {
			q := filter("status_code == 'ERROR'")
			q.Cursor, q.CursorStartTime, q.StartTime = 2000, 1_750_000_050e9, 1_750_000_000e9
			return restQuery(q)
		}, "bucket"},
		{"prompt versions", func() (string, []any) {
			return promptVersionSampleQuery(projectID, 1_750_000_000e9, 0)
		}, "llm"},
		{"tool calls", func() (string, []any) { return usageByToolQuery, []any{projectID, 0, int64(2e18), 20_001} }, "bucket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, args := tc.query()
			plan := queryPlan(t, s, q, args...)
			var ok bool
			switch tc.walk {
			case "bucket":
				// The bucket walk, then the subqueries it reads, then the sort within buckets.
				ok = regexp.MustCompile(`INDEX spans_project_start_bucket \(project_id=\?[^\n]*\)\n` +
					`((SCALAR|LIST) SUBQUERY \d+\n|(SEARCH|SCAN) .*\n|(CREATE BLOOM FILTER|MATERIALIZE .*|SETUP|RECURSIVE STEP)\n)*` +
					`USE TEMP B-TREE FOR LAST 2 TERMS OF ORDER BY`).MatchString(plan)
			case "roots":
				ok = strings.Contains(plan, "INDEX spans_project_roots") && !strings.Contains(plan, "TEMP B-TREE FOR ORDER BY")
			case "errors":
				// The failed spans in range, in start-time order, testing
				// each one's group in the index.
				ok = strings.Contains(plan, "SEARCH s USING INDEX spans_project_errors (project_id=? AND start_time>?)") &&
					!strings.Contains(plan, "TEMP B-TREE FOR ORDER BY")
			case "llm":
				// The LLM spans in range, newest first, from their index alone.
				ok = strings.Contains(plan, "SEARCH s USING COVERING INDEX spans_project_llm (project_id=? AND start_time>?)") &&
					!strings.Contains(plan, "TEMP B-TREE")
			case "trace":
				// The trace's spans, looked up through its id, then sorted.
				ok = strings.Contains(plan, "traces_trace_id (<expr>=? AND trace_id=?)") &&
					!strings.Contains(plan, "spans_project_start_bucket")
			}
			if !ok {
				t.Errorf("plan does not find the spans in start-time order on an index:\n%s", plan)
			}
		})
	}
}

// list is the SQL of SpanList for q.
func list(q store.SpanListQuery) func() (string, []any) {
	return func() (string, []any) {
		text, args, err := spanListQuery(q)
		if err != nil {
			panic(err)
		}
		return text, args
	}
}
