package browser_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/loupe-dev/loupe/e2e/e2etest"
)

// TestMetricsAndPromptVersions is a person watching a project over the last
// hour, then asking which prompt version does worst.
func TestMetricsAndPromptVersions(t *testing.T) { onEachBackend(t, metricsAndPromptVersions) }

func metricsAndPromptVersions(t *testing.T, srv *e2etest.Server) {
	p := newPage(t, srv.HTTPURL)
	app := newEmitter(t, srv.HTTPURL, "support-bot")
	now := time.Now()

	// Three prompt versions over the last hour: v2 is slow, wrong and fails
	// now and then.
	type call struct {
		version string
		score   float64
		failed  bool
	}
	calls := []call{
		{"v1", 1, false}, {"v1", 1, false}, {"v1", 0.5, false}, {"v1", 1, false},
		{"v2", 0, true}, {"v2", 0.5, false}, {"v2", 0, false}, {"v2", 0, true},
		{"v3", 1, false}, {"v3", 0.5, false}, {"v3", 1, false},
	}
	var anns []map[string]any
	wantOK, wantErr := 0, 0
	for i, c := range calls {
		at := now.Add(-55*time.Minute + time.Duration(i)*5*time.Minute)
		spanID := app.versionedCall(at, c.version, c.failed)
		anns = append(anns, map[string]any{"span_id": spanID, "name": "correctness", "annotator_kind": "LLM",
			"result": map[string]any{"score": c.score}})
		if c.failed {
			wantErr++
		} else {
			wantOK++
		}
	}
	// And a quieter week before.
	for d := 1; d <= 6; d++ {
		for i := range d%3 + 1 {
			app.versionedCall(now.Add(-time.Duration(d)*24*time.Hour+time.Duration(i)*time.Hour), "v1", d == 4 && i == 0)
		}
	}
	app.flush()
	postJSON(t, srv.HTTPURL+"/v1/span_annotations?sync=true", map[string]any{"data": anns})

	// The Metrics tab: six charts over the hour, in buckets of 5 minutes.
	p.open("/projects/support-bot?range=1h")
	p.click(`.tabs a[href^="/projects/support-bot/metrics"]`)
	p.waitFor("the Metrics tab", `location.pathname === "/projects/support-bot/metrics"`, 10*time.Second)
	p.see(".toolbar", "buckets of 5 min (auto), UTC")
	titles := eval[[]string](p, `[...document.querySelectorAll(".chart h3")].map(h => h.textContent)`)
	if got := strings.Join(titles, ", "); got != "Traces, Error rate, Latency, Tokens, Cost, Annotation scores" {
		t.Errorf("charts: %s", got)
	}
	// Every trace is in one bar: the bars' titles add up to the traces sent.
	sum := func(class string) int {
		return eval[int](p, `[...document.querySelectorAll('.chart[data-chart="Traces"] rect.cbar.`+class+` title')]
			.reduce((n, t) => n + Number(t.textContent.split(": ").pop().replace(/\s/g, "")), 0)`)
	}
	if ok, errs := sum("s-ok"), sum("s-err"); ok != wantOK || errs != wantErr {
		t.Errorf("trace bars add up to %d OK and %d errors, want %d and %d", ok, errs, wantOK, wantErr)
	}
	p.see(`.chart[data-chart="Traces"] .legend`, "OK", "Error", "Unset")
	p.see(`.chart[data-chart="Traces"] .unit`, "started per 5 min")
	if ticks := eval[[]string](p, `[...document.querySelectorAll('.chart[data-chart="Traces"] .xticks text')].map(t => t.textContent)`); len(ticks) < 3 || !strings.Contains(strings.Join(ticks, " "), ":") {
		t.Errorf("time axis labels: %v", ticks)
	}
	if ticks := eval[[]string](p, `[...document.querySelectorAll('.chart[data-chart="Latency"] .yticks text')].map(t => t.textContent)`); len(ticks) < 3 || !strings.HasSuffix(ticks[len(ticks)-1], " s") {
		t.Errorf("latency axis labels: %v", ticks)
	}
	if n := eval[int](p, `document.querySelectorAll('.chart[data-chart="Latency"] .series').length`); n != 3 {
		t.Errorf("%d latency lines, want p50, p90 and p99", n)
	}
	p.see(`.chart[data-chart="Annotation scores"] .legend`, "correctness")
	if n := eval[int](p, `document.querySelectorAll('.chart[data-chart="Annotation scores"] circle.pt').length`); n != len(calls) {
		t.Errorf("%d score points, want one per bucket with a call (%d)", n, len(calls))
	}
	p.see(`.chart[data-chart="Cost"] .unit`, "USD")
	p.shot("30-metrics")

	// Hovering a bucket shows all its values at once.
	hover(p, `.chart[data-chart="Traces"] rect.cbar.s-err`)
	p.waitFor("the tooltip", `!!document.querySelector('.chart[data-chart="Traces"] .chart-tip:not([hidden])')`, 5*time.Second)
	p.see(`.chart[data-chart="Traces"] .chart-tip`, "UTC", "OK:", "Error: 1", "Unset: 0")
	p.shot("31-metrics-hover")

	// One click to the prompt versions: v2 is the worst by correctness.
	p.click(`.subnav a[href*="/prompts"]`)
	p.waitFor("the prompt versions", `location.pathname === "/projects/support-bot/prompts"`, 10*time.Second)
	rows := eval[[]string](p, `[...document.querySelectorAll("table.prompts tbody tr")].map(r => r.dataset.id)`)
	if strings.Join(rows, " ") != "v2 v3 v1" {
		t.Errorf("versions worst first: %v, want v2 (mean correctness 0.125), v3 (0.833), v1 (0.875)", rows)
	}
	p.see(`tr[data-id="v2"]`, "worst", "0.125", "4")
	p.see(`tr[data-id="v1"]`, "0.875")
	p.see("table.prompts thead", "correctness", "LLM calls", "p50", "Cost / call")
	p.shot("32-prompt-versions")

	// The week: buckets of 6 hours.
	p.open("/projects/support-bot/metrics?range=7d")
	p.see(".toolbar", "buckets of 6 h (auto), UTC")
	if ticks := eval[string](p, `document.querySelector('.chart[data-chart="Traces"] .xticks').textContent`); !regexp.MustCompile(`[A-Z][a-z]{2} \d+`).MatchString(ticks) {
		t.Errorf("a week's time axis shows no dates: %q", ticks)
	}
	p.shot("33-metrics-7d")

	p.darkMode(true)
	p.open("/projects/support-bot/metrics?range=1h")
	p.shot("34-metrics-dark")
	p.darkMode(false)
}

