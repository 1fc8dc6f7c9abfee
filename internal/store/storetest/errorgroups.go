package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// failed makes spec a failure: an exception event of this type and
// message, or, with no type, a status message alone.
func failed(spec spanSpec, typ, msg string) span.Span {
	spec.status = span.StatusError
	sp := spec.build()
	if typ == "" {
		sp.StatusMessage = msg
	} else {
		sp.StatusMessage = "failed"
		sp.Events = []span.Event{{Name: "exception", Time: sp.StartTime, Attributes: span.Attributes{
			{Key: "exception.type", Value: span.StringValue(typ)},
			{Key: "exception.message", Value: span.StringValue(msg)}}}}
	}
	span.Normalize(&sp)
	return sp
}

func testErrorGroups(t *testing.T, s store.Store) {
	ctx := context.Background()
	llm := func(trace, id int, startMs int64, version string) spanSpec {
		return spanSpec{project: "eg", trace: trace, id: id, name: "llm.chat", kind: span.KindLLM, startMs: startMs, durMs: 10,
			attrs: span.Attributes{{Key: span.AttrModelName, Value: span.StringValue("gpt-x")},
				{Key: span.AttrTemplateVersion, Value: span.StringValue(version)}}}
	}
	tool := func(trace, id int, startMs int64) spanSpec {
		return spanSpec{project: "eg", trace: trace, id: id, name: "tool.lookup", kind: span.KindTool, startMs: startMs, durMs: 10}
	}
	write(t, s, []span.Span{
		failed(llm(1, 11, 1000, "v1"), "TimeoutError", "timeout after 31s on req 8f3a9c01"),
		failed(llm(2, 21, 2000, "v2"), "TimeoutError", "timeout after 12s on req 77be0d2e"),
		failed(llm(3, 31, 3000, "v1"), "TimeoutError", "timeout after 9s on req 0a0b0c0d"),
		failed(tool(2, 22, 2500), "ValueError", "bad input 'x'"),
		failed(tool(1, 12, 500), "", "rate limited"),
		tool(3, 32, 3100).build(),
		failed(spanSpec{project: "other", trace: 9, id: 91, name: "x", startMs: 1000, durMs: 1}, "TimeoutError", "timeout after 1s on req 8f3a9c01"),
	})
	pid := project(t, s, "eg").ID
	timeout := span.ErrorGroup(span.Failure{Type: "TimeoutError", Message: "timeout after 1s on req 8f3a9c01"})
	value := span.ErrorGroup(span.Failure{Type: "ValueError", Message: "bad input 'y'"})
	limited := span.ErrorGroup(span.Failure{Message: "rate limited"})

	q := store.ErrorGroupQuery{ProjectID: pid, StartTime: base, EndTime: base + 4000*ms, Buckets: 4}
	got, err := s.ErrorGroups(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.ErrorGroup{
		{Key: timeout, Count: 3, FirstSeen: base + 1000*ms, LastSeen: base + 3000*ms,
			Models: []string{"gpt-x"}, Versions: []string{"v1", "v2"}, Series: []int64{0, 1, 1, 1}},
		{Key: value, Count: 1, FirstSeen: base + 2500*ms, LastSeen: base + 2500*ms, Series: []int64{0, 0, 1, 0}},
		{Key: limited, Count: 1, FirstSeen: base + 500*ms, LastSeen: base + 500*ms, Series: []int64{1, 0, 0, 0}},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(store.ErrorGroup{}, "LatestRowID"), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("error groups (-want +got):\n%s", diff)
	}
	if len(got) > 0 {
		recs, err := s.SpansByRowID(ctx, []int64{got[0].LatestRowID}, false)
		if err != nil || len(recs) != 1 || recs[0].SpanID != spanID(11) && recs[0].SpanID != spanID(21) && recs[0].SpanID != spanID(31) {
			t.Errorf("the latest failure of the timeouts = %v, %v", recs, err)
		}
	}

	// The range bounds which failures count.
	q.StartTime = base + 1500*ms
	got, err = s.ErrorGroups(ctx, q)
	if err != nil || len(got) != 2 || got[0].Key != timeout || got[0].Count != 2 || got[0].FirstSeen != base+2000*ms {
		t.Errorf("error groups from 1.5 s = %+v, %v; want the timeouts twice, then the bad input", got, err)
	}
	if got, err := s.ErrorGroups(ctx, store.ErrorGroupQuery{ProjectID: pid, StartTime: base + 5000*ms, EndTime: base + 6000*ms, Buckets: 4}); err != nil || len(got) != 0 {
		t.Errorf("error groups of a range without failures = %+v, %v", got, err)
	}

	// The filter selects a group's spans, in this project only.
	f, err := query.Parse(fmt.Sprintf("error_group == '%s'", timeout))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := s.Spans(ctx, store.SpanQuery{ProjectID: pid, Filter: f, OrderByStartTime: true, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, r := range recs {
		ids = append(ids, r.SpanID)
	}
	if diff := cmp.Diff([]string{spanID(31), spanID(21), spanID(11)}, ids); diff != "" {
		t.Errorf("spans of the timeouts (-want +got):\n%s", diff)
	}

	// Every failure's version counts, however many newer failures the
	// group has: a version seen once, a thousand failures ago, is listed,
	// and so is one propagated onto a failing tool call.
	many := []span.Span{failed(llm(100, 1001, 100, "v0"), "TimeoutError", "timeout after 5s on req abcdef01")}
	for i := range 1200 {
		many = append(many, failed(llm(101+i/10, 1002+i, 200+int64(i), "v1"), "TimeoutError", fmt.Sprintf("timeout after 5s on req %08x", 0xabc00000+i)))
	}
	versioned := tool(99, 1500, 150)
	versioned.attrs = span.Attributes{{Key: span.AttrTemplateVersion, Value: span.StringValue("v-tool")}}
	many = append(many, failed(versioned, "ValueError", "bad input 'z'"))
	write(t, s, many)
	got, err = s.ErrorGroups(ctx, store.ErrorGroupQuery{ProjectID: pid, StartTime: base, EndTime: base + 4000*ms, Buckets: 4})
	if err != nil || len(got) < 2 {
		t.Fatalf("error groups after 1,200 more timeouts = %+v, %v", got, err)
	}
	// v1 leads; v2 and v0 have one failure each.
	if g := got[0]; g.Key != timeout || g.Count != 1204 || len(g.Versions) != 3 || g.Versions[0] != "v1" || !slices.Contains(g.Versions, "v0") || !slices.Contains(g.Versions, "v2") {
		t.Errorf("the timeouts: %d failures, versions %v; want 1204, v1 then v2 and v0", g.Count, g.Versions)
	}
	if g := got[1]; g.Key != value || !cmp.Equal(g.Versions, []string{"v-tool"}) {
		t.Errorf("the bad inputs: versions %v, want [v-tool] from the failing tool call", g.Versions)
	}
}
