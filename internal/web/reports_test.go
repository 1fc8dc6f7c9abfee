package web

import (
	"context"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/costing"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/sqlite"
)

// reportEnv is a UI with its price service, as the server wires it: spans
// are priced as ingest prices them, and recomputes run.
type reportEnv struct {
	*testEnv
	costs *costing.Service
}

func newReportEnv(t *testing.T) *reportEnv {
	t.Helper()
	log := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	ctx, cancel := context.WithCancel(context.Background())
	st, err := sqlite.Open(ctx, t.TempDir(), log)
	if err != nil {
		t.Fatal(err)
	}
	costs, err := costing.New(ctx, st, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		costs.Run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		st.Close()
	})
	h := New(Config{Store: st, Log: log, GRPCAddr: "0.0.0.0:4317", PollInterval: 20 * time.Millisecond, Costs: costs})
	mux := h.Handler()
	return &reportEnv{testEnv: &testEnv{t: t, store: st, h: h, mux: mux}, costs: costs}
}

// writePriced stores spans priced with the current table, as ingest does.
func (e *reportEnv) writePriced(spans ...span.Span) {
	e.t.Helper()
	for i := range spans {
		span.Normalize(&spans[i])
		e.costs.PriceSpan(&spans[i])
	}
	if _, err := e.store.WriteSpans(context.Background(), spans); err != nil {
		e.t.Fatal(err)
	}
}

func (e *testEnv) submitForm(path string, form url.Values) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Host = "loupe.example:6006"
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, req)
	return rec
}

// llmTrace is a one-LLM-span trace: status, latency, tokens, model and
// prompt version as given.
func llmTrace(project string, n int, at time.Time, dur time.Duration, status span.StatusCode, model, version string) span.Span {
	attrs := span.Attributes{str(span.AttrSpanKind, "LLM"), str(span.AttrModelName, model),
		num(span.AttrTokensPrompt, 1000), num(span.AttrTokensComplete, 100), num(span.AttrTokensCacheRead, 400)}
	if version != "" {
		attrs = append(attrs, str(span.AttrTemplateVersion, version),
			str(span.AttrTemplate, "You answer support questions.\nAnswer {question} using {context}, "+version+"."))
	}
	return span.Span{Project: project, TraceID: traceIDn(n), SpanID: fmt.Sprintf("%016x", n), Name: "llm.chat",
		StartTime: at.UnixNano(), EndTime: at.Add(dur).UnixNano(), StatusCode: status, Attributes: attrs}
}

func (e *testEnv) addAnnotations(anns ...store.Annotation) {
	e.t.Helper()
	if _, err := e.store.UpsertAnnotations(context.Background(), anns); err != nil {
		e.t.Fatal(err)
	}
}

func fptr(v float64) *float64 { return &v }
func sptr(v string) *string   { return &v }

// matches is how many times re matches body.
func matches(body, re string) int { return len(regexp.MustCompile(re).FindAllStringIndex(body, -1)) }

