package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

func ptr[T any](v T) *T { return &v }

func testAnnotations(t *testing.T, s store.Store) {
	ctx := context.Background()
	write(t, s, build(agentTrace("a", 1, 0, "s1", "u1")...))
	pid := project(t, s, "a").ID

	anns := []store.Annotation{
		{Kind: store.SpanAnnotation, SpanID: spanID(102), Name: "correctness", Label: ptr("incorrect"), Score: ptr(0.0), AnnotatorKind: "LLM"},
		{Kind: store.SpanAnnotation, SpanID: spanID(102), Name: "thumbs", Label: ptr("up"), AnnotatorKind: "HUMAN", Identifier: "alice",
			Metadata: json.RawMessage(`{"ui":true}`)},
		{Kind: store.TraceAnnotation, TraceID: traceID(1), Name: "resolved", Score: ptr(1.0), AnnotatorKind: "HUMAN"},
		{Kind: store.SessionAnnotation, SessionID: "s1", Name: "csat", Score: ptr(4.0), AnnotatorKind: "HUMAN"},
		{Kind: store.DocumentAnnotation, SpanID: spanID(104), DocumentPosition: 2, Name: "relevance", Score: ptr(0.3), AnnotatorKind: "LLM"},
	}
	ids, err := s.UpsertAnnotations(ctx, anns)
	if err != nil {
		t.Fatalf("UpsertAnnotations: %v", err)
	}
	if len(ids) != len(anns) {
		t.Fatalf("got %d ids for %d annotations", len(ids), len(anns))
	}

	// Upsert on (name, entity, identifier): same key updates, new identifier adds.
	again, err := s.UpsertAnnotations(ctx, []store.Annotation{
		{Kind: store.SpanAnnotation, SpanID: spanID(102), Name: "correctness", Label: ptr("correct"), Score: ptr(1.0), AnnotatorKind: "LLM"},
		{Kind: store.SpanAnnotation, SpanID: spanID(102), Name: "thumbs", Label: ptr("down"), AnnotatorKind: "HUMAN", Identifier: "bob"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if again[0] != ids[0] || again[1] == ids[1] {
		t.Errorf("upsert ids = %v, first call %v: the same key must update, a new identifier must add", again, ids)
	}

	list := func(q store.AnnotationQuery) []string {
		t.Helper()
		q.ProjectID = pid
		got, err := s.Annotations(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, a := range got {
			label := ""
			if a.Label != nil {
				label = *a.Label
			}
			out = append(out, a.EntityID()+"/"+a.Name+"/"+a.Identifier+"/"+label)
		}
		return out
	}
	tests := []struct {
		name string
		q    store.AnnotationQuery
		want []string
	}{
		{"span, newest first", store.AnnotationQuery{Kind: store.SpanAnnotation},
			[]string{spanID(102) + "/thumbs/bob/down", spanID(102) + "/thumbs/alice/up", spanID(102) + "/correctness//correct"}},
		{"by identifier", store.AnnotationQuery{Kind: store.SpanAnnotation, Identifiers: []string{"alice"}}, []string{spanID(102) + "/thumbs/alice/up"}},
		{"exclude names", store.AnnotationQuery{Kind: store.SpanAnnotation, ExcludeNames: []string{"thumbs"}}, []string{spanID(102) + "/correctness//correct"}},
		{"include names and span ids", store.AnnotationQuery{Kind: store.SpanAnnotation, IncludeNames: []string{"correctness"}, EntityIDs: []string{spanID(102)}},
			[]string{spanID(102) + "/correctness//correct"}},
		{"other span", store.AnnotationQuery{Kind: store.SpanAnnotation, EntityIDs: []string{spanID(103)}}, []string{}},
		{"trace", store.AnnotationQuery{Kind: store.TraceAnnotation}, []string{traceID(1) + "/resolved//"}},
		{"session", store.AnnotationQuery{Kind: store.SessionAnnotation}, []string{"s1/csat//"}},
		{"document", store.AnnotationQuery{Kind: store.DocumentAnnotation}, []string{spanID(104) + "/relevance//"}},
		{"limit", store.AnnotationQuery{Kind: store.SpanAnnotation, Limit: 1}, []string{spanID(102) + "/thumbs/bob/down"}},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, list(tc.q)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
	docs, _ := s.Annotations(ctx, store.AnnotationQuery{Kind: store.DocumentAnnotation, ProjectID: pid})
	if len(docs) != 1 || docs[0].DocumentPosition != 2 || *docs[0].Score != 0.3 {
		t.Errorf("document annotation = %+v", docs)
	}
	withMeta, _ := s.Annotations(ctx, store.AnnotationQuery{Kind: store.SpanAnnotation, ProjectID: pid, Identifiers: []string{"alice"}})
	if len(withMeta) != 1 || string(withMeta[0].Metadata) != `{"ui":true}` || withMeta[0].Source != "API" || withMeta[0].CreatedAt == 0 {
		t.Errorf("annotation fields = %+v", withMeta)
	}

	// A missing target writes nothing and names what is missing.
	_, err = s.UpsertAnnotations(ctx, []store.Annotation{
		{Kind: store.SpanAnnotation, SpanID: spanID(103), Name: "x", Label: ptr("y"), AnnotatorKind: "CODE"},
		{Kind: store.SpanAnnotation, SpanID: spanID(999), Name: "x", Label: ptr("y"), AnnotatorKind: "CODE"},
	})
	var missing *store.MissingError
	if !errors.As(err, &missing) || !errors.Is(err, store.ErrNotFound) || len(missing.IDs) != 1 || missing.IDs[0] != spanID(999) {
		t.Errorf("upsert with a missing span = %v, want a MissingError naming %s", err, spanID(999))
	}
	if got := list(store.AnnotationQuery{Kind: store.SpanAnnotation, EntityIDs: []string{spanID(103)}}); len(got) != 0 {
		t.Errorf("a failed upsert wrote %v", got)
	}

	// Deletes need a condition or All.
	if _, err := s.DeleteAnnotations(ctx, store.AnnotationDelete{Kind: store.SpanAnnotation, ProjectID: pid}); !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("unconditional delete = %v, want ErrInvalidArgument", err)
	}
	n, err := s.DeleteAnnotations(ctx, store.AnnotationDelete{Kind: store.SpanAnnotation, ProjectID: pid, Names: []string{"thumbs"}, Identifiers: []string{"bob"}})
	if err != nil || n != 1 {
		t.Errorf("delete = %d, %v; want 1", n, err)
	}
	n, err = s.DeleteAnnotations(ctx, store.AnnotationDelete{Kind: store.SpanAnnotation, ProjectID: pid, All: true})
	if err != nil || n != 2 {
		t.Errorf("delete all = %d, %v; want 2", n, err)
	}
}

func testFeedbackAttributes(t *testing.T, s store.Store) {
	specs := agentTrace("f", 1, 0, "s1", "")
	specs[1].attrs = span.Attributes{
		{Key: "annotations.0.annotation.name", Value: span.StringValue("hallucination")},
		{Key: "annotations.0.annotation.label", Value: span.StringValue("factual")},
		{Key: "annotations.0.annotation.score", Value: span.DoubleValue(0.9)},
		{Key: "annotations.0.annotation.annotator_kind", Value: span.StringValue("LLM")},
		{Key: "evaluations.0.evaluation.name", Value: span.StringValue("toxicity")},
		{Key: "evaluations.0.evaluation.score", Value: span.IntValue(0)},
		{Key: "annotations.1.annotation.name", Value: span.StringValue("no result: ignored")},
		{Key: "trace.annotations.0.annotation.name", Value: span.StringValue("goal_met")},
		{Key: "trace.annotations.0.annotation.label", Value: span.StringValue("yes")},
		{Key: "session.evaluations.0.evaluation.name", Value: span.StringValue("frustration")},
		{Key: "session.evaluations.0.evaluation.score", Value: span.DoubleValue(0.1)},
	}
	write(t, s, build(specs...))
	pid := project(t, s, "f").ID
	names := func(kind store.AnnotationKind) []string {
		got, err := s.Annotations(context.Background(), store.AnnotationQuery{Kind: kind, ProjectID: pid})
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, a := range got {
			out = append(out, a.EntityID()+"/"+a.Name+"/"+a.AnnotatorKind)
		}
		return out
	}
	if diff := cmp.Diff([]string{spanID(102) + "/toxicity/CODE", spanID(102) + "/hallucination/LLM"}, names(store.SpanAnnotation)); diff != "" {
		t.Errorf("span annotations from attributes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{traceID(1) + "/goal_met/CODE"}, names(store.TraceAnnotation)); diff != "" {
		t.Errorf("trace annotations from attributes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"s1/frustration/CODE"}, names(store.SessionAnnotation)); diff != "" {
		t.Errorf("session annotations from attributes (-want +got):\n%s", diff)
	}
	// A re-sent span does not duplicate its annotations.
	write(t, s, build(specs...))
	if got := names(store.SpanAnnotation); len(got) != 2 {
		t.Errorf("after a re-send: %v", got)
	}
}

// testAnnotationAuthors: each kind of annotation keeps who made it, and a
// later write of the same annotation its own author.
func testAnnotationAuthors(t *testing.T, s store.Store) {
	ctx := context.Background()
	write(t, s, build(agentTrace("a", 1, 0, "s1", "u1")...))
	pid := project(t, s, "a").ID
	anns := []store.Annotation{
		{Kind: store.SpanAnnotation, SpanID: spanID(102), Name: "thumbs", Label: ptr("up"), AnnotatorKind: "HUMAN", UserID: 7, UserName: "alice"},
		{Kind: store.TraceAnnotation, TraceID: traceID(1), Name: "resolved", Score: ptr(1.0), AnnotatorKind: "CODE", KeyName: "ingest"},
		{Kind: store.SessionAnnotation, SessionID: "s1", Name: "csat", Score: ptr(4.0), AnnotatorKind: "HUMAN", UserID: 7, UserName: "alice", KeyName: "nb"},
		{Kind: store.DocumentAnnotation, SpanID: spanID(104), DocumentPosition: 1, Name: "relevance", Score: ptr(0.3), AnnotatorKind: "LLM"},
	}
	if _, err := s.UpsertAnnotations(ctx, anns); err != nil {
		t.Fatal(err)
	}
	want := []string{"alice", "key ingest", "alice (key nb)", ""}
	for i, a := range anns {
		got, err := s.Annotations(ctx, store.AnnotationQuery{Kind: a.Kind, ProjectID: pid})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Author() != want[i] || got[0].UserID != a.UserID {
			t.Errorf("%s annotation by %+v", a.Kind, got)
		}
	}
	anns[0].UserID, anns[0].UserName = 8, "bob"
	if _, err := s.UpsertAnnotations(ctx, anns[:1]); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Annotations(ctx, store.AnnotationQuery{Kind: store.SpanAnnotation, ProjectID: pid})
	if len(got) != 1 || got[0].Author() != "bob" || got[0].UserID != 8 {
		t.Errorf("rewritten annotation = %+v, want it bob's", got)
	}
}
