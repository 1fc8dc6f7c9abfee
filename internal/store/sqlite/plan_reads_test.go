package sqlite

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/bench/agentgen"
	"github.com/loupe-dev/loupe/internal/otlp"
	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/schema"
)

// planStore is a store holding 3,000 agent spans of project "plan" and a
// trace in each of 99 others, as a server with many projects has, which
// makes a project look to the planner like few rows; with the planner's
// statistics refreshed; and the id of "plan".
func planStore(t *testing.T) (*Store, int64) {
	t.Helper()
	ctx := context.Background()
	s := openTempStore(t)
	gen := agentgen.New(agentgen.Agent, 1, time.Unix(1_750_000_000, 0))
	spans := otlp.Decode(agentgen.Traces(agentgen.Resource{ServiceName: "plan", Project: "plan"}, gen.Spans(3000)), "").Spans
	for i := range 99 {
		other := agentgen.New(agentgen.Agent, uint64(i+2), time.Unix(1_750_000_000, 0))
		res := agentgen.Resource{ServiceName: "plan", Project: fmt.Sprintf("other-%02d", i)}
		spans = append(spans, otlp.Decode(agentgen.Traces(res, other.Trace().Spans), "").Spans...)
	}
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
	return s, projectID
}

// The annotations of a page's traces, or of one trace, are found through
// the traces' ids, never by testing every annotation's or every trace's id.
func TestAnnotationsByEntityPlans(t *testing.T) {
	s, pid := planStore(t)
	for _, tc := range []struct {
		q     store.AnnotationQuery
		index string
	}{
		{store.AnnotationQuery{Kind: store.TraceAnnotation, ProjectID: pid, EntityIDs: []string{strings.Repeat("1", 32)}, Limit: 500}, "traces_trace_id"},
		{store.AnnotationQuery{Kind: store.TraceAnnotation, ProjectID: pid, EntityIDs: []string{strings.Repeat("1", 32), strings.Repeat("2", 32)}, Limit: 2000}, "traces_trace_id"},
		{store.AnnotationQuery{Kind: store.SpanAnnotation, ProjectID: pid, EntityIDs: []string{strings.Repeat("1", 16)}, Limit: 500}, "spans_span_id"},
	} {
		q, args, err := annotationsQuery(tc.q)
		if err != nil {
			t.Fatal(err)
		}
		plan := queryPlan(t, s, q, args...)
		// The entities found by id, then their annotations: not the
		// project's entities walked.
		if !strings.Contains(plan, "INDEX "+tc.index) || strings.Contains(plan, "SCAN a") || strings.Contains(plan, "SCAN e") ||
			!strings.Contains(plan, "SEARCH e USING INTEGER PRIMARY KEY (rowid=?)") {
			t.Errorf("%s annotations of %d entities are not found through %s:\n%s", tc.q.Kind, len(tc.q.EntityIDs), tc.index, plan)
		}
	}
}

// The annotation chips of a page of traces find their traces and root
// spans through the traces' row ids, and those of a page of spans through
// the spans' row ids, not through the id blocks.
func TestAnnotationsByTraceRowsPlans(t *testing.T) {
	s, pid := planStore(t)
	for _, tc := range []struct {
		q    store.AnnotationQuery
		want string
	}{
		{store.AnnotationQuery{Kind: store.TraceAnnotation, ProjectID: pid, EntityIDs: []string{strings.Repeat("1", 32), strings.Repeat("2", 32)},
			TraceRowIDs: []int64{1, 2}, Limit: 2000}, "SEARCH tt USING INTEGER PRIMARY KEY (rowid=?)"},
		{store.AnnotationQuery{Kind: store.SpanAnnotation, ProjectID: pid, EntityIDs: []string{strings.Repeat("1", 16), strings.Repeat("2", 16)},
			TraceRowIDs: []int64{1, 2}, Limit: 2000}, "SEARCH ts USING COVERING INDEX spans_trace_parent (trace_rowid=?)"},
		{store.AnnotationQuery{Kind: store.SpanAnnotation, ProjectID: pid, EntityIDs: []string{strings.Repeat("1", 16), strings.Repeat("2", 16)},
			SpanRowIDs: []int64{1, 2}, Limit: 2000}, "SEARCH ss USING INTEGER PRIMARY KEY (rowid=?)"},
	} {
		q, args, err := annotationsQuery(tc.q)
		if err != nil {
			t.Fatal(err)
		}
		plan := queryPlan(t, s, q, args...)
		if !strings.Contains(plan, tc.want) || strings.Contains(plan, "SCAN a") || strings.Contains(plan, "SCAN e") ||
			strings.Contains(plan, "_id (") {
			t.Errorf("%s annotations are not found through their traces' rows:\n%s", tc.q.Kind, plan)
		}
	}
}

