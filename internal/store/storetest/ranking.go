package storetest

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// rankFixture writes four agent traces whose priced call (gpt-x) has
// 300, 100, 400 and 200 prompt tokens, and whose other call (mystery, no
// price) has 301 to 304: costs rank traces 3, 1, 4, 2, and so do tokens.
func rankFixture(t *testing.T, s store.Store) int64 {
	price := ratePricer(map[string]float64{"gpt-x": 0.001})
	for n, prompt := range []int64{300, 100, 400, 200} {
		n++
		specs := agentTrace("rank", n, int64(n)*1000, "", "")
		specs[1].prompt = prompt
		specs[1].attrs = span.Attributes{{Key: span.AttrModelName, Value: span.StringValue("gpt-x")}}
		specs[4].prompt = 300 + int64(n)
		specs[4].attrs = span.Attributes{{Key: span.AttrModelName, Value: span.StringValue("mystery")}}
		spans := build(specs...)
		for i := range spans {
			price(&spans[i])
		}
		write(t, s, spans)
	}
	return project(t, s, "rank").ID
}

func testCostRanking(t *testing.T, s store.Store) {
	ctx := context.Background()
	pid := rankFixture(t, s)
	tests := []struct {
		name string
		q    store.SpanListQuery
		want []string
	}{
		{"cost, highest first", store.SpanListQuery{Sort: store.SpanSortCost},
			[]string{spanID(302), spanID(102), spanID(402), spanID(202)}},
		{"cost, lowest first", store.SpanListQuery{Sort: store.SpanSortCost, Ascending: true},
			[]string{spanID(202), spanID(402), spanID(102), spanID(302)}},
		{"tokens, most first", store.SpanListQuery{Sort: store.SpanSortTokens},
			[]string{spanID(302), spanID(405), spanID(305), spanID(205), spanID(105), spanID(102), spanID(402), spanID(202)}},
		{"cost in a time range", store.SpanListQuery{Sort: store.SpanSortCost, StartTime: base + 2000*ms, EndTime: base + 4000*ms},
			[]string{spanID(302), spanID(202)}},
		{"cost of one kind", store.SpanListQuery{Sort: store.SpanSortCost, Kinds: []string{"TOOL"}}, []string{}},
		{"tokens of failed spans", store.SpanListQuery{Sort: store.SpanSortTokens, ErrorOnly: true, Limit: 2},
			[]string{spanID(405), spanID(305)}},
		// A filter keeps the ranking.
		{"cost, filtered", store.SpanListQuery{Sort: store.SpanSortCost, Filter: mustParse(t, "llm.token_count.prompt >= 300")},
			[]string{spanID(302), spanID(102)}},
		{"cost, filtered, lowest first", store.SpanListQuery{Sort: store.SpanSortCost, Ascending: true, Filter: mustParse(t, "llm.token_count.prompt >= 300")},
			[]string{spanID(102), spanID(302)}},
		{"tokens, filtered by model", store.SpanListQuery{Sort: store.SpanSortTokens, Filter: mustParse(t, "llm.model_name == 'mystery'")},
			[]string{spanID(405), spanID(305), spanID(205), spanID(105)}},
		{"tokens, filtered, in a time range", store.SpanListQuery{Sort: store.SpanSortTokens, StartTime: base + 2000*ms, EndTime: base + 4000*ms,
			Filter: mustParse(t, "span_kind == 'LLM' and latency_ms >= 0")}, []string{spanID(302), spanID(305), spanID(205), spanID(202)}},
		{"cost, a filter that matches nothing", store.SpanListQuery{Sort: store.SpanSortCost, Filter: mustParse(t, "latency_ms > 100000000")}, []string{}},
		{"newest first, filtered", store.SpanListQuery{Filter: mustParse(t, "llm.model_name == 'gpt-x'"), Limit: 2},
			[]string{spanID(402), spanID(302)}},
	}
	for _, tc := range tests {
		tc.q.ProjectID = pid
		got, err := s.SpanList(ctx, tc.q)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if diff := cmp.Diff(tc.want, rowIDs(got)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}

	pageRanked(t, s, store.SpanListQuery{ProjectID: pid, Sort: store.SpanSortTokens, Filter: mustParse(t, "span_kind == 'LLM'")})

	// Keyset pages in both directions, for both keys, over the project and
	// over a range (which a store may rank another way): every ranked span
	// once, in order, whatever the page size.
	for _, sort := range []store.SpanSort{store.SpanSortCost, store.SpanSortTokens} {
		for _, asc := range []bool{false, true} {
			for _, from := range []int64{0, base} {
				pageRanked(t, s, store.SpanListQuery{ProjectID: pid, Sort: sort, Ascending: asc, StartTime: from})
			}
		}
	}

	top, err := s.SpanList(ctx, store.SpanListQuery{ProjectID: pid, Sort: store.SpanSortCost, Limit: 1})
	if err != nil || len(top) != 1 {
		t.Fatalf("most expensive span = %v, %v", top, err)
	}
	if r := top[0]; r.Model != "gpt-x" || !near(r.Cost, 400*0.001+20*0.002) || r.CostStatus != string(span.CostPriced) {
		t.Errorf("most expensive span: model %q cost %g (%q), want gpt-x %g priced", r.Model, r.Cost, r.CostStatus, 400*0.001+20*0.002)
	}
	unpriced, err := s.SpanList(ctx, store.SpanListQuery{ProjectID: pid, Sort: store.SpanSortTokens, Limit: 2})
	if err != nil || len(unpriced) != 2 || unpriced[1].Model != "mystery" || unpriced[1].CostStatus != string(span.CostNoPrice) {
		t.Errorf("an unpriced call listed by tokens = %+v, %v; want model mystery, no price", unpriced, err)
	}

	traceIDs := func(ts []store.Trace) []string {
		out := []string{}
		for _, tr := range ts {
			out = append(out, tr.TraceID)
		}
		return out
	}
	for _, sort := range []store.TraceSort{store.SortCost, store.SortTokens} {
		want := []string{traceID(3), traceID(1), traceID(4), traceID(2)}
		got, err := s.Traces(ctx, store.TraceQuery{ProjectID: pid, Sort: sort})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, traceIDs(got)); diff != "" {
			t.Errorf("traces by %s (-want +got):\n%s", sort, diff)
		}
		// The page after the second trace, in both directions.
		next, err := s.Traces(ctx, store.TraceQuery{ProjectID: pid, Sort: sort, Cursor: got[1].RowID, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want[1:3], traceIDs(next)); diff != "" {
			t.Errorf("traces by %s from a cursor (-want +got):\n%s", sort, diff)
		}
		asc, err := s.Traces(ctx, store.TraceQuery{ProjectID: pid, Sort: sort, Ascending: true, Cursor: got[1].RowID})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{traceID(1), traceID(3)}, traceIDs(asc)); diff != "" {
			t.Errorf("traces by %s ascending from a cursor (-want +got):\n%s", sort, diff)
		}
	}
}

// pageRanked checks that pages of three spans from q hold what one read of
// q does, in order.
func pageRanked(t *testing.T, s store.Store, q store.SpanListQuery) {
	t.Helper()
	ctx := context.Background()
	whole, err := s.SpanList(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	var paged []string
	for pages := 0; ; pages++ {
		q.Limit = 3
		got, err := s.SpanList(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) < 3 {
			paged = append(paged, rowIDs(got)...)
			break
		}
		paged = append(paged, rowIDs(got[:2])...)
		q.Cursor = got[2].RowID
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
	}
	if diff := cmp.Diff(rowIDs(whole), paged); diff != "" {
		t.Errorf("%s ascending=%v from %d: pages (-whole +paged):\n%s", q.Sort, q.Ascending, q.StartTime, diff)
	}
}
