package browser_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/loupe-dev/loupe/e2e/e2etest"
)

// TestFilterAnnotateAndCost is a person narrowing the lists down with the
// filter bar and search, judging spans and traces, and reading what calls
// cost.
func TestFilterAnnotateAndCost(t *testing.T) { onEachBackend(t, filterAnnotateAndCost) }

func filterAnnotateAndCost(t *testing.T, srv *e2etest.Server) {
	p := newPage(t, srv.HTTPURL)
	app := newEmitter(t, srv.HTTPURL, "support-bot")
	now := time.Now()
	refund := app.agentRun(now.Add(-40*time.Minute), turn{Question: "What is our refund policy?",
		Answer: "Refunds are accepted within 30 days with the receipt.", Session: "conv-42", User: "alice@acme.test"})
	app.agentRun(now.Add(-30*time.Minute), turn{Question: "Who pays for return shipping?",
		Answer: "Return shipping is free for members.", Session: "conv-42", User: "alice@acme.test"})
	app.failingRun(now.Add(-20*time.Minute), turn{Question: "Summarise my last five orders", Session: "conv-77", User: "bob@acme.test"})
	unpriced := app.unpricedCall(now.Add(-10 * time.Minute))
	app.flush()

	// The filter bar: an expression narrows the spans, kept in the URL.
	p.open("/projects/support-bot/spans")
	p.key("/")
	p.waitFor("/ to focus the filter", `document.activeElement?.name === "filter"`, 5*time.Second)
	// The browser keeps the "/" out of the field; the synthetic key event
	// may not, so start from an empty field.
	p.do("empty the filter", chromedp.Evaluate[chromedp.Void](`document.querySelector('.fb-expr input').value = ""`))
	p.do("type a filter", chromedp.SendKeys(chromedp.CSS(`.fb-expr input`), "span_kind == 'LLM' and latency_ms > 4000"+kb.Enter))
	p.waitFor("the filtered list", `new URLSearchParams(location.search).get("filter") === "span_kind == 'LLM' and latency_ms > 4000"`, 10*time.Second)
	kinds := eval[[]string](p, `[...new Set([...document.querySelectorAll("table.grid tbody .kind")].map(e => e.textContent))]`)
	if fmt.Sprint(kinds) != "[LLM]" {
		t.Errorf("kinds listed by the filter: %v", kinds)
	}
	// Two calls of 4.2 s and 12 s per agent run, and the 7.9 s failing call.
	if n := eval[int](p, `document.querySelectorAll("table.grid tbody tr").length`); n != 5 {
		t.Errorf("%d slow LLM spans listed, want 5", n)
	}
	p.see(".fb-note", "Spans that match")
	p.shot("13-filter")

	// A misspelt name: the error and its hint show as it is typed, and
	// after Enter the list stays usable, unfiltered, with the place marked.
	p.do("clear the filter", chromedp.Evaluate[chromedp.Void](`document.querySelector('.fb-expr input').value = ""`))
	p.do("type a misspelt filter", chromedp.SendKeys(chromedp.CSS(`.fb-expr input`), "latncy_ms > 4000"))
	p.waitFor("the inline error", `!document.querySelector("[data-filter-error]").hidden`, 10*time.Second)
	p.see("[data-filter-error]", "unknown name 'latncy_ms'", "did you mean 'latency_ms'?")
	p.key(kb.Enter)
	p.waitFor("the page with the bad filter", `location.search.includes("latncy")`, 10*time.Second)
	p.see("[data-filter-error]", "at column 1", "did you mean 'latency_ms'?", "not applied")
	p.see("[data-filter-error] mark", "latncy_ms")
	if n := eval[int](p, `document.querySelectorAll("table.grid tbody tr").length`); n < 10 {
		t.Errorf("with a bad filter %d spans are listed, want the whole list", n)
	}
	if sel := eval[string](p, `(i => i.value.slice(i.selectionStart, i.selectionEnd))(document.querySelector('.fb-expr input'))`); sel != "latncy_ms" {
		t.Errorf("the cursor selects %q, want the misspelt name", sel)
	}
	p.shot("14-filter-error")

	// Examples fill the input, without applying it.
	p.click(".fb-examples summary")
	p.see(".fb-examples .menu", "slow LLM calls", "annotations['correctness'].label == 'incorrect'")
	p.shot("15-filter-examples")
	p.click(`.fb-examples a[data-example="status_code == 'ERROR'"]`)
	if v := eval[string](p, `document.querySelector('.fb-expr input').value`); v != "status_code == 'ERROR'" {
		t.Errorf("the example filled %q", v)
	}
	p.key(kb.Enter)
	p.waitFor("the errors", `location.search.includes("ERROR")`, 10*time.Second)
	p.see("table.grid tbody", "llm.chat")

	// Full-text search; the index may lag a moment behind ingest.
	p.openUntil("/projects/support-bot/spans?q=pays", `document.querySelectorAll("table.grid tbody tr").length > 0`, 20*time.Second)
	p.see("table.grid tbody", "Who pays for return shipping?")
	if strings.Contains(p.text("table.grid tbody"), "What is our refund policy?") {
		t.Error("a search for pays lists the refund conversation")
	}
	p.shot("16-search")

	// On the Traces tab the filter is Phoenix's trace filter: input is the
	// root span's.
	p.open("/projects/support-bot?filter=" + url.QueryEscape("'refund' in input"))
	p.see(".fb-note", "Traces that match")
	if ids := eval[[]string](p, `[...document.querySelectorAll("table.grid tbody tr")].map(r => r.dataset.id)`); fmt.Sprint(ids) != "["+refund+"]" {
		t.Errorf("traces whose root mentions refund: %v, want [%s]", ids, refund)
	}

	// Judge the first LLM call: thumbs up, a label with a score, a note.
	llm := spanOf(p, refund)
	p.open("/projects/support-bot/traces/" + refund + "?span=" + llm + "&tab=annotations")
	p.click(`.detail .thumb[value="up"]`)
	p.waitFor("the thumbs up", `document.querySelector('.detail .thumb[value="up"]')?.getAttribute("aria-pressed") === "true"`, 10*time.Second)
	p.see(".detail .annot-list", "thumbs", "up", "HUMAN", "APP")
	p.do("fill the label form", chromedp.SendKeys(chromedp.CSS(`.detail .annot-form input[name="name"]`), "correctness"),
		chromedp.SendKeys(chromedp.CSS(`.detail .annot-form input[name="label"]`), "incorrect"),
		chromedp.SendKeys(chromedp.CSS(`.detail .annot-form input[name="score"]`), "0"),
		chromedp.SendKeys(chromedp.CSS(`.detail .annot-form textarea[name="explanation"]`), "Quotes the returns page, not the refunds one."))
	p.click(`.detail .annot-form button[type="submit"]`)
	p.waitFor("the label", `document.querySelector(".detail .annot-list")?.textContent.includes("incorrect")`, 10*time.Second)
	p.do("write a note", chromedp.SendKeys(chromedp.CSS(`.detail textarea[name="note"]`), "Retrieval ranked the right document second."))
	p.click(`.detail form:has(textarea[name="note"]) button`)
	p.waitFor("the note", `document.querySelector(".detail .annot-list")?.textContent.includes("ranked the right document")`, 10*time.Second)
	p.see(`.dtabs a[data-tab="annotations"]`, "3")
	if !strings.Contains(p.location(), "span="+llm) {
		t.Error("annotating moved away from the span")
	}
	p.shot("17-span-annotations")

	// The trace itself: thumbs down in its header.
	p.click(`.thead .thumb[value="down"]`)
	p.waitFor("the trace thumbs down", `document.querySelector('.thead .thumb[value="down"]')?.getAttribute("aria-pressed") === "true"`, 10*time.Second)
	p.see(".thead .annot-pop summary", "Annotate", "1")
	p.click(".thead .annot-pop summary")
	p.see(".thead .annot-menu", "Annotations on this trace", "thumbs", "down")
	p.shot("18-trace-annotations")

	// The project header sums the judgements up; a label filters by it.
	p.open("/projects/support-bot")
	p.see(".asums", "correctness", "incorrect", "100%", "mean 0", "thumbs", "up")
	p.see(`tr[data-id="`+refund+`"] td.anns`, "thumbs")
	p.shot("19-project-annotations")
	p.click(`.asum-label[href*="incorrect"]`)
	p.waitFor("the spans judged incorrect", `location.pathname.endsWith("/spans") && location.search.includes("incorrect")`, 10*time.Second)
	if v := eval[string](p, `document.querySelector('.fb-expr input').value`); v != "annotations['correctness'].label == 'incorrect'" {
		t.Errorf("the summary filled the filter with %q", v)
	}
	if ids := eval[[]string](p, `[...document.querySelectorAll("table.grid tbody tr")].map(r => r.dataset.id)`); fmt.Sprint(ids) != "["+llm+"]" {
		t.Errorf("spans judged incorrect: %v, want [%s]", ids, llm)
	}

	// What it cost: the breakdown of a priced call, and an unpriced one.
	p.open("/projects/support-bot/traces/" + refund + "?span=" + llm)
	p.see(".detail .costbox", "Cost", "computed", "gpt-4o-mini", "input", "cache read", "output", "/ 1M")
	p.shot("20-cost-breakdown")
	p.open("/projects/support-bot/traces/" + unpriced)
	p.selectSpan(`.row[aria-level="2"]`)
	p.see(".detail .noprice", "No price for model acme-house-model-7", "not $0", "Add a price")
	if href := eval[string](p, `document.querySelector(".detail .noprice a").getAttribute("href")`); href != "/prices?model=acme-house-model-7" {
		t.Errorf("the price link is %q", href)
	}
	p.see(".thead", "no price")
	p.shot("21-no-price")

	// The project page: top models and prompt versions by cost.
	p.open("/projects/support-bot")
	p.see(".costpanels", "Top models by cost", "gpt-4o-mini", "acme-house-model-7", "no price", "Cost by prompt version", "v12")
	// "Cost by tool" follows the page; no tool here called an LLM, so its
	// placeholder goes away.
	p.waitFor("the tool panel's placeholder to be answered", `!document.querySelector(".costpanels [data-defer]")`, 10*time.Second)
	if got := p.text(".costpanels"); strings.Contains(got, "Could not load") || strings.Contains(got, "Reading tool calls") {
		t.Errorf("the cost panels show %q", got)
	}
	p.see(".phead", "unpriced")
	p.darkMode(true)
	p.open("/projects/support-bot")
	p.shot("22-project-dark")
	p.darkMode(false)
}

