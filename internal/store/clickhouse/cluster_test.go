package clickhouse_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/clickhouse/chtest"
)

// TestCluster writes traces through a store on one node of a three-shard
// cluster and reads them, whole and with their roll-ups, through stores on
// the other nodes: each trace lives on one shard, and every node answers
// for all of them.
func TestCluster(t *testing.T) {
	urls := chtest.Cluster(t)
	ctx := context.Background()
	writer := open(t, urls[0])
	if writer.Cluster() == "" {
		t.Fatalf("%s: no cluster", urls[0])
	}
	var spans []span.Span
	for i := range 30 {
		spans = append(spans, clusterTrace(i)...)
	}
	res, err := writer.WriteSpans(ctx, spans)
	if err != nil {
		t.Fatal(err)
	}
	if res.Inserted != 90 {
		t.Fatalf("inserted %d spans, want 90", res.Inserted)
	}
	// A re-sent batch through another node adds nothing.
	if res, err := open(t, urls[1]).WriteSpans(ctx, spans[:9]); err != nil || res.Inserted != 0 || res.Duplicates != 9 {
		t.Fatalf("re-send through node 2 = %+v, %v; want 9 duplicates", res, err)
	}
	var local []uint64
	for _, u := range urls {
		var n uint64
		if err := chtest.Conn(t, u).QueryRow(ctx, "SELECT count() FROM spans_local FINAL").Scan(&n); err != nil {
			t.Fatal(err)
		}
		local = append(local, n)
	}
	for i, n := range local {
		if n == 0 || n%3 != 0 {
			t.Errorf("node %d holds %d spans: want a share of whole traces (%v)", i+1, n, local)
		}
	}
	for _, u := range urls {
		s := open(t, u)
		p, err := s.ProjectByName(ctx, "sharded")
		if err != nil {
			t.Fatal(err)
		}
		traces, err := s.Traces(ctx, store.TraceQuery{ProjectID: p.ID, Errors: store.ErrorsOnly})
		if err != nil {
			t.Fatal(err)
		}
		if len(traces) != 10 {
			t.Errorf("%s: %d traces with errors, want 10", u, len(traces))
		}
		all, err := s.Traces(ctx, store.TraceQuery{ProjectID: p.ID, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 30 {
			t.Errorf("%s: %d traces, want 30", u, len(all))
		}
		// A list reads its page's counts and sums after the page.
		for _, tr := range all {
			if tr.SpanCount != 3 || tr.LLMSpanCount != 1 || tr.Tokens.Total != 30 {
				t.Errorf("%s: listed trace %s has %d spans, %d LLM spans, %d tokens; want 3, 1, 30", u, tr.TraceID,
					tr.SpanCount, tr.LLMSpanCount, tr.Tokens.Total)
				break
			}
		}
		tr, err := s.Trace(ctx, traceHex(7))
		if err != nil {
			t.Fatal(err)
		}
		got := []int64{tr.SpanCount, tr.ErrorCount, tr.LLMSpanCount, tr.Tokens.Total, int64(len(tr.Spans))}
		if diff := cmp.Diff([]int64{3, 0, 1, 30, 3}, got); diff != "" {
			t.Errorf("%s: trace 7 (spans, errors, LLM spans, tokens, spans read) (-want +got):\n%s", u, diff)
		}
		st, err := s.ProjectStats(ctx, p.ID, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if st.Traces != 30 || st.Spans != 90 || st.ErrorTraces != 10 || st.Tokens.Total != 900 {
			t.Errorf("%s: project stats = %+v", u, st)
		}
		many, err := s.ProjectsStats(ctx, []int64{p.ID}, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if many[p.ID] != st {
			t.Errorf("%s: ProjectsStats = %+v, want ProjectStats' %+v", u, many[p.ID], st)
		}
	}
}

func traceHex(i int) string { return fmt.Sprintf("%032x", i+1) }

// clusterTrace is an agent span with a tool and an LLM call below it; one
// trace in three has an error.
func clusterTrace(i int) []span.Span {
	tid := traceHex(i)
	base := int64(1_700_000_000_000_000_000) + int64(i)*1_000_000_000
	mk := func(n int, parent, name string, kind span.Kind, start, end int64, attrs ...span.Attr) span.Span {
		sp := span.Span{TraceID: tid, SpanID: fmt.Sprintf("%016x", i*10+n), ParentID: parent, Name: name, Project: "sharded",
			StartTime: base + start, EndTime: base + end, StatusCode: span.StatusOK,
			Attributes: append(span.Attributes{{Key: span.AttrSpanKind, Value: span.StringValue(string(kind))}}, attrs...)}
		span.Normalize(&sp)
		return sp
	}
	root := mk(1, "", "agent", span.KindAgent, 0, 500_000_000)
	tool := mk(2, root.SpanID, "tool", span.KindTool, 1, 100)
	if i%3 == 0 {
		tool.StatusCode = span.StatusError
	}
	llm := mk(3, root.SpanID, "llm", span.KindLLM, 2, 200,
		span.Attr{Key: span.AttrTokensPrompt, Value: span.IntValue(20)},
		span.Attr{Key: span.AttrTokensComplete, Value: span.IntValue(10)},
		span.Attr{Key: span.AttrTokensTotal, Value: span.IntValue(30)})
	return []span.Span{root, tool, llm}
}
