package browser_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/loupe-dev/loupe/e2e/e2etest"
)

// Two versions of the order assistant's prompt: v2 is briefer, renames a
// variable and adds the retrieved context.
var orderTemplates = map[string]string{
	"v1": "You answer order questions for {company}.\nBe polite and thorough.\nOrder: {order_id}",
	"v2": "You answer order questions for {company}.\nBe brief.\nOrder: {{ order }}\nContext: {context}",
}

// TestEvaluationYouCanAct is a person reading the evaluations of a
// project: a session's rating, the relevance of retrieved documents and
// the metrics they make, and whether the new prompt version is worse, with
// what changed in its template; then annotating with the names in use.
func TestEvaluationYouCanAct(t *testing.T) { onEachBackend(t, evaluationYouCanAct) }

func evaluationYouCanAct(t *testing.T, srv *e2etest.Server) {
	p := newPage(t, srv.HTTPURL)
	app := newEmitter(t, srv.HTTPURL, "support-bot")
	now := time.Now()
	first := app.agentRun(now.Add(-50*time.Minute), turn{Question: "What is our refund policy?",
		Answer: "Refunds are accepted within 30 days with the receipt.", Session: "conv-42", User: "alice@acme.test"})
	app.agentRun(now.Add(-45*time.Minute), turn{Question: "Who pays for return shipping?",
		Answer: "Return shipping is free for members.", Session: "conv-42", User: "alice@acme.test"})
	// v1 is mostly right, v2 mostly wrong.
	scores := map[string][]float64{"v1": {1, 1, 1, 0, 1, 1, 1, 1}, "v2": {0, 0, 1, 0, 0, 0, 1, 0}}
	var anns []map[string]any
	for _, v := range []string{"v1", "v2"} {
		for i, s := range scores[v] {
			at := now.Add(-40*time.Minute + time.Duration(i)*time.Minute)
			if v == "v2" {
				at = at.Add(15 * time.Minute)
			}
			id := app.llmCallID(at, v)
			label := map[float64]string{0: "incorrect", 1: "correct"}[s]
			anns = append(anns, map[string]any{"span_id": id, "name": "correctness", "annotator_kind": "LLM",
				"result": map[string]any{"score": s, "label": label}})
		}
	}
	app.flush()
	postJSON(t, srv.HTTPURL+"/v1/span_annotations?sync=true", map[string]any{"data": anns})
	postJSON(t, srv.HTTPURL+"/v1/session_annotations?sync=true", map[string]any{"data": []map[string]any{
		{"session_id": "conv-42", "name": "csat", "annotator_kind": "HUMAN", "result": map[string]any{"label": "satisfied", "score": 4}}}})

	// The retrieval of the first run: an evaluator judged its documents.
	p.open("/projects/support-bot/traces/" + first)
	retrieval := eval[string](p, `[...document.querySelectorAll('.row')].find(r => r.querySelector('.span-name')?.textContent === 'retrieval').dataset.id`)
	var docs []map[string]any
	for pos, rel := range []float64{1, 0, 1} {
		docs = append(docs, map[string]any{"span_id": retrieval, "document_position": pos, "name": "relevance", "annotator_kind": "LLM",
			"result": map[string]any{"score": rel, "label": map[float64]string{0: "irrelevant", 1: "relevant"}[rel]}})
	}
	postJSON(t, srv.HTTPURL+"/v1/document_annotations?sync=true", map[string]any{"data": docs})

	// Sessions: the rating is on the list and on the session's page.
	p.open("/projects/support-bot/sessions?range=1h")
	p.see(`tr[data-id="conv-42"] .anns`, "csat", "satisfied")
	p.shot("40-sessions-annotations")
	p.darkMode(true)
	p.shot("40-sessions-annotations-dark")
	p.darkMode(false)
	p.click(`tr[data-id="conv-42"] a.rowlink`)
	p.waitFor("the session", `location.pathname === "/projects/support-bot/sessions/conv-42"`, 10*time.Second)
	p.see(".phead .annot", "csat", "satisfied")
	// Annotating the session: the names in use are offered.
	p.click(".phead details.annot-pop summary")
	p.click(`.phead .annot-form input[name="name"]`)
	p.waitFor("the names in use", `[...document.querySelectorAll('#annot-names-session option')].some(o => o.value === "csat")`, 10*time.Second)
	p.do("type a label", chromedp.SendKeys(chromedp.CSS(`.phead .annot-form input[name="name"]`), "csat"))
	p.waitFor("the labels of csat", `[...document.querySelectorAll('#annot-labels-session option')].some(o => o.value === "satisfied")`, 10*time.Second)
	p.do("fill the form", chromedp.SendKeys(chromedp.CSS(`.phead .annot-form input[name="label"]`), "delighted"),
		chromedp.SendKeys(chromedp.CSS(`.phead .annot-form input[name="score"]`), "5"))
	p.shot("41-session-annotate")
	p.darkMode(true)
	p.shot("41-session-annotate-dark")
	p.darkMode(false)
	p.click(`.phead .annot-form button[type="submit"]`)
	p.waitFor("the new rating", `document.querySelector('.phead .annot .annot-list')?.textContent.includes("delighted")`, 10*time.Second)

	// The retriever: each document carries its judgement, the span its metrics.
	p.open("/projects/support-bot/traces/" + first + "?span=" + retrieval)
	p.see(`.detail .doc[data-position="1"] .doc-anns`, "relevance", "irrelevant")
	p.see(`.detail .doc[data-position="0"] .doc-anns`, "relevant")
	// Gains 1, 0, 1: DCG 1 + 1/log2(4) = 1.5 over the ideal 1 + 1/log2(3).
	p.see(".detail .rmetrics", "relevance", "ndcg@3 0.9197", "precision@3 0.6667", "hit yes")
	p.shot("42-retriever-documents")
	p.darkMode(true)
	p.shot("43-retriever-documents-dark")
	p.darkMode(false)

	// The project's retrieval over time.
	p.open("/projects/support-bot/metrics?range=1h")
	p.see(`.chart[data-chart="Retrieval · relevance"]`, "NDCG", "precision", "hit rate", "relevance over 1 retrieval")
	p.do("scroll to the retrieval chart", chromedp.Evaluate[chromedp.Void](`document.querySelector('.chart[data-chart^="Retrieval"]').scrollIntoView({block: "center"})`))
	p.shot("44-metrics-retrieval")

	// The prompt versions: v2 is worse, and it shows what changed.
	// The two newest versions are compared at first: the agent's v12 and v2.
	p.open("/projects/support-bot/prompts?range=1h")
	p.see(".verdicts", "v12 vs v2: no correctness scores on v12 yet")
	p.do("pick v1 and v2", chromedp.SetValue(chromedp.CSS(`.vpick select[name="a"]`), "v1"),
		chromedp.SetValue(chromedp.CSS(`.vpick select[name="b"]`), "v2"))
	p.click(`.vpick button[type="submit"]`)
	p.waitFor("the comparison", `new URLSearchParams(location.search).get("a") === "v1"`, 10*time.Second)
	p.see(".verdicts", "v2 vs v1: −0.62 correctness, n 8/8, likely real")
	lines := func(class string) string {
		return eval[string](p, `[...document.querySelectorAll('.tdiff tr.`+class+` td.tx')].map(td => td.textContent).join("\n")`)
	}
	if got, want := lines("del"), "Be polite and thorough.\nOrder: {order_id}"; got != want {
		t.Errorf("removed lines:\n%s\nwant\n%s", got, want)
	}
	if got, want := lines("ins"), "Be brief.\nOrder: {{ order }}\nContext: {context}"; got != want {
		t.Errorf("added lines:\n%s\nwant\n%s", got, want)
	}
	if v := eval[[]string](p, `[...document.querySelectorAll('.tdiff tr.ins mark.ins')].map(m => m.textContent)`); strings.Join(v, " ") != "{{ order }} {context}" {
		t.Errorf("placeholders marked as added: %v", v)
	}
	p.see(".tdiff-head", "order", "context")
	p.see(`.vtemplates details[data-version="v1"] pre.template mark`, "{company}")
	p.shot("45-prompt-compare")
	p.darkMode(true)
	p.shot("46-prompt-compare-dark")
	p.darkMode(false)
	// v2 × correctness = incorrect opens exactly those spans.
	p.click(`tr[data-id="v2"] td.ann a.label[href*="incorrect"]`)
	p.waitFor("the spans", `location.pathname === "/projects/support-bot/spans"`, 10*time.Second)
	wantFilter := "span_kind == 'LLM' and llm.prompt_template.version == 'v2' and (annotations['correctness'].label == 'incorrect' or trace_annotations['correctness'].label == 'incorrect')"
	if got := eval[string](p, `new URLSearchParams(location.search).get("filter")`); got != wantFilter {
		t.Errorf("filter %q, want %q", got, wantFilter)
	}
	if n := eval[int](p, `document.querySelectorAll("table.grid tbody tr").length`); n != 6 {
		t.Errorf("%d spans listed, want v2's 6 incorrect calls", n)
	}
	p.shot("47-prompt-cell-spans")

	// Annotating a span: names in use first, then their labels.
	p.open("/projects/support-bot/spans?range=1h&filter=" + url.QueryEscape("span_kind == 'LLM' and llm.prompt_template.version == 'v1'"))
	p.click("table.grid tbody tr a.rowlink")
	p.waitFor("the trace", `location.pathname.includes("/traces/")`, 10*time.Second)
	p.click(`.detail .dtabs a[data-tab="annotations"]`)
	if ph := eval[string](p, `document.querySelector('.detail .annot-form input[name="name"]').placeholder`); ph != "e.g. correctness" {
		t.Errorf("name placeholder %q", ph)
	}
	p.click(`.detail .annot-form input[name="name"]`)
	p.waitFor("the names in use", `document.querySelector('#annot-names-span option')?.value === "correctness"`, 10*time.Second)
	p.do("type the name", chromedp.SendKeys(chromedp.CSS(`.detail .annot-form input[name="name"]`), "correctness"))
	p.waitFor("its labels", `[...document.querySelectorAll('#annot-labels-span option')].map(o => o.value).join() === "correct,incorrect"`, 10*time.Second)
	p.shot("48-annotate-choices")

	// Configs are optional, and once made the forms keep to them: define
	// csat as a score from 1 to 5, and tone as two labels.
	p.click(`.detail .annot-form a[href="/annotation-configs"]`)
	p.waitFor("the configs page", `location.pathname === "/annotation-configs"`, 10*time.Second)
	p.see(".empty", "No annotation configs.")
	p.do("define csat", chromedp.SendKeys(chromedp.CSS(`.configform input[name="name"]`), "csat"),
		chromedp.SetValue(chromedp.CSS(`.configform select[name="type"]`), "CONTINUOUS"),
		chromedp.SendKeys(chromedp.CSS(`.configform input[name="lower"]`), "1"),
		chromedp.SendKeys(chromedp.CSS(`.configform input[name="upper"]`), "5"))
	p.click(`.configform button[type="submit"]`)
	p.waitFor("csat saved", `!!document.querySelector('tr[data-id="csat"]')`, 10*time.Second)
	p.do("define tone", chromedp.SendKeys(chromedp.CSS(`.configform input[name="name"]`), "tone"),
		chromedp.SendKeys(chromedp.CSS(`.configform textarea[name="values"]`), "friendly = 1\ncurt = 0"))
	p.click(`.configform button[type="submit"]`)
	p.waitFor("tone saved", `!!document.querySelector('tr[data-id="tone"]')`, 10*time.Second)
	p.see(`tr[data-id="csat"]`, "CONTINUOUS", "1 to 5")
	p.see(`tr[data-id="tone"]`, "friendly", "curt")
	p.shot("49-annotation-configs")
	p.darkMode(true)
	p.shot("50-annotation-configs-dark")
	p.darkMode(false)

	p.open("/projects/support-bot/sessions/conv-42")
	p.click(".phead details.annot-pop summary")
	p.click(`.phead .annot-form input[name="name"]`)
	p.waitFor("the defined names", `document.querySelector('#annot-names-session option')?.label === "csat · defined"`, 10*time.Second)
	p.do("type csat", chromedp.SendKeys(chromedp.CSS(`.phead .annot-form input[name="name"]`), "csat"))
	p.waitFor("the score range", `document.querySelector('.phead .annot-form input[name="score"]').placeholder === "between 1 and 5"`, 10*time.Second)
	if max := eval[string](p, `document.querySelector('.phead .annot-form input[name="score"]').max`); max != "5" {
		t.Errorf("score max %q, want 5", max)
	}
	// A label tone does not list is refused, with the labels it takes.
	p.do("clear the name", chromedp.Evaluate[chromedp.Void](`document.querySelector('.phead .annot-form input[name="name"]').value = ""`))
	p.do("type tone", chromedp.SendKeys(chromedp.CSS(`.phead .annot-form input[name="name"]`), "tone"),
		chromedp.SendKeys(chromedp.CSS(`.phead .annot-form input[name="label"]`), "rude"))
	p.click(`.phead .annot-form button[type="submit"]`)
	p.waitFor("the refusal", `!document.querySelector('.phead [data-annotate-error]').hidden`, 10*time.Second)
	p.see(".phead [data-annotate-error]", `"rude" is not a label of tone: use one of friendly, curt`)
	p.shot("51-annotation-refused")

	// Assigned to the project, tone is the one config its forms offer.
	p.open("/annotation-configs")
	p.do("choose the project", chromedp.SetValue(chromedp.CSS(`tr[data-id="tone"] select[name="project"]`), "support-bot"))
	p.click(`tr[data-id="tone"] .cf-projects button[type="submit"]:not(.linkbtn)`)
	p.waitFor("the assignment", `document.querySelector('tr[data-id="tone"] .cf-projects')?.textContent.includes("support-bot")`, 10*time.Second)
	p.see(`tr[data-id="csat"] .cf-projects`, "none")
	p.shot("52-annotation-config-projects")
	p.open("/projects/support-bot/sessions/conv-42")
	p.click(".phead details.annot-pop summary")
	p.click(`.phead .annot-form input[name="name"]`)
	p.waitFor("the project's configs", `document.querySelector('#annot-names-session option')?.label === "tone · defined"`, 10*time.Second)
	if n := eval[int](p, `[...document.querySelectorAll('#annot-names-session option')].filter(o => o.label.endsWith("· defined")).length`); n != 1 {
		t.Errorf("%d names offered as defined, want tone's alone", n)
	}
}

// llmCallID emits a templated call and returns its LLM span's id.
func (e *emitter) llmCallID(start time.Time, version string) string {
	ms := time.Millisecond
	ctx, endRoot := e.span(context.Background(), "answer", start, 1400*ms, kind("CHAIN"),
		attribute.String("input.value", "Where is order 1042?"))
	_, s := e.tr.Start(ctx, "llm.chat", trace.WithTimestamp(start.Add(100*ms)), trace.WithAttributes(kind("LLM"),
		attribute.String("llm.model_name", "gpt-4o-mini"),
		attribute.String("llm.prompt_template.template", orderTemplates[version]),
		attribute.String("llm.prompt_template.version", version),
		attribute.Int("llm.token_count.prompt", 700), attribute.Int("llm.token_count.completion", 60),
		attribute.Int("llm.token_count.total", 760)))
	id := s.SpanContext().SpanID().String()
	s.End(trace.WithTimestamp(start.Add(1300 * ms)))
	endRoot()
	return id
}
