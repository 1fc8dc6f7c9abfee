package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

const rerankSpan = "4444444444444444"

// evalEnv is the agent run of a support session, with a reranker that
// returned three documents, judged by a session rating and document
// relevance evaluations.
func evalEnv(t *testing.T) *testEnv {
	e := newEnv(t)
	at := time.Now().Add(-10 * time.Minute)
	spans := agentRun("support-bot", agentTrace, "sess-1", at)
	rerank := span.Span{Project: "support-bot", TraceID: agentTrace, SpanID: rerankSpan, ParentID: toolSpan, Name: "rerank",
		StartTime: at.Add(4700 * time.Millisecond).UnixNano(), EndTime: at.Add(4750 * time.Millisecond).UnixNano(), StatusCode: span.StatusOK,
		Attributes: span.Attributes{str(span.AttrSpanKind, "RERANKER"),
			str("reranker.output_documents.0.document.id", "kb-refunds"), str("reranker.output_documents.0.document.content", "Refunds within 30 days."),
			str("reranker.output_documents.1.document.id", "kb-shipping"), str("reranker.output_documents.1.document.content", "Shipping is free."),
			str("reranker.output_documents.2.document.id", "kb-returns"), str("reranker.output_documents.2.document.content", "Returns need a receipt.")}}
	e.write(append(spans, rerank)...)
	doc := func(pos int, label string, score float64) store.Annotation {
		return store.Annotation{Kind: store.DocumentAnnotation, SpanID: rerankSpan, DocumentPosition: pos, Name: "relevance",
			Label: &label, Score: &score, AnnotatorKind: "LLM"}
	}
	csat := "satisfied"
	e.addAnnotations(
		store.Annotation{Kind: store.SessionAnnotation, SessionID: "sess-1", Name: "csat", Label: &csat, Score: fptr(4), AnnotatorKind: "HUMAN"},
		doc(0, "relevant", 1), doc(1, "irrelevant", 0), doc(2, "relevant", 1),
	)
	return e
}

func TestSessionAnnotations(t *testing.T) {
	e := evalEnv(t)
	body := e.mustGet("/projects/support-bot/sessions")
	contains(t, "sessions list", body, "<th>Annotations</th>", `<span class="an">csat</span> <b>satisfied</b>`)

	body = e.mustGet("/projects/support-bot/sessions/sess-1")
	contains(t, "session page", body, "Annotations on this session", `<span class="an">csat</span> <b>satisfied</b>`,
		`action="/projects/support-bot/sessions/sess-1/annotations"`)

	rec := e.post("/projects/support-bot/sessions/sess-1/annotations", url.Values{"name": {"resolved"}, "label": {"yes"}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/projects/support-bot/sessions/sess-1" {
		t.Fatalf("annotate a session = %d to %q, want 303 back to the session", rec.Code, rec.Header().Get("Location"))
	}
	if anns := e.annotations(store.SessionAnnotation, "sess-1"); len(anns) != 2 || anns[0].Name != "resolved" || anns[0].Source != "APP" {
		t.Errorf("session annotations after the form: %+v", anns)
	}
	if rec := e.post("/projects/support-bot/sessions/nope/annotations", url.Values{"name": {"x"}, "label": {"y"}}); rec.Code != http.StatusNotFound {
		t.Errorf("annotate an unknown session = %d, want 404", rec.Code)
	}
}

func TestDocumentAnnotationsAndRetrievalMetrics(t *testing.T) {
	e := evalEnv(t)
	body := e.mustGet("/projects/support-bot/spans/" + rerankSpan)
	// Each document shows its judgement; the span, its metrics at k = 3:
	// gains 1, 0, 1 give DCG 1 + 1/log2(4) = 1.5 against 1 + 1/log2(3) = 1.631.
	contains(t, "reranker", body, `data-position="1"`, `<span class="an">relevance</span> <b>irrelevant</b>`,
		"ndcg@3 <b>0.9197</b>", "precision@3 <b>0.6667</b>", "hit <b>yes</b>")
	// The project's retrieval chart, over the same evaluation.
	body = e.mustGet("/projects/support-bot/metrics?range=1h")
	contains(t, "metrics", body, "Retrieval · relevance", "relevance over 1 retrieval: NDCG 0.92 (n 1), precision 0.667 (n 1), hit rate 1 (n 1)")
}

func TestAnnotationChoices(t *testing.T) {
	e := evalEnv(t)
	e.addAnnotations(
		store.Annotation{Kind: store.SpanAnnotation, SpanID: llmSpan, Name: "correctness", Label: sptr("incorrect"), AnnotatorKind: "LLM"},
		store.Annotation{Kind: store.SpanAnnotation, SpanID: rootSpan, Name: "correctness", Label: sptr("correct"), AnnotatorKind: "LLM"},
		store.Annotation{Kind: store.SpanAnnotation, SpanID: rootSpan, Name: "tone", Label: sptr("curt"), AnnotatorKind: "HUMAN"},
	)
	body := e.mustGet("/projects/support-bot/annotation-choices?kind=span")
	// Names in use first (most used first) with their labels, then the usual ones.
	i, j, k := strings.Index(body, `<option value="correctness"`), strings.Index(body, `<option value="tone"`), strings.Index(body, `<option value="helpfulness"`)
	if i < 0 || j < i || k < j {
		t.Errorf("names in order correctness, tone, then suggestions:\n%s", body)
	}
	contains(t, "labels", body, `<template data-labels-for="correctness"><option value="correct"><option value="incorrect"></template>`)
	if strings.Count(body, `value="correctness"`) != 1 {
		t.Error("a name in use is offered twice")
	}
	if code, _ := e.get("/projects/support-bot/annotation-choices?kind=document"); code != http.StatusBadRequest {
		t.Errorf("choices of documents = %d, want 400", code)
	}
	// The form points at them, and its placeholders read as examples.
	body = e.mustGet("/projects/support-bot/spans/" + llmSpan)
	contains(t, "form", body, `data-choices="/projects/support-bot/annotation-choices?kind=span"`, `placeholder="e.g. correctness"`, `placeholder="e.g. correct"`)
}
