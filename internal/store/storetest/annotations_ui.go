package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/loupe-dev/loupe/internal/store"
)

// testAnnotationSummaries checks the header summaries: per name, within the
// time range and the project, each entity weighing the same.
func testAnnotationSummaries(t *testing.T, s store.Store) {
	ctx := context.Background()
	const minute = 60_000
	var specs []spanSpec
	specs = append(specs, agentTrace("a", 1, 0, "s1", "u1")...)
	specs = append(specs, agentTrace("a", 2, minute, "s1", "u1")...)
	specs = append(specs, agentTrace("a", 3, 60*minute, "s2", "u1")...)
	specs = append(specs, agentTrace("b", 4, 0, "s4", "u1")...)
	write(t, s, build(specs...))
	pid := project(t, s, "a").ID

	spanAnn := func(id int, name, label string, score *float64, identifier string) store.Annotation {
		a := store.Annotation{Kind: store.SpanAnnotation, SpanID: spanID(id), Name: name, Score: score, AnnotatorKind: "HUMAN", Identifier: identifier}
		if label != "" {
			a.Label = ptr(label)
		}
		return a
	}
	anns := []store.Annotation{
		// Two annotators disagree on span 102: it counts half each way.
		spanAnn(102, "correctness", "incorrect", ptr(0.0), ""),
		spanAnn(102, "correctness", "correct", ptr(1.0), "bob"),
		spanAnn(202, "correctness", "correct", ptr(1.0), ""),
		spanAnn(302, "correctness", "incorrect", ptr(0.0), ""), // an hour later: out of the range
		spanAnn(402, "correctness", "incorrect", ptr(0.0), ""), // another project
		spanAnn(105, "thumbs", "up", nil, ""),
		spanAnn(205, "thumbs", "down", nil, ""),
		spanAnn(203, "helpfulness", "", ptr(0.8), ""),
		{Kind: store.SpanAnnotation, SpanID: spanID(201), Name: "note", Explanation: ptr("looks fine"), AnnotatorKind: "HUMAN"},
		{Kind: store.TraceAnnotation, TraceID: traceID(1), Name: "resolved", Score: ptr(1.0), AnnotatorKind: "HUMAN"},
		{Kind: store.TraceAnnotation, TraceID: traceID(3), Name: "resolved", Score: ptr(0.0), AnnotatorKind: "HUMAN"},
		{Kind: store.SessionAnnotation, SessionID: "s1", Name: "csat", Label: ptr("happy"), AnnotatorKind: "HUMAN"},
	}
	if _, err := s.UpsertAnnotations(ctx, anns); err != nil {
		t.Fatalf("UpsertAnnotations: %v", err)
	}

	approx := cmpopts.EquateApprox(0, 1e-9)
	check := func(what string, kind store.AnnotationKind, start, end int64, want []store.AnnotationSummary) {
		t.Helper()
		got, err := s.AnnotationSummaries(ctx, pid, kind, start, end)
		if err != nil {
			t.Fatalf("%s: AnnotationSummaries: %v", what, err)
		}
		if diff := cmp.Diff(want, got, approx, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: summaries (-want +got):\n%s", what, diff)
		}
	}

	check("spans in the first ten minutes", store.SpanAnnotation, base, base+10*minute*ms, []store.AnnotationSummary{
		{Name: "correctness", Count: 3, Entities: 2, ScoreCount: 2, MeanScore: 0.75, Labels: []store.AnnotationLabel{
			{Label: "correct", Count: 2, Fraction: 0.75}, {Label: "incorrect", Count: 1, Fraction: 0.25}}},
		{Name: "helpfulness", Count: 1, Entities: 1, ScoreCount: 1, MeanScore: 0.8},
		{Name: "thumbs", Count: 2, Entities: 2, Labels: []store.AnnotationLabel{
			{Label: "down", Count: 1, Fraction: 0.5}, {Label: "up", Count: 1, Fraction: 0.5}}},
	})
	check("spans, open range", store.SpanAnnotation, base, 0, []store.AnnotationSummary{
		{Name: "correctness", Count: 4, Entities: 3, ScoreCount: 3, MeanScore: 0.5, Labels: []store.AnnotationLabel{
			{Label: "correct", Count: 2, Fraction: 0.5}, {Label: "incorrect", Count: 2, Fraction: 0.5}}},
		{Name: "helpfulness", Count: 1, Entities: 1, ScoreCount: 1, MeanScore: 0.8},
		{Name: "thumbs", Count: 2, Entities: 2, Labels: []store.AnnotationLabel{
			{Label: "down", Count: 1, Fraction: 0.5}, {Label: "up", Count: 1, Fraction: 0.5}}},
	})
	check("spans, a range with none", store.SpanAnnotation, base+24*60*minute*ms, 0, nil)
	check("traces", store.TraceAnnotation, base, base+10*minute*ms, []store.AnnotationSummary{
		{Name: "resolved", Count: 1, Entities: 1, ScoreCount: 1, MeanScore: 1},
	})
	check("traces, open range", store.TraceAnnotation, 0, 0, []store.AnnotationSummary{
		{Name: "resolved", Count: 2, Entities: 2, ScoreCount: 2, MeanScore: 0.5},
	})
	// Session s1 runs from base to base+61 s: a range starting inside it
	// overlaps it, one starting after it does not.
	check("sessions overlapping", store.SessionAnnotation, base+30_000*ms, 0, []store.AnnotationSummary{
		{Name: "csat", Count: 1, Entities: 1, Labels: []store.AnnotationLabel{{Label: "happy", Count: 1, Fraction: 1}}},
	})
	check("sessions after", store.SessionAnnotation, base+30*minute*ms, 0, nil)

	if _, err := s.AnnotationSummaries(ctx, pid, store.DocumentAnnotation, 0, 0); !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("document summaries: err = %v, want ErrInvalidArgument", err)
	}
}