// TestPricesAndStorage is a person giving a house model its price, seeing
// the stored costs recomputed, and bounding what the database keeps.
func TestPricesAndStorage(t *testing.T) {
	srv := e2etest.Start(t, e2etest.Build(t))
	p := newPage(t, srv.HTTPURL)
	app := newEmitter(t, srv.HTTPURL, "digests")
	traceID := app.houseModelCall(time.Now().Add(-20 * time.Minute))
	app.agentRun(time.Now().Add(-10*time.Minute), turn{Question: "What is our refund policy?", Answer: "30 days."})
	app.flush()

	p.open("/")
	p.click(`.sitenav a[href="/prices"]`)
	p.waitFor("the prices page", `location.pathname === "/prices"`, 10*time.Second)
	row := `tr[data-id="acme-house-7b"]`
	p.see(row, "acme-house-7b", "No price", "Add one")
	if cls := eval[string](p, `document.querySelector('`+row+`').className`); cls != "noprice-row" {
		t.Errorf("unpriced model row class = %q, want noprice-row", cls)
	}
	p.see(`tr[data-id="gpt-4o-mini"]`, "gpt-4o-mini", "$0.15", "built-in", "openai.com")
	p.shot("35-prices")

	p.click(row + ` a.btn`)
	p.waitFor("the filled-in form", `document.querySelector('input[name="name"]').value === "acme-house-7b"`, 10*time.Second)
	// A mistake first: the page says what is wrong, next to the field.
	p.do("type a bad rate", chromedp.SendKeys(chromedp.CSS(`input[name="rate_input"]`), "two"))
	p.do("submit", chromedp.Click(chromedp.CSS(`.priceform button[type="submit"]`)))
	p.waitFor("the error", `!!document.querySelector(".formerr")`, 10*time.Second)
	p.see(`label:has(input[name="rate_input"]) .ferr`, "Not a number")
	p.see(`label:has(input[name="rate_output"]) .ferr`, "Required")
	p.shot("36-price-form-error")
	p.do("fix the rates",
		chromedp.SetValue(chromedp.CSS(`input[name="rate_input"]`), "2"),
		chromedp.SetValue(chromedp.CSS(`input[name="rate_output"]`), "6"),
		chromedp.SetValue(chromedp.CSS(`input[name="source"]`), "https://acme.test/pricing"),
		chromedp.Click(chromedp.CSS(`.priceform button[type="submit"]`)))
	p.waitFor("the saved price", `location.search.includes("saved=acme-house-7b")`, 10*time.Second)
	p.see(".flash", "Saved the price of acme-house-7b")
	p.waitFor("the recompute to finish", `document.querySelector(".recompute")?.textContent.includes("Last recompute")`, 20*time.Second)
	p.see(".recompute", "acme-house-7b", "1 span priced again, 1 changed")
	p.see(row, "$2.00", "$6.00", "yours", "acme.test")
	if cls := eval[string](p, `document.querySelector('`+row+`').className`); cls != "" {
		t.Errorf("the priced model is still marked: %q", cls)
	}
	p.see(".userprices", "acme-house-7b", "Edit", "Remove")
	p.shot("37-prices-saved")

	// The trace's cost: 800 prompt tokens at $2/M and 120 completion at $6/M.
	p.open("/projects/digests/traces/" + traceID)
	p.see(".thead", "$0.00232")
	p.shot("38-trace-cost")

	// Storage: what is held, and a retention policy for one project.
	p.open("/prices")
	p.click(`.sitenav a[href="/storage"]`)
	p.waitFor("the storage page", `location.pathname === "/storage"`, 10*time.Second)
	p.see(".storage-stats", "Database", "Traces", "2", "Spans")
	p.see(`tr[data-id="digests"]`, "digests", "default", "Keep everything")
	if n := eval[int](p, `document.querySelectorAll('.chart[data-chart="Spans per day"] rect.cbar').length`); n < 1 || n > 2 {
		t.Errorf("%d growth bars, want today's (and yesterday's, just after midnight)", n)
	}
	p.do("type a policy",
		chromedp.SetValue(chromedp.CSS(`tr[data-id="digests"] input[name="max_days"]`), "30"),
		chromedp.SetValue(chromedp.CSS(`tr[data-id="digests"] input[name="max_traces"]`), "100000"),
		chromedp.Click(chromedp.CSS(`tr[data-id="digests"] button[value="save"]`)))
	p.waitFor("the saved policy", `location.search.includes("saved=digests")`, 10*time.Second)
	p.see(".flash", "Saved the retention policy of digests")
	p.see(`tr[data-id="digests"]`, "Keep 30 days, at most the newest 100 000 traces", "Use default")
	var policy struct {
		Data struct {
			MaxDays   float64 `json:"max_days"`
			MaxTraces int64   `json:"max_traces"`
			Inherited bool    `json:"inherited"`
		}
	}
	srv.GetJSON(t, "/v1/projects/digests/retention", &policy)
	if policy.Data.MaxDays != 30 || policy.Data.MaxTraces != 100000 || policy.Data.Inherited {
		t.Errorf("stored policy = %+v, want 30 days and 100 000 traces of its own", policy.Data)
	}
	p.shot("39-storage")
}

