package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

const day = 24 * 3600 * 1000 // in fixture milliseconds

func testRetentionPolicies(t *testing.T, s store.Store) {
	ctx := context.Background()
	write(t, s, build(agentTrace("kept", 1, 0, "", "")...))
	pid := project(t, s, "kept").ID
	get := func(id int64) store.RetentionPolicy {
		t.Helper()
		p, err := s.RetentionPolicy(ctx, id)
		if err != nil {
			t.Fatalf("RetentionPolicy(%d): %v", id, err)
		}
		return p
	}
	if got := get(pid); got != (store.RetentionPolicy{Inherited: true}) || !got.Keeps() {
		t.Errorf("policy with nothing stored = %+v, want the default that keeps everything", got)
	}
	set := func(id int64, p store.RetentionPolicy) {
		t.Helper()
		if err := s.SetRetentionPolicy(ctx, id, p); err != nil {
			t.Fatalf("SetRetentionPolicy(%d, %+v): %v", id, p, err)
		}
	}
	set(store.DefaultPolicy, store.RetentionPolicy{MaxDays: 30})
	if got, want := get(pid), (store.RetentionPolicy{MaxDays: 30, Inherited: true}); got != want {
		t.Errorf("policy under a default = %+v, want %+v", got, want)
	}
	set(pid, store.RetentionPolicy{MaxDays: 7.5, MaxTraces: 100})
	if got, want := get(pid), (store.RetentionPolicy{MaxDays: 7.5, MaxTraces: 100}); got != want {
		t.Errorf("own policy = %+v, want %+v", got, want)
	}
	if got, want := get(store.DefaultPolicy), (store.RetentionPolicy{MaxDays: 30}); got != want {
		t.Errorf("default policy = %+v, want %+v", got, want)
	}
	all, err := s.RetentionPolicies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]store.RetentionPolicy{store.DefaultPolicy: {MaxDays: 30}, pid: {MaxDays: 7.5, MaxTraces: 100}}
	if diff := cmp.Diff(want, all); diff != "" {
		t.Errorf("RetentionPolicies (-want +got):\n%s", diff)
	}
	// A project may keep everything although the default does not.
	set(pid, store.RetentionPolicy{})
	if got := get(pid); got != (store.RetentionPolicy{}) {
		t.Errorf("own keep-everything policy = %+v", got)
	}
	if err := s.DeleteRetentionPolicy(ctx, pid); err != nil {
		t.Fatal(err)
	}
	if got, want := get(pid), (store.RetentionPolicy{MaxDays: 30, Inherited: true}); got != want {
		t.Errorf("policy after delete = %+v, want the default %+v", got, want)
	}
	if err := s.SetRetentionPolicy(ctx, pid, store.RetentionPolicy{MaxDays: -1}); !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("negative bound: %v, want ErrInvalidArgument", err)
	}
	if err := s.SetRetentionPolicy(ctx, 1<<40, store.RetentionPolicy{MaxDays: 1}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("policy of an unknown project: %v, want ErrNotFound", err)
	}
	// A deleted project takes its policy with it.
	set(pid, store.RetentionPolicy{MaxTraces: 5})
	if err := s.DeleteProject(ctx, pid); err != nil {
		t.Fatal(err)
	}
	if all, _ := s.RetentionPolicies(ctx); len(all) != 1 {
		t.Errorf("policies after the project was deleted = %+v, want the default only", all)
	}
}

// deleteAll runs d until a batch deletes nothing and returns the batches.
func deleteAll(t *testing.T, s store.Store, d store.TraceDeletion) []store.Deleted {
	t.Helper()
	var out []store.Deleted
	for range 100 {
		del, err := s.DeleteTraces(context.Background(), d)
		if err != nil {
			t.Fatalf("DeleteTraces(%+v): %v", d, err)
		}
		if del.Traces > int64(d.Limit) {
			t.Fatalf("DeleteTraces(%+v) deleted %d traces, more than the limit", d, del.Traces)
		}
		if del.Traces == 0 {
			return out
		}
		out = append(out, del)
	}
	t.Fatal("DeleteTraces never ran out of traces")
	return nil
}

func traceIDsOf(t *testing.T, s store.Store, pid int64) []string {
	t.Helper()
	ts, err := s.Traces(context.Background(), store.TraceQuery{ProjectID: pid, Ascending: true})
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, tr := range ts {
		out = append(out, tr.TraceID)
	}
	return out
}

