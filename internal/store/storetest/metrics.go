package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// testTraceSeries buckets traces by 10 s: agent runs (each with an error
// span) at 0 s and 5 s, an OK ping and an unset one at 12 s, a trace whose
// root never arrived at 25 s, and one in another project.
func testTraceSeries(t *testing.T, s store.Store) {
	ctx := context.Background()
	for n, at := range map[int]int64{1: 0, 2: 5_000} {
		spans := build(agentTrace("series", n, at, "", "")...)
		spans[1].View.Cost = span.Cost{Status: span.CostPriced, Total: 0.5}
		spans[4].View.Cost = span.Cost{Status: span.CostNoPrice}
		write(t, s, spans)
	}
	write(t, s, build(
		spanSpec{project: "series", trace: 3, id: 301, name: "ping", startMs: 12_000, durMs: 200, status: span.StatusOK},
		spanSpec{project: "series", trace: 4, id: 401, name: "ping", startMs: 13_000, durMs: 400},
		spanSpec{project: "series", trace: 5, id: 502, par: 501, name: "orphan", startMs: 25_000, durMs: 100, status: span.StatusOK},
		spanSpec{project: "elsewhere", trace: 6, id: 601, name: "ping", startMs: 1_000, durMs: 100, status: span.StatusOK},
	))
	pid := project(t, s, "series").ID
	const b = 10_000 * ms

	got, err := s.TraceSeries(ctx, pid, base, 0, b)
	if err != nil {
		t.Fatal(err)
	}
	want := store.TraceSeries{Traces: 5, LatencySample: 5, Buckets: []store.TraceBucket{
		{Start: base, Traces: 2, Errors: 2,
			Tokens: span.TokenCounts{Prompt: 800, Completion: 140, Total: 940},
			Cost:   1.0, Unpriced: 2,
			Latency: store.SeriesLatency{P50: 1000 * ms, P90: 1000 * ms, P99: 1000 * ms, Sample: 2}},
		{Start: base + b, Traces: 2, OK: 1, Unset: 1,
			Latency: store.SeriesLatency{P50: 300 * ms, P90: 380 * ms, P99: 398 * ms, Sample: 2}},
		{Start: base + 2*b, Traces: 1, Unset: 1,
			Latency: store.SeriesLatency{P50: 100 * ms, P90: 100 * ms, P99: 100 * ms, Sample: 1}},
	}}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Errorf("TraceSeries (-want +got):\n%s", diff)
	}
	if got.Sampled() {
		t.Error("a series of 5 traces says its latencies are sampled")
	}

	// Bounds are [start, end) on trace start; buckets stay aligned to the epoch.
	got, err = s.TraceSeries(ctx, pid, base+5_000*ms, base+13_000*ms, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Buckets) != 2 || got.Traces != 2 || got.Buckets[0].Start != base || got.Buckets[1].Start != base+b {
		t.Errorf("TraceSeries over [5 s, 13 s) = %+v, want trace 2 in the first bucket and trace 3 in the second", got)
	}

	got, err = s.TraceSeries(ctx, pid, base+60_000*ms, 0, b)
	if err != nil || got.Traces != 0 || len(got.Buckets) != 0 {
		t.Errorf("TraceSeries of an empty range = %+v, %v; want nothing", got, err)
	}
	if _, err := s.TraceSeries(ctx, pid, base, 0, 0); !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("TraceSeries with a zero bucket: error %v, want ErrInvalidArgument", err)
	}
}

func testBucketLatencies(t *testing.T, _ store.Store) {
	series := store.TraceSeries{Traces: 10, Buckets: []store.TraceBucket{{Start: 0}, {Start: 100}, {Start: 200}}}
	store.BucketLatencies(&series, []store.LatencyAt{{Start: 150, Latency: 10}, {Start: 199, Latency: 30}, {Start: 100, Latency: 20}, {Start: 250, Latency: 5}}, 100)
	want := []store.SeriesLatency{{}, {P50: 20, P90: 28, P99: 29, Sample: 3}, {P50: 5, P90: 5, P99: 5, Sample: 1}}
	for i, w := range want {
		if got := series.Buckets[i].Latency; got != w {
			t.Errorf("bucket %d latency = %+v, want %+v", i, got, w)
		}
	}
	if series.LatencySample != 4 || !series.Sampled() {
		t.Errorf("sample = %d, sampled %v; want 4 of 10, sampled", series.LatencySample, series.Sampled())
	}
	if got := store.Bucket(-1, 10); got != -10 {
		t.Errorf("Bucket(-1, 10) = %d, want -10", got)
	}
}

