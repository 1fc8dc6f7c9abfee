package clickhouse_test

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/clickhouse/chtest"
)

// TestClusterCostsAndReports reprices spans through one node of the
// three-shard cluster and reads costs, rankings and reports through every
// node: re-inserted rows land on their trace's shard and replace the old
// ones, and keyset pages whose cursor row lives on one shard are the same
// from any node.
func TestClusterCostsAndReports(t *testing.T) {
	urls := chtest.Cluster(t)
	ctx := context.Background()
	var spans []span.Span
	for i := range 30 {
		tr := clusterTrace(i)
		llm := &tr[2]
		for j, a := range llm.Attributes {
			if a.Key == span.AttrTokensPrompt {
				llm.Attributes[j].Value = span.IntValue(int64(10 + i))
			}
		}
		llm.Attributes = append(llm.Attributes, span.Attr{Key: span.AttrModelName, Value: span.StringValue("gpt-x")})
		span.Normalize(llm)
		if tool := &tr[1]; tool.StatusCode == span.StatusError {
			tool.StatusMessage = "lookup failed"
			span.Normalize(tool)
		}
		spans = append(spans, tr...)
	}
	if _, err := open(t, urls[0]).WriteSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	// $1 a prompt token, $2 a completion token.
	pricer := func(sp *span.Span) {
		v := &sp.View
		p, c := float64(v.Tokens.Prompt), 2*float64(v.Tokens.Completion)
		v.Cost = span.Cost{Status: span.CostPriced, Prompt: p, Completion: c, Total: p + c, Source: "computed", Entry: v.ModelName}
	}
	res, err := open(t, urls[1]).RecomputeCosts(ctx, []string{"gpt-x"}, pricer, nil)
	if err != nil || res.Scanned != 30 || res.Changed != 30 {
		t.Fatalf("RecomputeCosts through node 2 = %+v, %v; want 30 spans repriced", res, err)
	}
	wantCost := 0.0
	for i := range 30 {
		wantCost += float64(10+i) + 20
	}
	for _, u := range urls {
		s := open(t, u)
		p, err := s.ProjectByName(ctx, "sharded")
		if err != nil {
			t.Fatal(err)
		}
		st, err := s.ProjectStats(ctx, p.ID, 0, 0)
		if err != nil || math.Abs(st.Cost-wantCost) > 1e-6 || st.Spans != 90 {
			t.Errorf("%s: project stats after the reprice = %+v, %v; want $%g over 90 spans", u, st, err, wantCost)
		}
		whole, err := s.SpanList(ctx, store.SpanListQuery{ProjectID: p.ID, Sort: store.SpanSortCost})
		if err != nil || len(whole) != 30 || whole[0].Cost != 39+20 {
			t.Fatalf("%s: spans by cost = %d rows, %v", u, len(whole), err)
		}
		var paged []int64
		q := store.SpanListQuery{ProjectID: p.ID, Sort: store.SpanSortCost, Limit: 4}
		for range 20 {
			got, err := s.SpanList(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range got[:min(len(got), 3)] {
				paged = append(paged, r.RowID)
			}
			if len(got) < 4 {
				break
			}
			q.Cursor = got[3].RowID
		}
		var want []int64
		for _, r := range whole {
			want = append(want, r.RowID)
		}
		if !slices.Equal(want, paged) {
			t.Errorf("%s: spans by cost in pages differ from one read", u)
		}
		traces, err := s.Traces(ctx, store.TraceQuery{ProjectID: p.ID, Sort: store.SortCost, Limit: 3})
		if err != nil || len(traces) != 3 || traces[0].TraceID != traceHex(29) {
			t.Fatalf("%s: traces by cost = %+v, %v", u, traces, err)
		}
		next, err := s.Traces(ctx, store.TraceQuery{ProjectID: p.ID, Sort: store.SortCost, Cursor: traces[1].RowID, Limit: 2})
		if err != nil || len(next) != 2 || next[0].TraceID != traceHex(28) || next[1].TraceID != traceHex(27) {
			t.Errorf("%s: traces by cost from a cursor = %+v, %v", u, next, err)
		}
		groups, err := s.ErrorGroups(ctx, store.ErrorGroupQuery{ProjectID: p.ID, StartTime: 0, EndTime: math.MaxInt64, Buckets: 1})
		if err != nil || len(groups) != 1 || groups[0].Count != 10 {
			t.Errorf("%s: error groups = %+v, %v; want one group of 10 failures", u, groups, err)
		}
	}
}