func testRetentionByAge(t *testing.T, s store.Store) {
	ctx := context.Background()
	// Two old traces (one alone in its session), then a conversation of
	// two turns, five days and one day old.
	write(t, s, build(agentTrace("r", 1, -10*day, "", "")...))
	write(t, s, build(agentTrace("r", 4, -9*day, "old", "")...))
	write(t, s, build(agentTrace("r", 2, -5*day, "conv", "u")...))
	write(t, s, build(agentTrace("r", 3, -1*day, "conv", "u")...))
	write(t, s, build(agentTrace("other", 5, -20*day, "", "")...))
	pid := project(t, s, "r").ID
	anns := []store.Annotation{
		{Kind: store.TraceAnnotation, TraceID: traceID(1), Name: "resolved", Score: ptr(1.0), AnnotatorKind: "HUMAN"},
		{Kind: store.SessionAnnotation, SessionID: "old", Name: "csat", Score: ptr(2.0), AnnotatorKind: "HUMAN"},
		{Kind: store.SpanAnnotation, SpanID: spanID(402), Name: "correct", Label: ptr("yes"), AnnotatorKind: "LLM"},
		{Kind: store.SpanAnnotation, SpanID: spanID(302), Name: "correct", Label: ptr("no"), AnnotatorKind: "LLM"},
	}
	if _, err := s.UpsertAnnotations(ctx, anns); err != nil {
		t.Fatal(err)
	}

	batches := deleteAll(t, s, store.TraceDeletion{ProjectID: pid, StartedBefore: base - 7*day*ms, Limit: 1})
	want := []store.Deleted{{Traces: 1, Spans: 5}, {Traces: 1, Spans: 5, Sessions: 1}}
	if diff := cmp.Diff(want, batches); diff != "" {
		t.Errorf("deleting traces older than 7 days, one a batch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{traceID(2), traceID(3)}, traceIDsOf(t, s, pid)); diff != "" {
		t.Errorf("traces kept (-want +got):\n%s", diff)
	}
	if spans, _ := s.Spans(ctx, store.SpanQuery{ProjectID: pid}); len(spans) != 10 {
		t.Errorf("spans kept = %d, want 10", len(spans))
	}
	if _, err := s.Session(ctx, "old"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("session of deleted traces only: %v, want it deleted", err)
	}
	for _, kind := range []store.AnnotationKind{store.TraceAnnotation, store.SessionAnnotation} {
		if got, _ := s.Annotations(ctx, store.AnnotationQuery{Kind: kind, ProjectID: pid}); len(got) != 0 {
			t.Errorf("%s annotations of deleted data remain: %+v", kind, got)
		}
	}
	if got, _ := s.Annotations(ctx, store.AnnotationQuery{Kind: store.SpanAnnotation, ProjectID: pid}); len(got) != 1 || got[0].SpanID != spanID(302) {
		t.Errorf("span annotations = %+v, want only the kept span's", got)
	}

	// Deleting one turn of a conversation recomputes it from the other.
	batches = deleteAll(t, s, store.TraceDeletion{ProjectID: pid, StartedBefore: base - 2*day*ms, Limit: 10})
	if diff := cmp.Diff([]store.Deleted{{Traces: 1, Spans: 5}}, batches); diff != "" {
		t.Errorf("deleting traces older than 2 days (-want +got):\n%s", diff)
	}
	got, err := s.Session(ctx, "conv")
	if err != nil {
		t.Fatal(err)
	}
	wantSess := store.Session{
		RowID: got.RowID, ProjectID: pid, SessionID: "conv", StartTime: base - day*ms, EndTime: base - day*ms + 1000*ms,
		TraceCount: 1, Tokens: span.TokenCounts{Prompt: 400, Completion: 70, Total: 470}, UserID: "u",
		FirstInput: "question 3", LastOutput: "answer 3",
	}
	if diff := cmp.Diff(wantSess, got); diff != "" {
		t.Errorf("session after losing a turn (-want +got):\n%s", diff)
	}
	if ids := traceIDsOf(t, s, project(t, s, "other").ID); len(ids) != 1 {
		t.Errorf("another project's traces = %v, want them untouched", ids)
	}
}

func testRetentionByCount(t *testing.T, s store.Store) {
	// Traces 1–5 start a second apart, except 3 and 4, which start together.
	for n, at := range []int64{1000, 2000, 3000, 3000, 5000} {
		write(t, s, build(agentTrace("c", n+1, at, "", "")[0]))
	}
	pid := project(t, s, "c").ID
	var order []string
	for _, tr := range mustTraces(t, s, pid) {
		order = append(order, tr.TraceID)
	}
	batches := deleteAll(t, s, store.TraceDeletion{ProjectID: pid, KeepNewest: 2, Limit: 2})
	if diff := cmp.Diff([]store.Deleted{{Traces: 2, Spans: 2}, {Traces: 1, Spans: 1}}, batches); diff != "" {
		t.Errorf("keeping the newest 2 (-want +got):\n%s", diff)
	}
	// The trace list's own order (start time, then row id) decides ties.
	if diff := cmp.Diff([]string{order[1], order[0]}, traceIDsOf(t, s, pid)); diff != "" {
		t.Errorf("kept (-want +got):\n%s", diff)
	}
	// Age and count together: whichever deletes more.
	batches = deleteAll(t, s, store.TraceDeletion{ProjectID: pid, KeepNewest: 5, StartedBefore: base + 4000*ms, Limit: 5})
	if diff := cmp.Diff([]store.Deleted{{Traces: 1, Spans: 1}}, batches); diff != "" {
		t.Errorf("keeping the newest 5 younger than 4 s (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{traceID(5)}, traceIDsOf(t, s, pid)); diff != "" {
		t.Errorf("kept (-want +got):\n%s", diff)
	}
	if _, err := s.DeleteTraces(context.Background(), store.TraceDeletion{ProjectID: pid, KeepNewest: 1}); !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("deletion without a limit: %v, want ErrInvalidArgument", err)
	}
}

func mustTraces(t *testing.T, s store.Store, pid int64) []store.Trace {
	t.Helper()
	ts, err := s.Traces(context.Background(), store.TraceQuery{ProjectID: pid})
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func testStorageReport(t *testing.T, s store.Store) {
	ctx := context.Background()
	write(t, s, build(agentTrace("a", 1, 0, "", "")...))
	write(t, s, build(agentTrace("a", 2, -day, "", "")...))
	write(t, s, build(agentTrace("b", 3, -5*day, "", "")...))
	now := base + 3600*1000*ms // base is 10:00 UTC
	r, err := s.StorageReport(ctx, store.StorageQuery{Now: now, Days: 3})
	if err != nil {
		t.Fatal(err)
	}
	if r.DatabaseBytes <= 0 || r.Traces != 3 || r.Spans != 15 {
		t.Errorf("report totals = %d bytes, %d traces, %d spans; want some bytes, 3 traces, 15 spans", r.DatabaseBytes, r.Traces, r.Spans)
	}
	today := base - base%store.Day
	days := func(counts ...int64) []store.DayCount {
		out := make([]store.DayCount, len(counts))
		for i, c := range counts {
			out[i] = store.DayCount{Day: today - int64(len(counts)-1-i)*store.Day, Spans: c}
		}
		return out
	}
	byName := map[string]store.ProjectStorage{}
	for _, p := range r.Projects {
		byName[p.Name] = p
	}
	a, b := byName["a"], byName["b"]
	if a.Traces != 2 || a.Spans != 10 || b.Traces != 1 || b.Spans != 5 {
		t.Errorf("project counts: a = %+v, b = %+v", a, b)
	}
	if diff := cmp.Diff(days(0, 5, 5), a.Daily); diff != "" {
		t.Errorf("daily spans of a (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(days(0, 0, 0), b.Daily); diff != "" {
		t.Errorf("daily spans of b (-want +got):\n%s", diff)
	}
	if a.EstimatedBytes != 2*b.EstimatedBytes && a.EstimatedBytes != 2*b.EstimatedBytes+1 || a.EstimatedBytes > r.DatabaseBytes {
		t.Errorf("estimated bytes: a %d, b %d of %d; want a twice b", a.EstimatedBytes, b.EstimatedBytes, r.DatabaseBytes)
	}
	if d, ok := byName[span.DefaultProject]; !ok || d.Spans != 0 || d.EstimatedBytes != 0 {
		t.Errorf("empty default project = %+v, %v; want it listed with nothing", d, ok)
	}
}

// testDeleteTraceRange deletes the traces that started in a time range,
// as DELETE /v1/projects/{id}/traces does: the start inclusive, the end
// not, with their spans; a session left without traces goes too, one that
// keeps a trace is recomputed from it.
func testDeleteTraceRange(t *testing.T, s store.Store) {
	ctx := context.Background()
	for n, session := range []string{"a", "a", "b", "", "c"} {
		write(t, s, build(agentTrace("rg", n+1, int64(n+1)*1000, session, "")...))
	}
	write(t, s, build(agentTrace("rg-other", 9, 2000, "", "")...))
	pid := project(t, s, "rg").ID
	batches := deleteAll(t, s, store.TraceDeletion{ProjectID: pid,
		StartedFrom: base + 2000*ms, StartedBefore: base + 5000*ms, Limit: 2})
	want := []store.Deleted{{Traces: 2, Spans: 10, Sessions: 1}, {Traces: 1, Spans: 5}}
	if diff := cmp.Diff(want, batches); diff != "" {
		t.Errorf("deleting traces that started in [2 s, 5 s) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{traceID(1), traceID(5)}, traceIDsOf(t, s, pid)); diff != "" {
		t.Errorf("traces kept (-want +got):\n%s", diff)
	}
	if spans, _ := s.Spans(ctx, store.SpanQuery{ProjectID: pid}); len(spans) != 10 {
		t.Errorf("spans kept = %d, want 10", len(spans))
	}
	if sess, err := s.Session(ctx, "a"); err != nil || sess.TraceCount != 1 || sess.LastOutput != "answer 1" {
		t.Errorf("session a after losing a trace = %+v, %v", sess, err)
	}
	if _, err := s.Session(ctx, "b"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("session b, left without traces: %v, want it deleted", err)
	}
	if ids := traceIDsOf(t, s, project(t, s, "rg-other").ID); len(ids) != 1 {
		t.Errorf("another project's traces = %v, want them untouched", ids)
	}
}