// testAnnotationScoreSeries scores the LLM spans of two agent runs 10 s
// apart; one span has two annotators, whose scores are averaged before the
// bucket's mean.
func testAnnotationScoreSeries(t *testing.T, s store.Store) {
	ctx := context.Background()
	write(t, s, build(agentTrace("scores", 1, 0, "", "")...))
	write(t, s, build(agentTrace("scores", 2, 10_000, "", "")...))
	write(t, s, build(agentTrace("other", 3, 0, "", "")...))
	anns := []store.Annotation{
		{Kind: store.SpanAnnotation, SpanID: spanID(102), Name: "correctness", Score: ptr(1.0), AnnotatorKind: "LLM"},
		{Kind: store.SpanAnnotation, SpanID: spanID(105), Name: "correctness", Score: ptr(0.0), AnnotatorKind: "LLM"},
		{Kind: store.SpanAnnotation, SpanID: spanID(105), Name: "correctness", Score: ptr(1.0), AnnotatorKind: "HUMAN", Identifier: "ann"},
		{Kind: store.SpanAnnotation, SpanID: spanID(102), Name: "thumbs", Label: ptr("up"), AnnotatorKind: "HUMAN"},
		{Kind: store.SpanAnnotation, SpanID: spanID(202), Name: "correctness", Score: ptr(0.25), AnnotatorKind: "LLM"},
		{Kind: store.SpanAnnotation, SpanID: spanID(202), Name: "relevance", Score: ptr(0.8), AnnotatorKind: "LLM"},
		{Kind: store.SpanAnnotation, SpanID: spanID(302), Name: "correctness", Score: ptr(0.0), AnnotatorKind: "LLM"},
	}
	if _, err := s.UpsertAnnotations(ctx, anns); err != nil {
		t.Fatal(err)
	}
	pid := project(t, s, "scores").ID
	const b = 10_000 * ms
	got, err := s.AnnotationScoreSeries(ctx, pid, base, 0, b)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.ScorePoint{
		{Start: base, Name: "correctness", Mean: 0.75, Spans: 2},
		{Start: base + b, Name: "correctness", Mean: 0.25, Spans: 1},
		{Start: base + b, Name: "relevance", Mean: 0.8, Spans: 1},
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Errorf("AnnotationScoreSeries (-want +got):\n%s", diff)
	}
	got, err = s.AnnotationScoreSeries(ctx, pid, base, base+b, b)
	if err != nil || len(got) != 1 {
		t.Errorf("AnnotationScoreSeries over the first bucket = %+v, %v; want one point", got, err)
	}
	// Buckets of whole hours, over ranges that start or end within an hour.
	const hour = 3_600_000 * ms
	for _, tc := range []struct {
		name       string
		start, end int64
		want       []store.ScorePoint
	}{
		{"from before the hour", base - hour/2, 0, []store.ScorePoint{
			{Start: base, Name: "correctness", Mean: 1.75 / 3, Spans: 3}, {Start: base, Name: "relevance", Mean: 0.8, Spans: 1}}},
		{"from within the hour", base + 5_000*ms, 0, []store.ScorePoint{
			{Start: base, Name: "correctness", Mean: 0.25, Spans: 1}, {Start: base, Name: "relevance", Mean: 0.8, Spans: 1}}},
		{"to within the hour", base - hour, base + 5_000*ms, []store.ScorePoint{
			{Start: base, Name: "correctness", Mean: 0.75, Spans: 2}}},
		{"whole hours", base - hour, base + 2*hour, []store.ScorePoint{
			{Start: base, Name: "correctness", Mean: 1.75 / 3, Spans: 3}, {Start: base, Name: "relevance", Mean: 0.8, Spans: 1}}},
	} {
		got, err := s.AnnotationScoreSeries(ctx, pid, tc.start, tc.end, hour)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
			t.Errorf("AnnotationScoreSeries by the hour, %s (-want +got):\n%s", tc.name, diff)
		}
	}
	if _, err := s.AnnotationScoreSeries(ctx, pid, base, 0, -1); !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("AnnotationScoreSeries with a negative bucket: error %v, want ErrInvalidArgument", err)
	}
}

