package browser_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/loupe-dev/loupe/e2e/e2etest"
)

// bigRun emits an agent run of 5,253 spans shaped like the one a person got
// lost in: a chain fetches 2,000 tickets one by one (tickets 4700 and 5650
// time out), then 50 steps each call a model, search, retrieve, embed and
// score 60 documents; one score in step 37 fails. Step 42 asks about the
// blue umbrella. It returns the trace ID.
func (e *emitter) bigRun(start time.Time) string {
	ms := time.Millisecond
	at := func(n int) time.Time { return start.Add(time.Duration(n) * ms) }
	fail := func(ctx context.Context, name string, t0 time.Time, d time.Duration, typ, msg string, attrs ...attribute.KeyValue) {
		_, s := e.tr.Start(ctx, name, trace.WithTimestamp(t0), trace.WithAttributes(attrs...))
		s.RecordError(errors.New(msg), trace.WithAttributes(attribute.String("exception.type", typ)), trace.WithTimestamp(t0.Add(d)))
		s.SetStatus(codes.Error, msg)
		s.End(trace.WithTimestamp(t0.Add(d)))
	}
	sent := 0
	ended := func() {
		// The SDK's queue holds 2,048 spans: flush before it drops any.
		if sent++; sent%1000 == 0 {
			e.flush()
		}
	}
	ctx, endRoot := e.span(context.Background(), "agent.run", start, 1_130_000*ms, kind("AGENT"),
		attribute.String("input.value", "Triage the support queue"))
	traceID := trace.SpanContextFromContext(ctx).TraceID().String()
	_, end := e.span(ctx, "plan", at(10), 2000*ms, kind("LLM"), attribute.String("llm.model_name", "gpt-4o-mini"))
	end()
	tctx, endTickets := e.span(ctx, "load_tickets", at(2100), 125_000*ms, kind("CHAIN"))
	for i := range 2000 {
		attrs := []attribute.KeyValue{kind("TOOL"), attribute.String("tool.name", "fetch_ticket"),
			attribute.String("input.value", fmt.Sprintf(`{"ticket":%d}`, 4000+i))}
		d := time.Duration(40+i%25) * ms
		if i == 700 || i == 1650 {
			fail(tctx, "fetch_ticket", at(2200+i*60), d, "TimeoutError", fmt.Sprintf("ticket service did not answer for ticket %d", 4000+i), attrs...)
		} else {
			_, end := e.span(tctx, "fetch_ticket", at(2200+i*60), d, attrs...)
			end()
		}
		ended()
	}
	endTickets()
	for st := range 50 {
		t0 := 130_000 + st*20_000
		sctx, endStep := e.span(ctx, "step", at(t0), 19_000*ms, kind("CHAIN"))
		q := fmt.Sprintf("Which tickets are about order %d?", 9000+st)
		if st == 42 {
			q = "Which invoice mentions the blue umbrella?"
		}
		_, end := e.span(sctx, "llm.chat", at(t0+10), 4000*ms, kind("LLM"), attribute.String("llm.model_name", "gpt-4o-mini"), attribute.String("input.value", q))
		end()
		toolCtx, endTool := e.span(sctx, "tool.search_docs", at(t0+4100), 14_000*ms, kind("TOOL"), attribute.String("tool.name", "search_docs"))
		rctx, endRet := e.span(toolCtx, "retrieval", at(t0+4200), 13_000*ms, kind("RETRIEVER"))
		_, end = e.span(rctx, "embed.query", at(t0+4250), 300*ms, kind("EMBEDDING"))
		end()
		for j := range 60 {
			if st == 37 && j == 45 {
				fail(rctx, "score_doc", at(t0+4600+j*200), 150*ms, "ValueError", "score out of range: 1.7", kind("RERANKER"))
			} else {
				_, end := e.span(rctx, "score_doc", at(t0+4600+j*200), 150*ms, kind("RERANKER"))
				end()
			}
			ended()
		}
		endRet()
		endTool()
		endStep()
		sent += 5
	}
	endRoot()
	return traceID
}

// TestFindTheFailureInABigTrace is a person in a 5,253-span trace looking
// for what failed: the trace opens on the first failure, n and N step to
// the others, errors-only shows just them, a search finds a question no
// row shows, repeated siblings are folded, and the waterfall zooms and
// resizes with labels that never collide.
func TestFindTheFailureInABigTrace(t *testing.T) { onEachBackend(t, findTheFailureInABigTrace) }

