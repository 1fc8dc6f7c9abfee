package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// docs are the flattened attributes of a list of n documents under prefix.
func docs(prefix string, n int) span.Attributes {
	var out span.Attributes
	for i := range n {
		out = append(out, span.Attr{Key: fmt.Sprintf("%s.%d.document.id", prefix, i), Value: span.StringValue(fmt.Sprintf("doc-%d", i))})
	}
	return out
}

// testDocumentScores judges the documents of two retrievals and a rerank:
// only LLM evaluations with a score, at a position the span returned,
// count, grouped by span and name, newest span first.
func testDocumentScores(t *testing.T, s store.Store) {
	ctx := context.Background()
	for n := 1; n <= 2; n++ {
		specs := agentTrace("rag", n, int64(n)*10_000, "", "")
		specs[3].attrs = docs("retrieval.documents", 3)
		write(t, s, build(specs...))
	}
	write(t, s, build(spanSpec{project: "rag", trace: 3, id: 301, name: "rerank", kind: span.KindReranker, startMs: 30_000, durMs: 50,
		attrs: append(docs("reranker.input_documents", 5), docs("reranker.output_documents", 2)...)}))
	other := agentTrace("elsewhere", 4, 10_000, "", "")
	other[3].attrs = docs("retrieval.documents", 3)
	write(t, s, build(other...))

	doc := func(spanN, pos int, name, annotator string, score *float64) store.Annotation {
		return store.Annotation{Kind: store.DocumentAnnotation, SpanID: spanID(spanN), DocumentPosition: pos, Name: name,
			Score: score, Label: ptr("x"), AnnotatorKind: annotator}
	}
	anns := []store.Annotation{
		doc(104, 0, "relevance", "LLM", ptr(1.0)), doc(104, 2, "relevance", "LLM", ptr(0.0)),
		doc(104, 1, "relevance", "HUMAN", ptr(1.0)), // a person's judgement: not an evaluation
		doc(104, 1, "relevance", "LLM", nil),        // a label alone
		doc(104, 7, "relevance", "LLM", ptr(1.0)),   // past the documents returned
		doc(204, 0, "relevance", "LLM", ptr(0.0)), doc(204, 1, "relevance", "LLM", ptr(1.0)), doc(204, 2, "relevance", "LLM", ptr(1.0)),
		doc(204, 0, "groundedness", "LLM", ptr(0.5)),
		doc(301, 1, "relevance", "LLM", ptr(1.0)),
		doc(404, 0, "relevance", "LLM", ptr(1.0)), // another project
	}
	// The HUMAN and LLM annotations of one document differ by identifier.
	anns[2].Identifier = "person"
	if _, err := s.UpsertAnnotations(ctx, anns); err != nil {
		t.Fatal(err)
	}
	pid := project(t, s, "rag").ID
	got, err := s.DocumentScores(ctx, pid, base, 0)
	if err != nil {
		t.Fatal(err)
	}
	at := func(n int, ms int64) int64 { return base + (int64(n)*10_000+330)*ms }
	want := store.DocumentScores{Retrievals: []store.RetrievalScores{
		{SpanID: spanID(301), Start: base + 30_000*ms, Name: "relevance", Documents: 2, Scores: map[int]float64{1: 1}},
		{SpanID: spanID(204), Start: at(2, ms), Name: "groundedness", Documents: 3, Scores: map[int]float64{0: 0.5}},
		{SpanID: spanID(204), Start: at(2, ms), Name: "relevance", Documents: 3, Scores: map[int]float64{0: 0, 1: 1, 2: 1}},
		{SpanID: spanID(104), Start: at(1, ms), Name: "relevance", Documents: 3, Scores: map[int]float64{0: 1, 2: 0}},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DocumentScores (-want +got):\n%s", diff)
	}
	// The range is on the span's start.
	got, err = s.DocumentScores(ctx, pid, base+15_000*ms, base+25_000*ms)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Retrievals) != 2 || got.Retrievals[0].SpanID != spanID(204) || got.Sampled {
		t.Errorf("DocumentScores of [15 s, 25 s) = %+v, want span 204's two names", got)
	}

	// The scores follow their trace to another project.
	if _, err := s.TransferTraces(ctx, []string{traceID(4)}, pid); err != nil {
		t.Fatal(err)
	}
	got, err = s.DocumentScores(ctx, pid, base, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got.Retrievals); n != 5 || !slices.ContainsFunc(got.Retrievals, func(r store.RetrievalScores) bool { return r.SpanID == spanID(404) }) {
		t.Errorf("DocumentScores after moving trace 4 here = %+v, want 5, span 404's among them", got)
	}
	if got, err := s.DocumentScores(ctx, project(t, s, "elsewhere").ID, base, 0); err != nil || len(got.Retrievals) != 0 {
		t.Errorf("DocumentScores of the project trace 4 left = %+v, %v; want none", got, err)
	}
}