func TestMetricsTab(t *testing.T) {
	e := newReportEnv(t)
	now := time.Now().Truncate(time.Minute)
	// Two OK traces and an error 40 minutes ago; one unset trace 10 minutes ago.
	e.writePriced(
		llmTrace("bot", 1, now.Add(-40*time.Minute), 2*time.Second, span.StatusOK, "gpt-4o-mini", "v1"),
		llmTrace("bot", 2, now.Add(-40*time.Minute+time.Second), 4*time.Second, span.StatusOK, "gpt-4o-mini", "v1"),
		llmTrace("bot", 3, now.Add(-40*time.Minute+2*time.Second), 6*time.Second, span.StatusError, "gpt-4o-mini", "v2"),
		llmTrace("bot", 4, now.Add(-10*time.Minute), time.Second, span.StatusUnset, "acme-private", "v2"),
	)
	e.addAnnotations(
		store.Annotation{Kind: store.SpanAnnotation, SpanID: fmt.Sprintf("%016x", 1), Name: "correctness", Score: fptr(1), AnnotatorKind: "LLM"},
		store.Annotation{Kind: store.SpanAnnotation, SpanID: fmt.Sprintf("%016x", 3), Name: "correctness", Score: fptr(0), AnnotatorKind: "LLM"},
	)
	body := e.mustGet("/projects/bot/metrics?range=1h")
	contains(t, "metrics", body,
		`aria-current="page">Metrics</a>`, "buckets of 5 min (auto), UTC",
		"<h3>Traces</h3>", "<h3>Error rate</h3>", "<h3>Latency</h3>", "<h3>Tokens</h3>", "<h3>Cost</h3>", "<h3>Annotation scores</h3>",
		"OK: 2", "Error: 1", "Unset: 1", // bar titles
		"Error rate: 33%", "p50: 4 s", "p90: 5.6 s", "p99: 6 s", "Cache read: 1\u202f200", "Prompt: 1\u202f800",
		"correctness: 0.5", // the mean of one span scored 1 and one scored 0
		"1 model call has no price:", `href="/prices"`,
		"traces", "% of traces", "UTC", // axis units
		"By prompt version")
	// One bar per status in the bucket of the first three traces, one in the other.
	if n := matches(body, `<rect class="cbar s-ok"`); n != 1 {
		t.Errorf("%d OK bars, want 1", n)
	}
	if n := matches(body, `<rect class="cbar s-(ok|err|unset)"`); n != 3 {
		t.Errorf("%d trace bars, want 3", n)
	}
	if n := matches(body, `<rect class="col"`); n < 12 || n > 13*6 {
		t.Errorf("%d bucket columns over all charts, want 12 or 13 per chart", n)
	}
	if matches(body, `<g class="yticks"><text`) != 6 {
		t.Error("not every chart has y tick labels")
	}

	// A chosen step, and steps the range cannot take.
	body = e.mustGet("/projects/bot/metrics?range=1h&step=15m")
	contains(t, "metrics by 15 min", body, "buckets of 15 min, UTC", `aria-current="true">15m</a>`)
	code, body := e.get("/projects/bot/metrics?range=30d&step=1m")
	if code != http.StatusBadRequest || !strings.Contains(body, "the most a chart draws is 400") {
		t.Errorf("30 days by the minute = %d, want 400 saying why", code)
	}
	code, body = e.get("/projects/bot/metrics?step=2m")
	if code != http.StatusBadRequest || !strings.Contains(body, "Use one of 1m, 5m") {
		t.Errorf("step=2m = %d, want 400 listing the steps", code)
	}
}

func TestMetricsEmptyAndUnknown(t *testing.T) {
	e := newReportEnv(t)
	e.writePriced(llmTrace("old", 1, time.Now().Add(-3*time.Hour), time.Second, span.StatusOK, "gpt-4o-mini", ""))
	body := e.mustGet("/projects/old/metrics?range=15m")
	contains(t, "empty metrics", body, "No traces started in this range.", "No tokens in this range.",
		"No span annotations with a score in this range.")
	lacks(t, "empty metrics", body, `<rect class="cbar`)
	if code, body := e.get("/projects/nope/metrics"); code != http.StatusNotFound || !strings.Contains(body, "Project not found") {
		t.Errorf("metrics of an unknown project = %d, want the 404 page", code)
	}
	if code, _ := e.get("/projects/nope/prompts"); code != http.StatusNotFound {
		t.Errorf("prompts of an unknown project = %d, want 404", code)
	}
}