func findTheFailureInABigTrace(t *testing.T, srv *e2etest.Server) {
	p := newPage(t, srv.HTTPURL)
	app := newEmitter(t, srv.HTTPURL, "triage-bot")
	id := app.bigRun(time.Now().Add(-time.Hour))
	app.flush()
	page := "/projects/triage-bot/traces/" + id
	p.openUntil(page, `document.querySelector(".thead")?.textContent.includes("5 253") || document.querySelector(".thead")?.textContent.includes("5\u202f253")`, 30*time.Second)

	selName := `document.querySelector('.row[aria-selected="true"] .span-name')?.textContent`
	detailHas := func(what, text string) {
		t.Helper()
		p.waitFor(what, `(document.querySelector(".detail")?.textContent || "").includes(`+jsString(text)+`)`, 10*time.Second)
	}
	// It opens on the first failure, 700 rows down a fold of 2,000, in view.
	detailHas("the first failing fetch", "ticket 4700")
	if !eval[bool](p, `(r => { const b = r.getBoundingClientRect(), t = document.querySelector(".treepane").getBoundingClientRect(); return b.top >= t.top && b.bottom <= t.bottom })(document.querySelector('.row[aria-selected="true"]'))`) {
		t.Error("the selected failing span is not in view")
	}
	p.see(".row.fold", "fetch_ticket", "×2 000", "2 failed", "p95")
	p.see(".tree", "step", "×50")
	if n := eval[int](p, `document.querySelectorAll(".tree .row").length`); n > 520 {
		t.Errorf("%d rows drawn, want about 500 at most", n)
	}
	p.shot("40-bigtrace")

	// n and N step through the errors, beyond every "show more" row.
	p.key("n")
	detailHas("n to the second failing fetch", "ticket 5650")
	p.see("[data-step-pos]", "Error 2 of 3")
	p.key("n")
	detailHas("n to the failing score", "score out of range")
	if got := eval[string](p, selName); got != "score_doc" {
		t.Errorf("n selects %q, want score_doc", got)
	}
	p.shot("41-bigtrace-next-error")
	p.key("n")
	detailHas("n round again to the first", "ticket 4700")
	p.key("N")
	detailHas("N back to the failing score", "score out of range")

	// Errors only: the failures and their ancestors, nothing else.
	p.click(`[data-view-link="errors"]`)
	p.waitFor("the errors-only view", `new URLSearchParams(location.search).get("view") === "errors" && !!document.querySelector(".tree .row")`, 10*time.Second)
	names := eval[[]string](p, `[...document.querySelectorAll(".tree .row .span-name")].map(e => e.textContent)`)
	want := "agent.run load_tickets fetch_ticket fetch_ticket step tool.search_docs retrieval score_doc"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("errors only shows %q, want %q", got, want)
	}
	p.shot("42-bigtrace-errors-only")
	// A search match errors-only leaves out opens among all spans.
	p.do("search from errors only", chromedp.SendKeys(chromedp.CSS(`[data-trace-search]`), "blue umbrella\r"))
	p.waitFor("all spans again", `!location.search.includes("view=") && !!document.querySelector(".tree .row.fold")`, 10*time.Second)
	detailHas("the match among all spans", "Which invoice mentions the blue umbrella?")
	p.click(`[data-action="clear-search"]`)

	// A search over every span finds the question in step 42, which no row
	// shows, and the tree opens to it.
	p.do("search the trace", chromedp.SendKeys(chromedp.CSS(`[data-trace-search]`), "blue umbrella\r"))
	p.waitFor("the search results", `!!document.querySelector(".tsr-list a")`, 10*time.Second)
	p.see(".tsr-note", "1 span matches", "blue umbrella")
	p.see(".tsr-list", "llm.chat", "input.value", "Which invoice mentions the blue umbrella?")
	detailHas("the match selected", "Which invoice mentions the blue umbrella?")
	if got := eval[string](p, selName); got != "llm.chat" {
		t.Errorf("the search selects %q, want llm.chat", got)
	}
	if !strings.Contains(p.location(), "find=blue+umbrella") {
		t.Errorf("the search is not in the URL: %s", p.location())
	}
	p.shot("43-bigtrace-search")
	// With a search, n steps through its matches.
	p.click(`[data-action="clear-search"]`)
	p.do("search exceptions", chromedp.SendKeys(chromedp.CSS(`[data-trace-search]`), "did not answer\r"))
	p.waitFor("two matches", `document.querySelectorAll(".tsr-list a").length === 2`, 10*time.Second)
	detailHas("the first match", "ticket 4700")
	p.key("\r") // Enter again: the next match, as in a find bar
	detailHas("Enter to the second match", "ticket 5650")
	p.key(kb.Escape)
	p.key("n")
	detailHas("n round to the first match", "ticket 4700")
	p.key("n")
	detailHas("n to the second match", "ticket 5650")

	// A fold opens to its members.
	p.click(`[data-action="clear-search"]`)
	p.open(page + "?view=")
	p.click(`.row.fold:has(.span-name[title*="step"]) .twisty`)
	p.waitFor("the steps", `document.querySelectorAll('.tree .row[data-id] .span-name[title="step"]').length === 50`, 10*time.Second)
	if repeated(t) {
		return // the waterfall's zoom and split are the page's own work, the same on every storage
	}

	// The waterfall: ticks never collide, at any width or zoom.
	noOverlap := `(() => { const r = [...document.querySelectorAll(".axis .tick")].map(e => e.getBoundingClientRect()); const ax = document.querySelector(".axis").getBoundingClientRect();
		return r.length > 1 && r.every((b, i) => (i === 0 || b.left >= r[i-1].right + 4) && b.left >= ax.left - 1 && b.right <= ax.right + 1) })()`
	if !eval[bool](p, noOverlap) {
		t.Errorf("tick labels collide: %v", eval[[]string](p, `[...document.querySelectorAll(".axis .tick")].map(e => e.textContent)`))
	}
	before := eval[string](p, `document.querySelector(".axis").textContent`)
	// Drag across the axis to zoom into a stretch of it.
	box := eval[[]float64](p, `(r => [r.left, r.top + r.height / 2, r.width])(document.querySelector(".treehead .axis").getBoundingClientRect())`)
	x0, y, w := box[0]+box[2]*0.3, box[1], box[2]
	p.do("drag across the axis",
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x0, y),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, x0, y, chromedp.ButtonLeft, chromedp.ClickCount(1)),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x0+w*0.1, y, chromedp.ButtonLeft),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x0+w*0.2, y, chromedp.ButtonLeft),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, x0+w*0.2, y, chromedp.ButtonLeft, chromedp.ClickCount(1)))
	p.waitFor("the zoom", `!document.querySelector("[data-action=zoom-reset]").hidden`, 5*time.Second)
	if after := eval[string](p, `document.querySelector(".axis").textContent`); after == before {
		t.Errorf("the axis reads %q after zooming, as before", after)
	}
	if zs := eval[float64](p, `Number(getComputedStyle(document.querySelector(".treepane")).getPropertyValue("--zs"))`); zs < 4 || zs > 6 {
		t.Errorf("zoomed %vx, want about 5x", zs)
	}
	if !eval[bool](p, noOverlap) {
		t.Errorf("tick labels collide when zoomed: %v", eval[[]string](p, `[...document.querySelectorAll(".axis .tick")].map(e => e.textContent)`))
	}
	p.shot("44-bigtrace-zoomed")
	p.click(`[data-action="zoom-in"]`)
	if !eval[bool](p, noOverlap) {
		t.Errorf("tick labels collide zoomed further: %v", eval[[]string](p, `[...document.querySelectorAll(".axis .tick")].map(e => e.textContent)`))
	}
	p.click(`[data-action="zoom-reset"]`)
	p.waitFor("the whole trace", `document.querySelector("[data-action=zoom-reset]").hidden`, 5*time.Second)

	// Drag the waterfall's edge to widen it; the width is kept.
	widthOf := `Math.round(document.querySelector(".treehead .axis").getBoundingClientRect().width)`
	w0 := eval[int](p, widthOf)
	hx := eval[[]float64](p, `(r => [r.left + r.width / 2, r.top + r.height / 2])(document.querySelector(".wf-resize").getBoundingClientRect())`)
	p.do("drag the waterfall's edge",
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, hx[0], hx[1]),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, hx[0], hx[1], chromedp.ButtonLeft, chromedp.ClickCount(1)),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, hx[0]-60, hx[1], chromedp.ButtonLeft),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, hx[0]-120, hx[1], chromedp.ButtonLeft),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, hx[0]-120, hx[1], chromedp.ButtonLeft, chromedp.ClickCount(1)))
	w1 := eval[int](p, widthOf)
	if w1 < w0+100 {
		t.Errorf("the waterfall is %d px wide after dragging its edge 120 px left, was %d", w1, w0)
	}
	if !eval[bool](p, noOverlap) {
		t.Error("tick labels collide after resizing")
	}
	p.open(page)
	p.waitFor("the kept width", widthOf+` >= `+fmt.Sprint(w1-2), 5*time.Second)
	p.shot("45-bigtrace-wide-waterfall")

	p.darkMode(true)
	p.open(page + "?find=" + "did+not+answer")
	p.waitFor("the results", `!!document.querySelector(".tsr-list a")`, 10*time.Second)
	p.shot("46-bigtrace-search-dark")
	p.open(page + "?view=errors")
	p.shot("47-bigtrace-errors-only-dark")
	p.darkMode(false)
}