// Whether a tool call in range holds a model call is answered on the
// partial index of those calls, which only they are in.
func TestToolCallsWithModelsPlan(t *testing.T) {
	s, pid := planStore(t)
	plan := queryPlan(t, s, toolCallsWithModelsQuery, pid, 0, int64(2e18))
	if !strings.Contains(plan, "INDEX spans_tool_model_calls (project_id=? AND start_time>? AND start_time<?)") {
		t.Errorf("tool calls with model calls are not found on spans_tool_model_calls alone:\n%s", plan)
	}
}

// The header's and the metrics page's sums read the whole minutes of the
// range from trace_minutes, and only the traces of a minute cut at either
// end, through their time index.
func TestTraceSumsPlans(t *testing.T) {
	s, pid := planStore(t)
	start := int64(1_750_000_000e9) + 30e9 // inside a minute
	for _, tc := range []struct {
		name  string
		query func() (string, []any)
		cut   bool // reads traces at a cut minute
	}{
		{"stats, open range", func() (string, []any) { return projectStatsQuery(pid, start, 0) }, true},
		{"stats, whole minutes", func() (string, []any) { return projectStatsQuery(pid, start-30e9, start+3570e9) }, false},
		{"stats, cut at both ends", func() (string, []any) { return projectStatsQuery(pid, start, start+3600e9) }, true},
		{"series by the hour", func() (string, []any) { return traceBucketsQuery(pid, start, start+86400e9, 3600e9) }, true},
	} {
		q, args := tc.query()
		plan := queryPlan(t, s, q, args...)
		ok := strings.Contains(plan, "SEARCH trace_minutes USING PRIMARY KEY (project_id=? AND minute>? AND minute<?)") ||
			strings.Contains(plan, "SEARCH trace_minutes USING PRIMARY KEY (project_id=? AND minute>?)")
		if tc.cut {
			ok = ok && strings.Contains(plan, "INDEX traces_project_st") &&
				strings.Contains(plan, "(project_id=? AND start_time>? AND start_time<?)")
		}
		if !ok || strings.Contains(plan, "SCAN traces") || strings.Contains(plan, "SCAN trace_minutes") {
			t.Errorf("%s does not sum whole minutes from trace_minutes and cut ones through an index:\n%s", tc.name, plan)
		}
	}
}

// The latency samples of the project header (and home page) and of the
// metrics page read the newest traces in range on the covering
// traces_project_stats, newest first, without sorting them.
func TestLatencySamplePlans(t *testing.T) {
	s, pid := planStore(t)
	start := int64(1_750_000_000e9)
	for _, tc := range []struct {
		name string
		expr string
		n    int
		end  int64
	}{
		{"header", "end_time - start_time", store.StatsLatencySample, 0},
		{"metrics", "start_time || ',' || (end_time - start_time)", store.SeriesLatencySample, start + 86400e9},
	} {
		q, args := newestTracesQuery(tc.expr, pid, start, tc.end, tc.n)
		plan := queryPlan(t, s, "SELECT group_concat(v) FROM ("+q+")", args...)
		if !strings.Contains(plan, "SEARCH traces USING COVERING INDEX traces_project_stats (project_id=? AND start_time>") ||
			strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("%s: the sample is not read newest first on traces_project_stats:\n%s", tc.name, plan)
		}
	}
}