func TestPromptVersions(t *testing.T) {
	e := newReportEnv(t)
	now := time.Now().Add(-30 * time.Minute)
	for n, v := range map[int]string{1: "v9", 2: "v9", 3: "v10", 4: "v10", 5: ""} {
		e.writePriced(llmTrace("bot", n, now.Add(time.Duration(n)*time.Second), time.Duration(n)*time.Second, span.StatusOK, "gpt-4o-mini", v))
	}
	id := func(n int) string { return fmt.Sprintf("%016x", n) }
	e.addAnnotations(
		store.Annotation{Kind: store.SpanAnnotation, SpanID: id(1), Name: "correctness", Score: fptr(1), Label: sptr("correct"), AnnotatorKind: "LLM"},
		store.Annotation{Kind: store.SpanAnnotation, SpanID: id(2), Name: "correctness", Score: fptr(0.5), Label: sptr("correct"), AnnotatorKind: "LLM"},
		store.Annotation{Kind: store.SpanAnnotation, SpanID: id(3), Name: "correctness", Score: fptr(0), Label: sptr("incorrect"), AnnotatorKind: "LLM"},
		store.Annotation{Kind: store.SpanAnnotation, SpanID: id(4), Name: "hallucination", Score: fptr(0.9), AnnotatorKind: "LLM"},
		store.Annotation{Kind: store.TraceAnnotation, TraceID: traceIDn(4), Name: "thumbs", Label: sptr("down"), AnnotatorKind: "HUMAN"},
	)
	body := e.mustGet("/projects/bot/prompts")
	contains(t, "prompt versions", body, "By prompt version", `aria-current="true">By prompt version</a>`,
		"Worst first by", ">correctness</a>", ">hallucination</a>", "thumbs",
		`<code class="ver">v10</code></a> <span class="badge warn"`, // the worst by correctness
		">0.75</b>", "correct 100%", "incorrect 100%", "down 100%",
		"1 of those spans have no template version")
	if i, j := strings.Index(body, `data-id="v10"`), strings.Index(body, `data-id="v9"`); i < 0 || j < 0 || i > j {
		t.Error("v10 (mean correctness 0) is not listed before v9 (0.75)")
	}
	// Every figure opens the spans behind it.
	link := func(expr string) string {
		return "/projects/bot/spans?" + url.Values{"filter": {expr}}.Encode()
	}
	contains(t, "cell links", html.UnescapeString(body),
		link("span_kind == 'LLM' and llm.prompt_template.version == 'v10' and (annotations['correctness'].label == 'incorrect' or trace_annotations['correctness'].label == 'incorrect')"),
		link("span_kind == 'LLM' and llm.prompt_template.version == 'v9' and (annotations['correctness'].score is not None or trace_annotations['correctness'].score is not None)"),
		link("span_kind == 'LLM' and llm.prompt_template.version == 'v9'"))
	// The two newest versions compared: their templates' diff, a verdict
	// per score, and the mean's interval (v9: 1 and 0.5, sd 0.354, so
	// ±12.71·0.354/√2 = 3.18 on 1 degree of freedom).
	contains(t, "comparison", body, `<h2>Compare</h2>`, "v10 vs v9: −0.75 correctness, n 1/2, too few scores to tell",
		`<td class="mk">−</td><td class="tx">Answer <mark class="">{question}</mark> using <mark class="">{context}</mark>, <span class="del">v9</span>.`,
		`<span class="ins">v10</span>`, "±3.177", "Welch", `<details data-version="v9" open>`)
	if code, body := e.get("/projects/bot/prompts?a=v9&b=v11"); code != http.StatusBadRequest || !strings.Contains(body, "no version “v9” or “v11”") {
		t.Errorf("compare with an unknown version = %d, want 400 naming it", code)
	}
	// High is bad for hallucination: v10, the only one scored, comes first either way.
	body = e.mustGet("/projects/bot/prompts?sort=score&by=hallucination&dir=desc")
	contains(t, "by hallucination", body, `aria-current="true">High is bad</a>`)
	body = e.mustGet("/projects/bot/prompts?sort=latency")
	if i, j := strings.Index(body, `data-id="v10"`), strings.Index(body, `data-id="v9"`); i > j {
		t.Error("the slower v10 is not first by latency")
	}
	body = e.mustGet("/projects/bot/prompts?by=nonsense")
	contains(t, "unknown annotation", body, "No version has a score named “nonsense”")
	if code, body := e.get("/projects/bot/prompts?sort=bogus"); code != http.StatusBadRequest || !strings.Contains(body, "score, version, calls, latency or cost") {
		t.Errorf("sort=bogus = %d, want 400 listing the orders", code)
	}
	// Outside the range: the teaching empty state.
	body = e.mustGet("/projects/bot/prompts?range=custom&start=2020-01-01T00:00&end=2020-01-02T00:00")
	contains(t, "no versions", body, "llm.prompt_template.version", "using_prompt_template")
}
