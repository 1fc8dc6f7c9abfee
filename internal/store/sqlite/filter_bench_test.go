package sqlite_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/store"
)

// BenchmarkFilter measures the first page (101 rows) of filtered span
// lists over benchStore's corpus. For the design's 1M-span figure run
//
//	LOUPE_BENCH_TRACES=90000 go test ./internal/store/sqlite -run '^$' -bench BenchmarkFilter -benchtime 20x
//
// (90,000 agent traces of 10 spans plus one 100,000-span trace).
func BenchmarkFilter(b *testing.B) {
	st, pid := benchStore(b)
	ctx := context.Background()
	filters := []struct{ name, expr string }{
		// Roots last 5-12 s: a quarter of the agent roots match.
		{"kind_and_latency", "span_kind == 'AGENT' and latency_ms > 10000"},
		// No LLM span lasts 4 s here, so this reads every LLM span: the worst case.
		{"kind_and_latency_no_match", "span_kind == 'LLM' and latency_ms > 4000"},
		{"status_error", "status_code == 'ERROR'"},
		{"attribute_equals", "llm.input_messages.0.message.role == 'user'"},
		{"attribute_substring", "'password' in input.value"},
		{"tokens", "llm.token_count.prompt > 500"},
		// One trace, and one span, from the middle of the week.
		{"trace_id", fmt.Sprintf("trace_id == '%032s'", fmt.Sprintf("%016x", benchTraceCount()/2))},
		{"span_id", fmt.Sprintf("span_id == '%014x%02x'", benchTraceCount()/2, 3)},
		// A lookup on one side of an "or" does not bound the spans matched.
		{"trace_id_or_error", fmt.Sprintf("trace_id == '%032s' or status_code == 'ERROR'", fmt.Sprintf("%016x", benchTraceCount()/2))},
	}
	for _, f := range filters {
		e, err := query.Parse(f.expr)
		if err != nil {
			b.Fatal(err)
		}
		for _, order := range []struct {
			name    string
			byStart bool
		}{{"rowid", false}, {"start", true}} {
			b.Run(f.name+"/"+order.name, func(b *testing.B) {
				for b.Loop() {
					if _, err := st.Spans(ctx, store.SpanQuery{ProjectID: pid, Filter: e, Limit: 101, OrderByStartTime: order.byStart}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkSpansByID measures the REST span list's trace_id[] and span_id[]
// parameters over benchStore's corpus: the first page, in both orders, for
// one trace and one span from the middle of the week.
func BenchmarkSpansByID(b *testing.B) {
	st, pid := benchStore(b)
	ctx := context.Background()
	queries := []struct {
		name string
		q    store.SpanQuery
	}{
		{"trace_id", store.SpanQuery{TraceIDs: []string{fmt.Sprintf("%032s", fmt.Sprintf("%016x", benchTraceCount()/2))}}},
		{"span_id", store.SpanQuery{SpanIDs: []string{fmt.Sprintf("%014x%02x", benchTraceCount()/2, 3)}}},
	}
	for _, tc := range queries {
		for _, order := range []struct {
			name    string
			byStart bool
		}{{"rowid", false}, {"start", true}} {
			b.Run(tc.name+"/"+order.name, func(b *testing.B) {
				q := tc.q
				q.ProjectID, q.Limit, q.OrderByStartTime = pid, 101, order.byStart
				for b.Loop() {
					if recs, err := st.Spans(ctx, q); err != nil || len(recs) == 0 {
						b.Fatalf("%d spans, %v", len(recs), err)
					}
				}
			})
		}
	}
}
