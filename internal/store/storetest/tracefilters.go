package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// filterTraces writes four traces to project "tf":
//
//	trace  start  latency  errors  session  root input
//	1      1 s    1000 ms  1       s-a      question 1 (user u1)
//	2      2 s    3000 ms  0       s-b      question 2
//	3      3 s    1500 ms  1       s-a      question 3
//	4      4 s    2500 ms  0       -        question 4
func filterTraces(t *testing.T, s store.Store) int64 {
	t.Helper()
	for _, tc := range []struct {
		n       int
		latency int64
		errors  bool
		session string
	}{{1, 1000, true, "s-a"}, {2, 3000, false, "s-b"}, {3, 1500, true, "s-a"}, {4, 2500, false, ""}} {
		user := ""
		if tc.n == 1 {
			user = "u1"
		}
		specs := agentTrace("tf", tc.n, int64(tc.n)*1000, tc.session, user)
		specs[0].durMs = tc.latency
		if !tc.errors {
			specs[4].status = span.StatusOK
		}
		write(t, s, build(specs...))
	}
	return project(t, s, "tf").ID
}

func traceIDList(ts []store.Trace) []string {
	out := []string{}
	for _, tr := range ts {
		out = append(out, tr.TraceID)
	}
	return out
}

func mustParse(t *testing.T, src string) query.Expr {
	t.Helper()
	e, err := query.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// testTraceFilters checks the conditions of Phoenix's trace list: error,
// min_latency_ms and max_latency_ms, its filter, and its cursor, which
// names the last trace of a page.
func testTraceFilters(t *testing.T, s store.Store) {
	ctx := context.Background()
	pid := filterTraces(t, s)
	msPtr := func(n int64) *int64 { v := n * ms; return &v }
	all, err := s.Traces(ctx, store.TraceQuery{ProjectID: pid, Ascending: true})
	if err != nil || len(all) != 4 {
		t.Fatalf("traces = %v, %v", all, err)
	}
	t1, t2, t3, t4 := traceID(1), traceID(2), traceID(3), traceID(4)
	for _, tc := range []struct {
		name string
		q    store.TraceQuery
		want []string
	}{
		{"errors only", store.TraceQuery{Errors: store.ErrorsOnly}, []string{t3, t1}},
		{"no errors", store.TraceQuery{Errors: store.NoErrors}, []string{t4, t2}},
		{"at least 1500 ms, inclusive", store.TraceQuery{MinLatency: msPtr(1500)}, []string{t4, t3, t2}},
		{"at most 2500 ms, inclusive", store.TraceQuery{MaxLatency: msPtr(2500)}, []string{t4, t3, t1}},
		{"between", store.TraceQuery{MinLatency: msPtr(1500), MaxLatency: msPtr(2500)}, []string{t4, t3}},
		{"min above max", store.TraceQuery{MinLatency: msPtr(2600), MaxLatency: msPtr(2500)}, []string{}},
		{"errors and latency", store.TraceQuery{Errors: store.ErrorsOnly, MinLatency: msPtr(1200)}, []string{t3}},
		{"by latency, fastest first, no errors", store.TraceQuery{Sort: store.SortLatency, Ascending: true, Errors: store.NoErrors}, []string{t4, t2}},
		{"after the third, newest first", store.TraceQuery{AfterRowID: all[2].RowID, AfterValue: all[2].StartTime}, []string{t2, t1}},
		{"after the second, oldest first", store.TraceQuery{Ascending: true, AfterRowID: all[1].RowID, AfterValue: all[1].StartTime}, []string{t3, t4}},
		{"after the fourth by latency, slowest first", store.TraceQuery{Sort: store.SortLatency,
			AfterRowID: all[3].RowID, AfterValue: all[3].EndTime - all[3].StartTime}, []string{t3, t1}},
		{"after a value between traces", store.TraceQuery{AfterRowID: 1 << 40, AfterValue: base + 2500*ms}, []string{t2, t1}},
		{"filter on roll-ups", store.TraceQuery{Filter: mustParse(t, "error_count > 0 and latency_ms > 1200")}, []string{t3}},
		{"filter on the root span", store.TraceQuery{Filter: mustParse(t, "'QUESTION 2' in input or user.id == 'u1'")}, []string{t2, t1}},
		{"filter and the other conditions", store.TraceQuery{Errors: store.NoErrors, Filter: mustParse(t, "num_spans == 5 and token_count_total > 0")}, []string{t4, t2}},
	} {
		tc.q.ProjectID = pid
		got, err := s.Traces(ctx, tc.q)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if d := cmp.Diff(tc.want, traceIDList(got)); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, d)
		}
	}
	_, err = s.Traces(ctx, store.TraceQuery{ProjectID: pid, Filter: mustParse(t, "span_kind == 'LLM'")})
	if !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("a span filter as a trace filter: %v, want ErrInvalidArgument", err)
	}
}

// testSessionFilters checks Phoenix's session filter over the sessions of
// filterTraces.
func testSessionFilters(t *testing.T, s store.Store) {
	ctx := context.Background()
	pid := filterTraces(t, s)
	for _, tc := range []struct {
		filter string
		want   []string
	}{
		{"num_traces_with_error > 0", []string{"s-a"}},
		{"num_traces == 1", []string{"s-b"}},
		{"'question 2' in first_input", []string{"s-b"}},
		{"'question 3' in any_input", []string{"s-a"}},
		{"'question 3' not in any_input", []string{"s-b"}},
		{"llm_span_count == 4 and token_count_prompt == 800", []string{"s-a"}},
		{"user.id == 'u1'", []string{"s-a"}},
		{"duration_ms >= 3000", []string{"s-a", "s-b"}},
		{"session_id == 's-b' and prompt_cost == 0", []string{"s-b"}},
	} {
		got, err := s.Sessions(ctx, store.SessionQuery{ProjectID: pid, Ascending: true, Filter: mustParse(t, tc.filter)})
		if err != nil {
			t.Errorf("%s: %v", tc.filter, err)
			continue
		}
		ids := []string{}
		for _, se := range got {
			ids = append(ids, se.SessionID)
		}
		if d := cmp.Diff(tc.want, ids); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.filter, d)
		}
	}
	_, err := s.Sessions(ctx, store.SessionQuery{ProjectID: pid, Filter: mustParse(t, "error_count > 0")})
	if !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("a trace filter as a session filter: %v, want ErrInvalidArgument", err)
	}
}