// The summaries of a project's span and trace annotations over a range
// read the range's whole hours from the hourly sums, and the annotations of
// the hours cut at either end on their own index; the score series reads
// the annotations in range on that index. None reads a span or a trace.
func TestAnnotationSummaryPlans(t *testing.T) {
	s, pid := planStore(t)
	start := int64(1_750_000_000e9) // 15:06:40, inside an hour
	for _, tc := range []struct {
		name, index string
		hours       bool
		query       func() (string, []any)
	}{
		{"span summaries, open range", "span_annotations_project_start", true, func() (string, []any) {
			return annotationSummaryQuery(schema.AnnotationTables[store.SpanAnnotation], store.SpanAnnotation, pid, start, 0)
		}},
		{"trace summaries, a day", "trace_annotations_project_start", true, func() (string, []any) {
			return annotationSummaryQuery(schema.AnnotationTables[store.TraceAnnotation], store.TraceAnnotation, pid, start, start+86400e9)
		}},
		{"trace summaries, within an hour", "trace_annotations_project_start", false, func() (string, []any) {
			return annotationSummaryQuery(schema.AnnotationTables[store.TraceAnnotation], store.TraceAnnotation, pid, start, start+600e9)
		}},
		{"score series", "span_annotations_project_start", false, func() (string, []any) { return scoreSeriesQuery(pid, start, 0, 3600e9) }},
	} {
		q, args := tc.query()
		plan := queryPlan(t, s, q, args...)
		ok := strings.Contains(plan, "COVERING INDEX "+tc.index+" (project_id=? AND entity_start>?")
		if tc.hours {
			ok = ok && strings.Contains(plan, "SEARCH annotation_name_hours USING PRIMARY KEY (project_id=? AND kind=? AND hour>? AND hour<?)") &&
				strings.Contains(plan, "SEARCH annotation_label_hours USING PRIMARY KEY (project_id=? AND kind=? AND hour>?") ||
				ok && strings.Contains(plan, "SEARCH annotation_name_hours USING PRIMARY KEY (project_id=? AND kind=? AND hour>?)") &&
					strings.Contains(plan, "SEARCH annotation_label_hours USING PRIMARY KEY (project_id=? AND kind=? AND hour>?)")
		}
		if !ok || strings.Contains(plan, " spans") || strings.Contains(plan, " traces") || strings.Contains(plan, "SCAN annotation") {
			t.Errorf("%s do not read what they sum on its own index:\n%s", tc.name, plan)
		}
	}
}

// The minutes where a bounded filter's spans or traces may start are
// read on span_minutes' or trace_minutes' key, over the range asked for.
func TestMinutesPlans(t *testing.T) {
	s, pid := planStore(t)
	e, err := query.Parse("span_kind == 'LLM' and latency_ms > 4000")
	if err != nil {
		t.Fatal(err)
	}
	cond, args, ok := minutesCondition(store.SpanQuery{ProjectID: pid, Filter: e, OrderByStartTime: true, Limit: 101})
	if !ok {
		t.Fatal("the filter does not bound its spans")
	}
	slow := int64(6e9)
	tcond, targs, ok := traceMinutesCondition(store.TraceQuery{ProjectID: pid, MinLatency: &slow, Filter: e, Limit: 101})
	if !ok {
		t.Fatal("the latency does not bound the traces")
	}
	for _, tc := range []struct {
		table, cond string
		args        []any
	}{{"span_minutes", cond, args}, {"trace_minutes", tcond, targs}} {
		q := "SELECT DISTINCT minute AS v FROM " + tc.table + " WHERE project_id = ? AND minute >= ? AND minute < ? AND (" + tc.cond + ")"
		plan := queryPlan(t, s, q, append([]any{pid, int64(1_750_000_000e9), int64(1_750_003_600e9)}, tc.args...)...)
		if !strings.Contains(plan, "SEARCH "+tc.table+" USING PRIMARY KEY (project_id=? AND minute>? AND minute<?)") {
			t.Errorf("the minutes are not read on %s's key:\n%s", tc.table, plan)
		}
	}
}