// testSummariesFollowEntities checks that the annotation summaries count
// an annotation by its span's or trace's project and start time as they
// are now, which backends may keep with the annotation: a trace's start
// moves earlier when its root arrives after the annotation and back when
// the root is deleted, and a transfer moves annotations to another project.
func testSummariesFollowEntities(t *testing.T, s store.Store) {
	ctx := context.Background()
	// The root starts at 59.995 s, its children from 60.005 s.
	specs := agentTrace("follow", 1, 59_995, "s1", "u1")
	spans := build(specs...)
	write(t, s, spans[1:])
	pid := project(t, s, "follow").ID
	_, err := s.UpsertAnnotations(ctx, []store.Annotation{
		{Kind: store.TraceAnnotation, TraceID: traceID(1), Name: "resolved", Score: ptr(1.0), AnnotatorKind: "HUMAN"},
		{Kind: store.SpanAnnotation, SpanID: spanID(102), Name: "correctness", Label: ptr("correct"), AnnotatorKind: "HUMAN"},
	})
	if err != nil {
		t.Fatal(err)
	}
	count := func(projectID int64, kind store.AnnotationKind, start, end int64) int64 {
		t.Helper()
		sums, err := s.AnnotationSummaries(ctx, projectID, kind, start, end)
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, sum := range sums {
			n += sum.Count
		}
		return n
	}
	firstMinute := func(projectID int64, kind store.AnnotationKind) int64 {
		return count(projectID, kind, base, base+60_000*ms)
	}
	laterOn := func(projectID int64, kind store.AnnotationKind) int64 {
		return count(projectID, kind, base+60_000*ms, 0)
	}
	if firstMinute(pid, store.TraceAnnotation) != 0 || laterOn(pid, store.TraceAnnotation) != 1 || laterOn(pid, store.SpanAnnotation) != 1 {
		t.Errorf("before the root: trace annotations %d in the first minute, %d after; span annotations %d after; want 0, 1, 1",
			firstMinute(pid, store.TraceAnnotation), laterOn(pid, store.TraceAnnotation), laterOn(pid, store.SpanAnnotation))
	}
	write(t, s, spans[:1])
	if firstMinute(pid, store.TraceAnnotation) != 1 || laterOn(pid, store.TraceAnnotation) != 0 ||
		firstMinute(pid, store.SpanAnnotation) != 0 || laterOn(pid, store.SpanAnnotation) != 1 {
		t.Errorf("after the root: trace annotations %d in the first minute, %d after; span annotations %d, %d; want 1, 0, 0, 1",
			firstMinute(pid, store.TraceAnnotation), laterOn(pid, store.TraceAnnotation),
			firstMinute(pid, store.SpanAnnotation), laterOn(pid, store.SpanAnnotation))
	}
	series, err := s.AnnotationScoreSeries(ctx, pid, base, 0, 60_000*ms)
	if err != nil || len(series) != 0 {
		t.Errorf("score series %+v, %v; want none (the span annotation has no score)", series, err)
	}
	root, err := s.SpanByID(ctx, spanID(101))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSpan(ctx, root.RowID); err != nil {
		t.Fatal(err)
	}
	if firstMinute(pid, store.TraceAnnotation) != 0 || laterOn(pid, store.TraceAnnotation) != 1 {
		t.Errorf("after deleting the root: trace annotations %d in the first minute, %d after; want 0, 1",
			firstMinute(pid, store.TraceAnnotation), laterOn(pid, store.TraceAnnotation))
	}
	other, err := s.CreateProject(ctx, "follow-other", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.TransferTraces(ctx, []string{traceID(1)}, other.ID); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []store.AnnotationKind{store.TraceAnnotation, store.SpanAnnotation} {
		if n, m := count(pid, kind, base, 0), count(other.ID, kind, base, 0); n != 0 || m != 1 {
			t.Errorf("after the transfer: %s annotations %d in the old project, %d in the new; want 0, 1", kind, n, m)
		}
	}
}
