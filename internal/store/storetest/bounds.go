package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// testBoundedFilters checks that filters a backend may answer from
// summaries of its spans by time (query.SpanBound: latency, errors, models,
// token counts, cost, kind) find what the same filters find span by span,
// page by page in every order, as spans arrive over many minutes, are
// repriced, move to another project and are deleted. "or name == …" takes
// the bound away, which gives the answer to compare with.
func testBoundedFilters(t *testing.T, s store.Store) {
	ctx := context.Background()
	var specs []spanSpec
	models := []string{"gpt-4o", "gpt-4o-mini", "claude"}
	// 40 traces over 40 minutes, some minutes empty; a few slow spans,
	// failed ones, big token counts.
	for i := 1; i <= 40; i++ {
		start := int64(i) * 60_000 * 3 / 2
		for j, sp := range agentTrace("bounded", i, start, "", "") {
			if sp.kind == span.KindLLM {
				sp.attrs = span.Attributes{{Key: span.AttrModelName, Value: span.StringValue(models[(i+j)%3])}}
				if i%7 == 0 {
					sp.prompt = 5000
				}
			}
			if sp.status == span.StatusError && i%3 != 0 {
				sp.status = span.StatusOK
			}
			if i%11 == 0 && j == 0 {
				sp.durMs = 9000
			}
			specs = append(specs, sp)
		}
	}
	spans := build(specs...)
	price := ratePricer(map[string]float64{"gpt-4o": 0.001, "claude": 0.002})
	for i := range spans {
		price(&spans[i])
	}
	// Children first, roots after, in batches of a few traces.
	for i := 0; i < len(spans); i += 35 {
		batch := slices.Clone(spans[i:min(i+35, len(spans))])
		slices.Reverse(batch)
		write(t, s, batch)
	}
	filters := []string{
		"latency_ms > 6000", "latency_ms > 600000", "status_code == 'ERROR'", "span_kind == 'LLM' and latency_ms > 400",
		"llm.model_name == 'claude'", "llm.model_name == 'none'", "llm.token_count.prompt > 1000", "llm.token_count.total > 10000000",
		"total_cost > 0.5", "total_cost > 1000", "span_kind in ['TOOL', 'RETRIEVER'] and latency_ms >= 200",
		"latency_ms > 8000 or status_code == 'ERROR'", "span_kind == 'AGENT'",
	}
	check := func(when string) {
		t.Helper()
		for _, name := range []string{"bounded", "bounded-other"} {
			p, err := s.ProjectByName(ctx, name)
			if err != nil {
				continue
			}
			for _, f := range filters {
				for _, q := range []store.SpanQuery{
					{OrderByStartTime: true}, {OrderByStartTime: true, Ascending: true}, {}, {Ascending: true},
					{OrderByStartTime: true, RootsOnly: true}, {OrderByStartTime: true, Kinds: []string{"LLM"}},
					{OrderByStartTime: true, StartTime: base + 10*60_000*ms + 30_000*ms, EndTime: base + 40*60_000*ms},
				} {
					q.ProjectID = p.ID
					got := allSpanIDs(t, s, q, f)
					want := allSpanIDs(t, s, q, "("+f+") or name == 'no span has this name'")
					if !slices.Equal(got, want) {
						t.Errorf("%s: %s, %s %+v: %v, want %v", when, name, f, q, got, want)
					}
				}
			}
		}
	}
	check("after writing")
	if _, err := s.RecomputeCosts(ctx, []string{"gpt-4o", "claude"}, ratePricer(map[string]float64{"gpt-4o": 1, "claude": 2}), nil); err != nil {
		t.Fatal(err)
	}
	check("after repricing")
	other, err := s.CreateProject(ctx, "bounded-other", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.TransferTraces(ctx, []string{traceID(11), traceID(21), traceID(22)}, other.ID); err != nil {
		t.Fatal(err)
	}
	check("after a transfer")
	if err := s.DeleteTrace(ctx, traceID(33)); err != nil {
		t.Fatal(err)
	}
	check("after deleting a trace")
}

// allSpanIDs pages through q with filter f, ten spans a page, and returns
// the span ids in order. Pages end inside a minute and across empty ones
// alike: the 280 spans make 28 of them.
func allSpanIDs(t *testing.T, s store.Store, q store.SpanQuery, f string) []string {
	t.Helper()
	const pageOf = 10
	e, err := query.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	q.Filter, q.Limit = e, pageOf+1
	var ids []string
	for range 1000 {
		recs, err := s.Spans(context.Background(), q)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, r := range recs[:min(len(recs), pageOf)] {
			ids = append(ids, r.SpanID)
		}
		if len(recs) <= pageOf {
			return ids
		}
		q.Cursor, q.CursorStartTime = recs[pageOf].RowID, recs[pageOf].StartTime
	}
	panic(fmt.Sprintf("%s: more than 1000 pages", f))
}
