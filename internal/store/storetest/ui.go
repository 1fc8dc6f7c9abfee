package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

func testProjectStats(t *testing.T, s store.Store) {
	ctx := context.Background()
	// Traces 1–3 are agent runs (each with an error span) lasting 1000 ms;
	// trace 4 is a lone OK span of 200 ms.
	for n := 1; n <= 3; n++ {
		spans := build(agentTrace("stats", n, int64(n)*10_000, "", "")...)
		spans[1].View.Cost = span.Cost{Status: span.CostPriced, Total: 0.25} // one LLM call of each is priced
		write(t, s, spans)
	}
	write(t, s, build(spanSpec{project: "stats", trace: 4, id: 401, name: "ping", startMs: 40_000, durMs: 200, status: span.StatusOK}))
	pid := project(t, s, "stats").ID

	got, err := s.ProjectStats(ctx, pid, base, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := store.ProjectStats{
		Traces: 4, ErrorTraces: 3, Spans: 16,
		Tokens:  store.TokenSums{Prompt: 1200, Completion: 210, Total: 1410},
		Cost:    0.75,
		Latency: store.LatencySummary{P50: 1000 * ms, P99: 1000 * ms, Sample: 4},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ProjectStats over everything (-want +got):\n%s", diff)
	}

	got, err = s.ProjectStats(ctx, pid, base+20_000*ms, base+40_000*ms)
	if err != nil {
		t.Fatal(err)
	}
	if got.Traces != 2 || got.Spans != 10 || got.Latency.Sample != 2 {
		t.Errorf("ProjectStats over [20 s, 40 s) = %+v, want traces 2 and 3 only", got)
	}

	got, err = s.ProjectStats(ctx, pid, base+100_000*ms, 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(store.ProjectStats{}, got); diff != "" {
		t.Errorf("ProjectStats of an empty range (-want +got):\n%s", diff)
	}
}

func testSummarizeLatencies(t *testing.T, _ store.Store) {
	got := store.SummarizeLatencies([]int64{40, 10, 30, 20}, 10)
	want := store.LatencySummary{P50: 25, P99: 39, Sample: 4, Sampled: true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SummarizeLatencies (-want +got):\n%s", diff)
	}
}

func testTraceTree(t *testing.T, s store.Store) {
	ctx := context.Background()
	write(t, s, build(agentTrace("tree", 1, 0, "", "")...))
	info, err := s.TraceInfo(ctx, traceID(1))
	if err != nil {
		t.Fatal(err)
	}
	if info.SpanCount != 5 || info.RootName != "agent.run" || info.Spans != nil {
		t.Errorf("TraceInfo = %+v, want the roll-ups and no spans", info)
	}
	got, err := s.TraceTree(ctx, info.RowID)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.TreeSpan{
		{SpanID: spanID(101), Name: "agent.run", Kind: "AGENT", Status: "OK", StartTime: base, EndTime: base + 1000*ms},
		{SpanID: spanID(102), ParentID: spanID(101), Name: "llm.chat", Kind: "LLM", Status: "OK", StartTime: base + 10*ms, EndTime: base + 310*ms},
		{SpanID: spanID(103), ParentID: spanID(101), Name: "tool.search_docs", Kind: "TOOL", Status: "OK", StartTime: base + 320*ms, EndTime: base + 520*ms},
		{SpanID: spanID(104), ParentID: spanID(103), Name: "retrieval", Kind: "RETRIEVER", Status: "OK", StartTime: base + 330*ms, EndTime: base + 480*ms},
		{SpanID: spanID(105), ParentID: spanID(101), Name: "llm.chat", Kind: "LLM", Status: "ERROR", StartTime: base + 530*ms, EndTime: base + 990*ms},
	}
	for i := range want {
		rec, err := s.SpanByID(ctx, want[i].SpanID)
		if err != nil {
			t.Fatal(err)
		}
		want[i].RowID = rec.RowID
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("TraceTree (-want +got):\n%s", diff)
	}
	// EachTreeSpan hands over the same spans one at a time, and stops at
	// the first error fn returns.
	var each []store.TreeSpan
	stop := errors.New("stop")
	err = s.EachTreeSpan(ctx, info.RowID, func(ts *store.TreeSpan) error {
		each = append(each, *ts)
		if len(each) == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Errorf("EachTreeSpan returned %v, want fn's error", err)
	}
	if diff := cmp.Diff(want[:3], each); diff != "" {
		t.Errorf("EachTreeSpan (-want +got):\n%s", diff)
	}
	if _, err := s.TraceInfo(ctx, traceID(404)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TraceInfo(unknown) error = %v, want ErrNotFound", err)
	}
}

func testSpanByID(t *testing.T, s store.Store) {
	ctx := context.Background()
	specs := agentTrace("one", 1, 0, "", "")
	specs[1].attrs = span.Attributes{{Key: "llm.input_messages.0.message.content", Value: span.StringValue("hello")}}
	write(t, s, build(specs...))
	got, err := s.SpanByID(ctx, spanID(102))
	if err != nil {
		t.Fatal(err)
	}
	if got.SpanID != spanID(102) || got.TraceID != traceID(1) || got.ParentID != spanID(101) || got.View.Tokens.Prompt != 100 {
		t.Errorf("SpanByID = %+v", got)
	}
	if !strings.Contains(string(got.AttributesJSON), `"llm.input_messages.0.message.content":"hello"`) {
		t.Errorf("SpanByID attributes = %s, want the message", got.AttributesJSON)
	}
	if _, err := s.SpanByID(ctx, spanID(999)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SpanByID(unknown) error = %v, want ErrNotFound", err)
	}
}

func rowIDs(rows []store.SpanRow) []string {
	out := []string{}
	for _, r := range rows {
		out = append(out, r.SpanID)
	}
	return out
}

func testSpanList(t *testing.T, s store.Store) {
	ctx := context.Background()
	write(t, s, build(agentTrace("list", 1, 0, "s1", "u1")...))
	write(t, s, build(agentTrace("list", 2, 5000, "", "")...))
	pid := project(t, s, "list").ID
	tests := []struct {
		name string
		q    store.SpanListQuery
		want []string
	}{
		{"newest start first", store.SpanListQuery{Limit: 4}, []string{spanID(205), spanID(204), spanID(203), spanID(202)}},
		{"oldest first", store.SpanListQuery{Ascending: true, Limit: 3}, []string{spanID(101), spanID(102), spanID(103)}},
		{"roots", store.SpanListQuery{RootsOnly: true}, []string{spanID(201), spanID(101)}},
		{"kinds", store.SpanListQuery{Kinds: []string{"TOOL", "RETRIEVER"}}, []string{spanID(204), spanID(203), spanID(104), spanID(103)}},
		{"errors", store.SpanListQuery{ErrorOnly: true}, []string{spanID(205), spanID(105)}},
		{"time range", store.SpanListQuery{StartTime: base + 5000*ms, EndTime: base + 5011*ms}, []string{spanID(202), spanID(201)}},
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

	// Keyset pages: each page starts at the cursor, in both directions.
	for _, asc := range []bool{false, true} {
		var all []string
		cursor := int64(0)
		for pages := 0; ; pages++ {
			got, err := s.SpanList(ctx, store.SpanListQuery{ProjectID: pid, Ascending: asc, Cursor: cursor, Limit: 4})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) < 4 {
				all = append(all, rowIDs(got)...)
				break
			}
			all = append(all, rowIDs(got[:3])...)
			cursor = got[3].RowID
			if pages > 10 {
				t.Fatal("pagination does not end")
			}
		}
		if len(all) != 10 {
			t.Errorf("ascending=%v: paged through %d spans, want 10: %v", asc, len(all), all)
		}
	}

	root, err := s.SpanList(ctx, store.SpanListQuery{ProjectID: pid, RootsOnly: true, Ascending: true, Limit: 1})
	if err != nil || len(root) != 1 {
		t.Fatalf("first root = %v, %v", root, err)
	}
	want := store.SpanRow{
		RowID: root[0].RowID, TraceID: traceID(1), SpanID: spanID(101), Name: "agent.run", Kind: "AGENT", Status: "OK",
		StartTime: base, EndTime: base + 1000*ms, UserID: "u1", SessionID: "s1", InputPreview: "question 1", OutputPreview: "answer 1",
	}
	if diff := cmp.Diff(want, root[0]); diff != "" {
		t.Errorf("span row (-want +got):\n%s", diff)
	}
}

func testSpanListPreview(t *testing.T, s store.Store) {
	long := strings.Repeat("é", store.SpanPreviewLength+50)
	write(t, s, build(spanSpec{project: "big", trace: 1, id: 1, name: "big", durMs: 1, input: long, output: "short"}))
	got, err := s.SpanList(context.Background(), store.SpanListQuery{ProjectID: project(t, s, "big").ID})
	if err != nil || len(got) != 1 {
		t.Fatalf("SpanList = %v, %v", got, err)
	}
	if got[0].InputPreview != strings.Repeat("é", store.SpanPreviewLength) || got[0].OutputPreview != "short" {
		t.Errorf("previews = %q / %q, want the first %d characters", got[0].InputPreview, got[0].OutputPreview, store.SpanPreviewLength)
	}
}

func testSessionTraces(t *testing.T, s store.Store) {
	ctx := context.Background()
	t1 := agentTrace("chat", 1, 0, "conv", "alice")
	t2 := agentTrace("chat", 2, 2000, "conv", "alice")
	t2[0].durMs = 3000
	t3 := agentTrace("chat", 3, 9000, "other", "bob")
	write(t, s, build(t2...))
	write(t, s, build(t1...))
	write(t, s, build(t3...))
	conv, err := s.Session(ctx, "conv")
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.SessionTraces(ctx, conv.RowID, 0)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, tr := range got {
		ids = append(ids, tr.TraceID)
	}
	if diff := cmp.Diff([]string{traceID(1), traceID(2)}, ids); diff != "" {
		t.Errorf("SessionTraces, oldest first (-want +got):\n%s", diff)
	}
	if got[0].InputPreview != "question 1" || got[1].OutputPreview != "answer 2" {
		t.Errorf("session turns = %+v, want root input and output previews", got)
	}
	other, err := s.Session(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	lat, err := s.SessionLatencies(ctx, []int64{conv.RowID, other.RowID})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]store.LatencySummary{
		conv.RowID:  {P50: 2000 * ms, P99: 2980 * ms, Sample: 2},
		other.RowID: {P50: 1000 * ms, P99: 1000 * ms, Sample: 1},
	}
	if diff := cmp.Diff(want, lat); diff != "" {
		t.Errorf("SessionLatencies (-want +got):\n%s", diff)
	}
}