// unpricedCall emits a trace whose LLM call uses a model no price covers.
func (e *emitter) unpricedCall(start time.Time) string {
	ms := time.Millisecond
	ctx, endRoot := e.span(context.Background(), "digest.nightly", start, 2100*ms, kind("CHAIN"),
		attribute.String("input.value", "Summarise yesterday's tickets"), attribute.String("output.value", "12 tickets, 3 about refunds"))
	traceID := trace.SpanContextFromContext(ctx).TraceID().String()
	_, end := e.span(ctx, "llm.complete", start.Add(100*ms), 1900*ms, kind("LLM"),
		attribute.String("llm.model_name", "acme-house-model-7"), attribute.String("llm.provider", "acme"),
		attribute.String("llm.prompt_template.version", "v7"),
		attribute.String("llm.input_messages.0.message.role", "user"),
		attribute.String("llm.input_messages.0.message.content", "Summarise yesterday's tickets"),
		attribute.Int("llm.token_count.prompt", 800), attribute.Int("llm.token_count.completion", 120),
		attribute.Int("llm.token_count.total", 920))
	end()
	endRoot()
	return traceID
}

// openUntil opens path again and again until cond holds: for what the
// server makes visible a moment after it stored it, as the search index.
func (p *page) openUntil(path, cond string, timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		p.open(path)
		if eval[bool](p, cond) {
			return
		}
		if time.Now().After(deadline) {
			p.shot("failed-open-until")
			p.t.Fatalf("%s: %s not true after %v", path, cond, timeout)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