// A page of a project's sessions walks sessions_project in row-id order,
// without sorting the project's sessions, with or without a time range,
// cursor or filter; a filter on a session id finds it by its id.
func TestSessionListPlans(t *testing.T) {
	s, pid := planStore(t)
	filter := func(expr string) query.Expr {
		e, err := query.Parse(expr)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	for _, tc := range []struct {
		name  string
		q     store.SessionQuery
		index string
	}{
		{"newest", store.SessionQuery{ProjectID: pid, Limit: 51}, "sessions_project"},
		{"oldest, in a range, after a cursor", store.SessionQuery{ProjectID: pid, Ascending: true, StartTime: 1, EndTime: 2e18, Cursor: 3, Limit: 51}, "sessions_project"},
		{"filtered", store.SessionQuery{ProjectID: pid, Filter: filter("num_traces > 3"), Limit: 51}, "sessions_project"},
	} {
		q, args, err := sessionListQuery(tc.q)
		if err != nil {
			t.Fatal(err)
		}
		plan := queryPlan(t, s, q, args...)
		if !strings.Contains(plan, "INDEX "+tc.index+" ") || strings.Contains(plan, "TEMP B-TREE FOR ORDER BY") {
			t.Errorf("%s: the page is not read in order on %s:\n%s", tc.name, tc.index, plan)
		}
	}
}

// The prompt version report reads its sample's span annotations by the
// time their spans started, on the annotations' own index.
func TestPromptReportAnnotationsPlan(t *testing.T) {
	s, pid := planStore(t)
	plan := queryPlan(t, s, spanAnnotationsBetweenQuery, pid, int64(1_750_000_000e9), int64(1_750_003_600e9))
	if !strings.Contains(plan, "SEARCH span_annotations USING COVERING INDEX span_annotations_project_start (project_id=? AND entity_start>? AND entity_start<?)") {
		t.Errorf("the sample's annotations are not read on span_annotations_project_start:\n%s", plan)
	}
}

// A page of the Spans list by cost or tokens walks the partial index of
// the spans with some, from the cursor, testing the time range and kind
// there: the one sort is of the page's rows, once read.
func TestRankedSpansPlans(t *testing.T) {
	s, pid := planStore(t)
	for _, tc := range []struct {
		sort  store.SpanSort
		index string
	}{{store.SpanSortCost, "spans_project_cost"}, {store.SpanSortTokens, "spans_project_tokens"}} {
		q, args, err := spanListQuery(store.SpanListQuery{ProjectID: pid, Sort: tc.sort, Kinds: []string{"LLM"},
			StartTime: 1, EndTime: int64(2e18), Cursor: 5, Limit: 51})
		if err != nil {
			t.Fatal(err)
		}
		plan := queryPlan(t, s, q, args...)
		if !strings.Contains(plan, "COVERING INDEX "+tc.index+" (project_id=? AND") || strings.Count(plan, "TEMP B-TREE") > 1 {
			t.Errorf("spans by %s do not page along %s:\n%s", tc.sort, tc.index, plan)
		}
		// Filtered, the page walks the same index, testing the filter on
		// each span it reaches: still no sort but the page's. A model or
		// the failures are tested in the index itself.
		for _, f := range []struct {
			q        store.SpanListQuery
			covering bool
		}{
			{store.SpanListQuery{Filter: mustParse(t, "llm.model_name == 'gpt-4o'")}, true},
			{store.SpanListQuery{ErrorOnly: true, Kinds: []string{"LLM"}}, true},
			{store.SpanListQuery{Filter: mustParse(t, "latency_ms > 1000 and llm.model_name == 'gpt-4o'")}, false},
		} {
			fq := f.q
			fq.ProjectID, fq.Sort, fq.StartTime, fq.EndTime, fq.Limit = pid, tc.sort, 1, int64(2e18), 51
			q, args, err = spanListQuery(fq)
			if err != nil {
				t.Fatal(err)
			}
			plan = queryPlan(t, s, q, args...)
			want := "INDEX " + tc.index + " (project_id=? AND"
			if f.covering {
				want = "COVERING " + want
			}
			if !strings.Contains(plan, want) || strings.Count(plan, "TEMP B-TREE") > 1 {
				t.Errorf("filtered spans by %s (%v) do not page along %s:\n%s", tc.sort, fq.Filter, tc.index, plan)
			}
		}
	}
}

func mustParse(t *testing.T, expr string) query.Expr {
	t.Helper()
	e, err := query.Parse(expr)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// A page of the Traces list by cost or tokens walks traces_project_cost or
// traces_project_tokens in the page's order, testing the time range and
// the errors toggle there: no trace of the range is sorted, only the
// page's rows once read.
func TestRankedTracesPlans(t *testing.T) {
	s, pid := planStore(t)
	for _, tc := range []struct {
		sort  store.TraceSort
		index string
	}{{store.SortCost, "traces_project_cost"}, {store.SortTokens, "traces_project_tokens"}} {
		for _, q := range []store.TraceQuery{
			{ProjectID: pid, Sort: tc.sort, StartTime: 1, EndTime: int64(2e18), Limit: 51},
			{ProjectID: pid, Sort: tc.sort, StartTime: 1, EndTime: int64(2e18), Limit: 51, Cursor: 5, Errors: store.ErrorsOnly},
			{ProjectID: pid, Sort: tc.sort, StartTime: 1, EndTime: int64(2e18), Limit: 51, Ascending: true},
		} {
			text, args, err := tracesQuery(q)
			if err != nil {
				t.Fatal(err)
			}
			plan := queryPlan(t, s, text, args...)
			if !strings.Contains(plan, "COVERING INDEX "+tc.index+" (project_id=?") || strings.Count(plan, "TEMP B-TREE") > 1 {
				t.Errorf("traces by %s (errors %v, ascending %v) do not page along %s:\n%s", tc.sort, q.Errors, q.Ascending, tc.index, plan)
			}
		}
	}
}
