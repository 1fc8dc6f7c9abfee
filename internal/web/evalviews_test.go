package web

import (
	"html"
	"net/http"
	"net/http/httptest"
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

func TestAnnotationConfigs(t *testing.T) {
	e := evalEnv(t)
	// None is needed before the first label.
	if rec := e.post("/projects/support-bot/spans/"+llmSpan+"/annotations", url.Values{"name": {"correctness"}, "label": {"meh"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("annotate without a config = %d, want 303", rec.Code)
	}
	body := e.mustGet("/annotation-configs")
	contains(t, "empty", body, "No annotation configs.", "the forms offer the names and labels already in use")

	rec := e.post("/annotation-configs", url.Values{"name": {"correctness"}, "type": {"CATEGORICAL"}, "direction": {"MAXIMIZE"},
		"values": {"correct = 1\nincorrect = 0\n\nunsure"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("save a config = %d: %s", rec.Code, rec.Body)
	}
	if rec := e.post("/annotation-configs", url.Values{"name": {"csat"}, "type": {"CONTINUOUS"}, "lower": {"1"}, "upper": {"5"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("save a continuous config = %d", rec.Code)
	}
	body = e.mustGet("/annotation-configs?saved=csat")
	contains(t, "configs", body, "Saved the config of <b>csat</b>", `<tr data-id="correctness">`, `<span class="an">unsure</span>`, "1 to 5")

	for _, tc := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"name": {"x"}, "type": {"CATEGORICAL"}}, "a categorical config needs at least one label"},
		{url.Values{"name": {"x"}, "type": {"CATEGORICAL"}, "values": {"a = lots"}}, `The score of "a", "lots", is not a number`},
		{url.Values{"name": {"x"}, "type": {"CONTINUOUS"}, "lower": {"5"}, "upper": {"1"}}, "the lower bound 5 is not below the upper bound 1"},
	} {
		rec := e.post("/annotation-configs", tc.form)
		if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(html.UnescapeString(rec.Body.String()), tc.want) {
			t.Errorf("save %v = %d, want 422 saying %q", tc.form, rec.Code, tc.want)
		}
	}

	// The forms keep to the configs: a listed label takes its score, an
	// unlisted one and a score out of range are refused.
	post := func(path string, form url.Values) *httptest.ResponseRecorder { return e.post(path, form) }
	if rec := post("/projects/support-bot/spans/"+llmSpan+"/annotations", url.Values{"name": {"correctness"}, "label": {"incorrect"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("a listed label = %d", rec.Code)
	}
	if anns := e.annotations(store.SpanAnnotation, llmSpan); len(anns) != 1 || anns[0].Score == nil || *anns[0].Score != 0 {
		t.Errorf("the label's score was not filled in: %+v", anns)
	}
	rec = post("/projects/support-bot/spans/"+llmSpan+"/annotations", url.Values{"name": {"correctness"}, "label": {"meh"}})
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), `"meh" is not a label of correctness: use one of correct, incorrect, unsure`) {
		t.Errorf("an unlisted label = %d %q", rec.Code, rec.Body)
	}
	rec = post("/projects/support-bot/sessions/sess-1/annotations", url.Values{"name": {"csat"}, "score": {"7"}})
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "The score of csat is at most 5, not 7") {
		t.Errorf("a score out of range = %d %q", rec.Code, rec.Body)
	}

	// The choices put defined names first, with their labels and range.
	body = e.mustGet("/projects/support-bot/annotation-choices?kind=session")
	contains(t, "choices", body, `<option value="correctness" label="correctness · defined">`,
		`<template data-labels-for="csat" data-defined data-min="1" data-max="5"></template>`)

	// Assigned to the project, csat is the only config its forms offer
	// and keep to; taken off, every config is offered again.
	if rec := e.post("/annotation-configs/assign", url.Values{"name": {"csat"}, "project": {"support-bot"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("assign = %d: %s", rec.Code, rec.Body)
	}
	body = e.mustGet("/annotation-configs")
	contains(t, "assigned", body, `<input type="hidden" name="project" value="support-bot"><input type="hidden" name="op" value="unassign"><span class="an">support-bot</span>`)
	body = e.mustGet("/projects/support-bot/annotation-choices?kind=session")
	contains(t, "the project's choices", body, `data-labels-for="csat" data-defined`)
	if strings.Contains(body, `label="correctness · defined"`) {
		t.Error("a config the project was not assigned is offered as defined")
	}
	if rec := post("/projects/support-bot/spans/"+llmSpan+"/annotations", url.Values{"name": {"correctness"}, "label": {"meh"}}); rec.Code != http.StatusSeeOther {
		t.Errorf("a label of a config the project does not use = %d, want 303", rec.Code)
	}
	for _, form := range []url.Values{{"name": {"csat"}, "project": {"nope"}}, {"name": {"nope"}, "project": {"support-bot"}}} {
		if rec := e.post("/annotation-configs/assign", form); rec.Code != http.StatusNotFound {
			t.Errorf("assign %v = %d, want 404", form, rec.Code)
		}
	}
	if rec := e.post("/annotation-configs/assign", url.Values{"name": {"csat"}, "project": {"support-bot"}, "op": {"unassign"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("unassign = %d", rec.Code)
	}
	body = e.mustGet("/projects/support-bot/annotation-choices?kind=session")
	contains(t, "every config again", body, `label="correctness · defined"`)

	if rec := e.post("/annotation-configs/delete", url.Values{"name": {"csat"}}); rec.Code != http.StatusSeeOther {
		t.Errorf("delete = %d", rec.Code)
	}
	if rec := e.post("/annotation-configs/delete", url.Values{"name": {"csat"}}); rec.Code != http.StatusNotFound {
		t.Errorf("delete again = %d, want 404", rec.Code)
	}
}