// testPromptVersionReport runs an agent whose first LLM call uses prompt
// version v9 in traces 1–2 and v10 in trace 3; its second LLM call has no
// version. Span and trace annotations judge them.
func testPromptVersionReport(t *testing.T, s store.Store) {
	ctx := context.Background()
	for n, version := range map[int]string{1: "v9", 2: "v9", 3: "v10"} {
		specs := agentTrace("prompts", n, int64(n)*10_000, "", "")
		specs[1].durMs = int64(n) * 100
		specs[1].attrs = span.Attributes{{Key: span.AttrTemplateVersion, Value: span.StringValue(version)},
			{Key: span.AttrTemplate, Value: span.StringValue(fmt.Sprintf("Answer {question} (trace %d)", n))},
			{Key: span.AttrModelName, Value: span.StringValue("gpt-x")}}
		if n == 2 {
			specs[1].status = span.StatusError
		}
		spans := build(specs...)
		spans[1].View.Cost = span.Cost{Status: span.CostPriced, Total: 0.1 * float64(n)}
		write(t, s, spans)
	}
	anns := []store.Annotation{
		{Kind: store.SpanAnnotation, SpanID: spanID(102), Name: "correctness", Label: ptr("correct"), Score: ptr(1.0), AnnotatorKind: "LLM"},
		{Kind: store.SpanAnnotation, SpanID: spanID(202), Name: "correctness", Label: ptr("incorrect"), Score: ptr(0.0), AnnotatorKind: "LLM"},
		{Kind: store.SpanAnnotation, SpanID: spanID(202), Name: "correctness", Label: ptr("correct"), Score: ptr(1.0), AnnotatorKind: "HUMAN", Identifier: "ann"},
		{Kind: store.SpanAnnotation, SpanID: spanID(302), Name: "correctness", Label: ptr("incorrect"), Score: ptr(0.0), AnnotatorKind: "LLM"},
		// On the unversioned call: not counted for any version.
		{Kind: store.SpanAnnotation, SpanID: spanID(105), Name: "correctness", Score: ptr(1.0), AnnotatorKind: "LLM"},
		{Kind: store.TraceAnnotation, TraceID: traceID(3), Name: "resolved", Label: ptr("no"), AnnotatorKind: "HUMAN"},
	}
	if _, err := s.UpsertAnnotations(ctx, anns); err != nil {
		t.Fatal(err)
	}
	pid := project(t, s, "prompts").ID
	got, err := s.PromptVersionReport(ctx, pid, base, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := store.PromptVersionReport{Sample: 6, Unversioned: 3, Versions: []store.PromptVersion{
		{Version: "v10", Template: "Answer {question} (trace 3)", Spans: 1, Traces: 1,
			Usage:   store.Usage{Key: "v10", LLMSpans: 1, PromptTokens: 100, CompletionTokens: 20, TotalTokens: 120, Cost: 0.3},
			Latency: store.SeriesLatency{P50: 300 * ms, P90: 300 * ms, P99: 300 * ms, Sample: 1},
			Annotations: []store.PromptAnnotation{
				{Name: "correctness", Count: 1, ScoreCount: 1, MeanScore: 0, Labels: []store.LabelShare{{Label: "incorrect", Fraction: 1}}},
				{Name: "resolved", Count: 1, Labels: []store.LabelShare{{Label: "no", Fraction: 1}}},
			}},
		// v9's newest span is trace 2's: its template is the one shown.
		{Version: "v9", Template: "Answer {question} (trace 2)", Spans: 2, Traces: 2, Errors: 1,
			Usage:   store.Usage{Key: "v9", LLMSpans: 2, PromptTokens: 200, CompletionTokens: 40, TotalTokens: 240, Cost: 0.3},
			Latency: store.SeriesLatency{P50: 150 * ms, P90: 190 * ms, P99: 199 * ms, Sample: 2},
			Annotations: []store.PromptAnnotation{
				// Span 202's two scores average to 0.5 first: the SD is of 1 and 0.5.
				{Name: "correctness", Count: 2, ScoreCount: 2, MeanScore: 0.75, ScoreSD: math.Sqrt(0.125),
					Labels: []store.LabelShare{{Label: "correct", Fraction: 0.75}, {Label: "incorrect", Fraction: 0.25}}},
			}},
	}}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Errorf("PromptVersionReport (-want +got):\n%s", diff)
	}

	got, err = s.PromptVersionReport(ctx, pid, base+25_000*ms, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Usage comes from hourly roll-ups: v9's stays, in the same hour.
	if got.Sample != 2 || len(got.Versions) != 2 || got.Versions[0].Spans != 1 || got.Versions[1].Spans != 0 ||
		got.Versions[1].Usage.LLMSpans != 2 {
		t.Errorf("PromptVersionReport from 25 s = %+v, want trace 3's spans sampled, and the usage of the hour", got)
	}
}

func testCompareVersions(t *testing.T, _ store.Store) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"v9", "v10", -1}, {"v10", "v9", 1}, {"1.2", "1.10", -1}, {"v2", "v2", 0},
		{"v02", "v2", 0}, {"a", "b", -1}, {"v1", "v1-beta", -1}, {"", "v1", -1},
	} {
		if got := store.CompareVersions(tc.a, tc.b); got != tc.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