// versionedCall emits a request answered by an LLM call using a prompt
// template version, and returns the LLM span's id.
func (e *emitter) versionedCall(start time.Time, version string, failed bool) string {
	ms := time.Millisecond
	slow := map[string]time.Duration{"v1": 1200, "v2": 3800, "v3": 900}[version] * ms
	ctx, endRoot := e.span(context.Background(), "answer", start, slow+200*ms, kind("CHAIN"),
		attribute.String("input.value", "Where is my order?"))
	trace.SpanFromContext(ctx).SetStatus(codes.Ok, "")
	_, s := e.tr.Start(ctx, "llm.chat", trace.WithTimestamp(start.Add(100*ms)), trace.WithAttributes(kind("LLM"),
		attribute.String("llm.model_name", "gpt-4o-mini"), attribute.String("llm.provider", "openai"),
		attribute.String("llm.prompt_template.template", "You answer order questions for {company}."),
		attribute.String("llm.prompt_template.version", version),
		attribute.Int("llm.token_count.prompt", 900), attribute.Int("llm.token_count.completion", 80),
		attribute.Int("llm.token_count.total", 980), attribute.Int("llm.token_count.prompt_details.cache_read", 512)))
	spanID := s.SpanContext().SpanID().String()
	if failed {
		s.SetStatus(codes.Error, "upstream timeout")
	}
	s.End(trace.WithTimestamp(start.Add(100*ms + slow)))
	endRoot()
	return spanID
}

// houseModelCall emits a trace whose LLM call uses a model no built-in
// price covers, and returns the trace id.
func (e *emitter) houseModelCall(start time.Time) string {
	ms := time.Millisecond
	ctx, endRoot := e.span(context.Background(), "digest.daily", start, 2100*ms, kind("CHAIN"),
		attribute.String("input.value", "Summarise yesterday's tickets"))
	traceID := trace.SpanContextFromContext(ctx).TraceID().String()
	_, end := e.span(ctx, "llm.complete", start.Add(100*ms), 1900*ms, kind("LLM"),
		attribute.String("llm.model_name", "acme-house-7b"),
		attribute.Int("llm.token_count.prompt", 800), attribute.Int("llm.token_count.completion", 120),
		attribute.Int("llm.token_count.total", 920))
	end()
	endRoot()
	return traceID
}

// hover moves the mouse to the middle of the element sel names.
func hover(p *page, sel string) {
	p.t.Helper()
	box := eval[[]float64](p, `(r => [r.x + r.width / 2, r.y + r.height / 2])(document.querySelector('`+sel+`').getBoundingClientRect())`)
	p.do("hover "+sel, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, box[0]-1, box[1]), chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, box[0], box[1]))
}

func postJSON(t *testing.T, url string, body any) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		var msg bytes.Buffer
		msg.ReadFrom(res.Body)
		t.Fatalf("POST %s = %d: %s", url, res.StatusCode, msg.String())
	}
}
