package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// testSumsFollowTraces checks that ProjectStats and TraceSeries, which
// backends may read from sums they keep as traces change, say what summing
// the traces themselves says, after every way a trace changes: its spans
// arriving over several batches (a root that starts earlier than its
// children moves the trace to another minute), errors, repricing,
// deleting a span, a trace or a session, moving traces to another
// project, retention, and ranges that start or end inside a minute.
func testSumsFollowTraces(t *testing.T, s store.Store) {
	ctx := context.Background()
	minute := int64(time.Minute / time.Millisecond)
	var specs []spanSpec
	// Traces 1-12, one every 25 s from base+30 s: several a minute, and
	// minutes without any.
	for i := 1; i <= 12; i++ {
		start := 30_000 + int64(i-1)*25_000
		if i == 4 {
			start = 119_995 // its children start in the next minute
		}
		session := fmt.Sprintf("sess-%d", (i+1)/2)
		for _, sp := range agentTrace("sums", i, start, session, "u") {
			if i%4 == 0 {
				sp.status = span.StatusOK // no error
			}
			if sp.kind == span.KindLLM {
				sp.attrs = span.Attributes{{Key: span.AttrModelName, Value: span.StringValue("gpt-x")}}
			}
			specs = append(specs, sp)
		}
	}
	price := ratePricer(map[string]float64{"gpt-x": 0.001})
	spans := build(specs...)
	for i := range spans {
		price(&spans[i])
	}
	pid := func() int64 { return project(t, s, "sums").ID }
	check := func(when string) {
		t.Helper()
		for _, r := range [][2]int64{
			{base, 0}, {base, base + 10*minute*ms}, {base + 45_000*ms, base + 170_000*ms},
			{base + 61_000*ms, base + 119_000*ms}, {base + 60_000*ms, base + 180_000*ms}, {base - minute*ms, base + 30_000*ms},
		} {
			checkSums(t, s, pid(), r[0], r[1], when)
		}
	}
	// Children first, the roots last, in three batches: the roots start
	// before their children (agentTrace starts them 10 ms earlier), and
	// trace 4's root moves it from one minute to the one before.
	var roots, rest []span.Span
	for _, sp := range spans {
		if sp.ParentID == "" {
			roots = append(roots, sp)
		} else {
			rest = append(rest, sp)
		}
	}
	write(t, s, rest[:len(rest)/2])
	check("after half the children")
	write(t, s, rest[len(rest)/2:])
	write(t, s, roots)
	check("after every span")

	if _, err := s.RecomputeCosts(ctx, []string{"gpt-x"}, ratePricer(map[string]float64{"gpt-x": 0.003}), nil); err != nil {
		t.Fatal(err)
	}
	check("after repricing")
	sp, err := s.SpanByID(ctx, spanID(502))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSpan(ctx, sp.RowID); err != nil {
		t.Fatal(err)
	}
	check("after deleting a span")
	if err := s.DeleteTrace(ctx, traceID(6)); err != nil {
		t.Fatal(err)
	}
	check("after deleting a trace")
	if err := s.DeleteSession(ctx, "sess-4"); err != nil {
		t.Fatal(err)
	}
	check("after deleting a session")
	other, err := s.CreateProject(ctx, "sums-other", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.TransferTraces(ctx, []string{traceID(9), traceID(10)}, other.ID); err != nil {
		t.Fatal(err)
	}
	check("after moving traces away")
	checkSums(t, s, other.ID, base, 0, "in the project they moved to")
	if _, err := s.DeleteTraces(ctx, store.TraceDeletion{ProjectID: pid(), StartedBefore: base + 100_000*ms, Limit: 100}); err != nil {
		t.Fatal(err)
	}
	check("after retention")
}

// checkSums compares ProjectStats and TraceSeries (by the minute and by
// the hour) over [start, end) with the sums of the traces Traces lists.
func checkSums(t *testing.T, s store.Store, projectID, start, end int64, when string) {
	t.Helper()
	ctx := context.Background()
	var want store.ProjectStats
	buckets := map[int64]*store.TraceBucket{}
	for cursor := int64(0); ; {
		page, err := s.Traces(ctx, store.TraceQuery{ProjectID: projectID, StartTime: start, EndTime: end, Cursor: cursor, Limit: 101})
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range page[:min(len(page), 100)] {
			want.Traces++
			want.Spans += tr.SpanCount
			if tr.ErrorCount > 0 {
				want.ErrorTraces++
			}
			want.Tokens.Prompt += tr.Tokens.Prompt
			want.Tokens.Completion += tr.Tokens.Completion
			want.Tokens.Total += tr.Tokens.Total
			want.Cost += tr.Cost.Total
			b := buckets[store.Bucket(tr.StartTime, int64(time.Minute))]
			if b == nil {
				b = &store.TraceBucket{Start: store.Bucket(tr.StartTime, int64(time.Minute))}
				buckets[b.Start] = b
			}
			b.Traces++
			switch {
			case tr.ErrorCount > 0:
				b.Errors++
			case tr.RootStatus == "OK":
				b.OK++
			}
			b.Tokens.Prompt += tr.Tokens.Prompt
			b.Tokens.Total += tr.Tokens.Total
			b.Cost += tr.Cost.Total
			b.Unpriced += tr.Cost.Unpriced
		}
		if len(page) <= 100 {
			break
		}
		cursor = page[100].RowID
	}
	got, err := s.ProjectStats(ctx, projectID, start, end)
	if err != nil {
		t.Fatal(err)
	}
	if got.Traces != want.Traces || got.ErrorTraces != want.ErrorTraces || got.Spans != want.Spans ||
		got.Tokens != want.Tokens || !near(got.Cost, want.Cost) {
		t.Errorf("%s: ProjectStats(%d s, %d s) = %+v, want the traces' sums %+v", when, (start-base)/1e9, (end-base)/1e9, got, want)
	}
	if many, ok := s.(store.ManyProjectStats); ok {
		all, err := many.ProjectsStats(ctx, []int64{projectID, projectID + 1}, start, end)
		if err != nil {
			t.Fatal(err)
		}
		m := all[projectID]
		cost := m.Cost
		m.Cost = got.Cost
		if m != got || !near(cost, got.Cost) {
			m.Cost = cost
			t.Errorf("%s: ProjectsStats(%d s, %d s) = %+v, want ProjectStats' %+v", when, (start-base)/1e9, (end-base)/1e9, m, got)
		}
	}
	series, err := s.TraceSeries(ctx, projectID, start, end, int64(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(series.Buckets) != len(buckets) || series.Traces != want.Traces {
		t.Errorf("%s: TraceSeries(%d s, %d s) has %d buckets of %d traces, want %d of %d", when, (start-base)/1e9, (end-base)/1e9,
			len(series.Buckets), series.Traces, len(buckets), want.Traces)
		return
	}
	for _, g := range series.Buckets {
		w := buckets[g.Start]
		if w == nil || g.Traces != w.Traces || g.Errors != w.Errors || g.OK != w.OK || g.Tokens.Prompt != w.Tokens.Prompt ||
			g.Tokens.Total != w.Tokens.Total || !near(g.Cost, w.Cost) || g.Unpriced != w.Unpriced {
			t.Errorf("%s: bucket at %d s = %+v, want %+v", when, (g.Start-base)/1e9, g, w)
		}
	}
	hourly, err := s.TraceSeries(ctx, projectID, start, end, int64(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if hourly.Traces != want.Traces {
		t.Errorf("%s: hourly TraceSeries(%d s, %d s) counts %d traces, want %d", when, (start-base)/1e9, (end-base)/1e9, hourly.Traces, want.Traces)
	}
}
