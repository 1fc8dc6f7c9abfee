package storetest

import (
	"context"
	"testing"

	"github.com/loupe-dev/loupe/internal/store"
)

// A span id is unique within its trace. Another trace may use the same id
// (a client with a broken id generator, or two that collide): both spans are
// kept, a re-send of either is still stored once, and a lookup by span id
// alone finds the first one stored.
func testSpanIDScope(t *testing.T, s store.Store) {
	ctx := context.Background()
	first := spanSpec{project: "first", trace: 1, id: 7, name: "one", startMs: 0, durMs: 10}
	again := spanSpec{project: "second", trace: 2, id: 7, name: "two", startMs: 20, durMs: 10}
	write(t, s, build(first))
	if res := write(t, s, build(again, first)); res.Inserted != 1 || res.Duplicates != 1 {
		t.Errorf("a span id reused by another trace, beside a re-sent span = %d inserted, %d duplicates; want 1, 1",
			res.Inserted, res.Duplicates)
	}
	// Both traces in one batch, then the same batch again.
	third := spanSpec{project: "second", trace: 3, id: 8, name: "three", startMs: 40, durMs: 10}
	fourth := spanSpec{project: "second", trace: 4, id: 8, name: "four", startMs: 50, durMs: 10}
	if res := write(t, s, build(third, fourth)); res.Inserted != 2 || res.Duplicates != 0 {
		t.Errorf("one batch, one span id in two traces = %d inserted, %d duplicates; want 2, 0", res.Inserted, res.Duplicates)
	}
	if res := write(t, s, build(third, fourth)); res.Inserted != 0 || res.Duplicates != 2 {
		t.Errorf("that batch re-sent = %d inserted, %d duplicates; want 0, 2", res.Inserted, res.Duplicates)
	}
	for n := 1; n <= 4; n++ {
		if tr := trace(t, s, n); tr.SpanCount != 1 {
			t.Errorf("trace %d counts %d spans, want 1", n, tr.SpanCount)
		}
	}

	second := project(t, s, "second").ID
	recs, err := s.Spans(ctx, store.SpanQuery{ProjectID: second, SpanIDs: []string{spanID(7), spanID(8)}, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(recs); len(got) != 3 || got["two"] != 1 || got["three"] != 1 || got["four"] != 1 {
		t.Errorf("spans of project second by span id = %v, want two, three and four", got)
	}

	rec, err := s.SpanByID(ctx, spanID(7))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Name != "one" {
		t.Errorf("SpanByID finds %q, want the first span stored with that id", rec.Name)
	}
	if _, err := s.UpsertAnnotations(ctx, []store.Annotation{{Kind: store.SpanAnnotation, SpanID: spanID(7),
		Name: "checked", Score: ptr(1.0), AnnotatorKind: "HUMAN"}}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int{"first": 1, "second": 0} {
		anns, err := s.Annotations(ctx, store.AnnotationQuery{Kind: store.SpanAnnotation, ProjectID: project(t, s, name).ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(anns) != want {
			t.Errorf("project %s has %d span annotations, want %d: an annotation by span id goes to the first span stored", name, len(anns), want)
		}
	}
}

func names(recs []store.SpanRecord) map[string]int {
	out := map[string]int{}
	for _, r := range recs {
		out[r.Name]++
	}
	return out
}
