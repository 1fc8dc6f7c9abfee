// Package browser_test checks the web UI as a person uses it: the real
// binary, spans sent with the OpenTelemetry Go SDK, and headless Chromium
// clicking through the pages. Each page is saved as a PNG under
// $LOUPE_TEST_OUTPUT/screenshots (default: testdata-out/screenshots).
package browser_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/loupe-dev/loupe/e2e/e2etest"
)

func TestMain(m *testing.M) { e2etest.Main(m) }

func TestDebugAnAgentInTheBrowser(t *testing.T) {
	srv := e2etest.Start(t, e2etest.Build(t))
	p := newPage(t, srv.HTTPURL)
	app := newEmitter(t, srv.HTTPURL, "support-bot")
	now := time.Now()

	// An empty server teaches how to send the first trace, with its real
	// addresses, and opens the project when the first span lands.
	p.open("/")
	p.see("main", "Send your first trace", srv.HTTPURL+"/v1/traces", srv.GRPCAddr, "register(")
	p.click(`[data-tab="go"]`)
	p.see(`[data-panel="go"]`, "loupe.Register(ctx", `loupe.WithProjectName("my-app")`)
	p.click(`[data-tab="python"]`)
	p.shot("01-first-run")
	p.waitFor("the live stream", `document.body.dataset.streaming === "true"`, 5*time.Second)
	first := app.agentRun(now.Add(-40*time.Minute), turn{
		Question: "What is our refund policy?", Answer: "Refunds are accepted within 30 days with the receipt.",
		Session: "conv-42", User: "alice@acme.test", BigOutput: 1 << 20,
	})
	app.flush()
	p.waitFor("the first-run page to open the project", `location.pathname === "/projects/support-bot"`, 15*time.Second)

	// More traffic: a conversation, a failing request, an old trace and a
	// second project.
	app.agentRun(now.Add(-30*time.Minute), turn{Question: "Can I return an opened item?",
		Answer: "Only unused items in their original packaging can be returned.", Session: "conv-42", User: "alice@acme.test"})
	app.agentRun(now.Add(-20*time.Minute), turn{Question: "Who pays for return shipping?",
		Answer: "Return shipping is free for members.", Session: "conv-42", User: "alice@acme.test"})
	failed := app.failingRun(now.Add(-10*time.Minute), turn{Question: "Summarise my last five orders", Session: "conv-77", User: "bob@acme.test"})
	app.chain(now.Add(-3*24*time.Hour), "nightly.reindex", "reindex the help centre")
	app.flush()
	batch := newEmitter(t, srv.HTTPURL, "batch-jobs")
	batch.chain(now.Add(-2*time.Hour), "export.orders", "orders for 2026-11")
	batch.flush()

	// Projects, with their stats.
	p.open("/")
	p.see("table.grid", "support-bot", "batch-jobs")
	p.shot("02-projects")

	// The project: traces newest first, the failing one marked.
	p.click(`a.rowlink[href^="/projects/support-bot"]`)
	p.see(".phead", "support-bot", "Traces", "Latency p50", "Errors")
	p.see("table.grid", "agent.run", "Summarise my last five orders", "alice@acme.test", "conv-42")
	p.see(`tr[data-id="`+failed+`"]`, "1 err")
	if cls := eval[string](p, `document.querySelector('tr[data-id="`+failed+`"]').className`); cls != "err" {
		t.Errorf("failing trace row class = %q, want err", cls)
	}
	p.shot("03-traces")

	// Time ranges: the 3-day-old trace is in the default 7 days, not in 1 day.
	p.see("table.grid", "nightly.reindex")
	p.click(`.range a[href*="range=1d"]`)
	p.waitFor("the 1d range", `location.search.includes("range=1d")`, 5*time.Second)
	if strings.Contains(p.text("main"), "nightly.reindex") {
		t.Error("a 3-day-old trace is listed in the last day")
	}
	p.click(`.range a[href*="range=7d"]`)
	p.see("table.grid", "nightly.reindex")

	// A new trace shows up without a reload.
	p.open("/projects/support-bot")
	p.do("mark the page", chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`))
	live := app.chain(time.Now(), "live.check", "arrived while watching")
	app.flush()
	p.waitFor("the new trace to appear", `!!document.querySelector('tr[data-id="`+live+`"]')`, 15*time.Second)
	if !eval[bool](p, `window.notReloaded === true`) {
		t.Error("the page reloaded to show the new trace")
	}

	// The failing trace: its tree, the error and its ancestors in red.
	p.open("/projects/support-bot/traces/" + failed)
	p.see(".thead", "agent.run", "9.1 s", "1 error")
	p.see(".tree", "agent.run", "llm.chat")
	p.see(".row.err", "llm.chat", "7.9 s")
	if n := eval[int](p, `document.querySelectorAll(".row.err-below").length`); n != 1 {
		t.Errorf("%d rows marked as ancestors of the error, want 1 (the root)", n)
	}
	p.selectSpan(".row.err")
	p.see(".detail .exception", "429 Too Many Requests")
	p.click(`.dtabs a[data-tab="events"]`)
	p.see(`.dpanel[data-panel="events"]`, "openai.RateLimitError", "Traceback")
	p.shot("04-error-span")

	// The full agent run: waterfall, LLM transcript, tool call, tokens.
	p.open("/projects/support-bot/traces/" + first)
	p.see(".thead", "agent.run", "18.4 s")
	p.see(".tree", "llm.chat", "4.2 s", "tool.search_docs", "300 ms", "retrieval", "200 ms", "embed.query")
	p.shot("05-trace")
	p.selectSpan(`.row[aria-level="2"]`) // the first LLM call
	p.see(".detail .dhead", "llm.chat", "4.2 s", "gpt-4o-mini", "1 200", "48", "1 248", "cache read", "1 024", "reasoning")
	p.see(".detail .msg.role-user", "What is our refund policy?")
	p.see(".detail .toolcall", "search_docs", `"query": "refund policy"`)
	p.see(".detail", "Invocation parameters", `"temperature": 0.2`, "Prompt template", "v12")
	if !strings.Contains(p.location(), "span=") {
		t.Error("the selected span is not in the URL")
	}
	p.shot("06-llm-span")

	// Keyboard: j moves to the next span (the tool), k back.
	p.key("j")
	p.waitFor("j to select the tool span", `document.querySelector('.row[aria-selected="true"] .span-name')?.textContent === "tool.search_docs"`, 5*time.Second)
	p.key("k")
	p.waitFor("k to select the LLM span", `document.querySelector('.row[aria-selected="true"] .span-name')?.textContent === "llm.chat"`, 5*time.Second)
	p.key("?")
	p.waitFor("the keys dialog", `document.getElementById("keys").open`, 5*time.Second)
	p.key(kb.Escape)
	p.waitFor("the keys dialog to close", `!document.getElementById("keys").open`, 5*time.Second)

	// The retrieval: documents with score bars; the embedding: dimensions.
	p.selectSpan(`.row[data-depth="2"]`)
	p.see(".detail .docs", "kb-refunds-01", "0.92", "Refunds are accepted within 30 days", "kb-returns-04", "0.71")
	p.shot("07-retriever-span")
	p.selectSpan(`.row[data-depth="3"]`)
	p.see(".detail", "text-embedding-3-small", "1536")

	// A 1 MB tool output opens clipped, and "Show all" fetches the rest.
	p.selectSpan(`.row:has(.span-name[title="tool.fetch_page"])`)
	p.see(".detail .showall", "Show all")
	clipped := eval[int](p, `document.querySelector(".detail .showall").parentElement.querySelector("pre").textContent.length`)
	p.click(".detail .showall")
	p.waitFor("the whole value", `!document.querySelector(".detail .dpanel:not([hidden]) .showall")`, 10*time.Second)
	full := eval[int](p, `Math.max(...[...document.querySelectorAll(".detail .dpanel:not([hidden]) pre")].map(e => e.textContent.length))`)
	if clipped >= 1<<20 || full < 1<<20 {
		t.Errorf("big value: %d characters shown clipped, %d after show all", clipped, full)
	}

	// Attributes are searchable.
	p.click(`.dtabs a[data-tab="attributes"]`)
	p.do("filter attributes", chromedp.SendKeys(chromedp.CSS(`.dpanel[data-panel="attributes"] input.filter`), "tool.name"))
	if n := eval[int](p, `[...document.querySelectorAll(".attrs tr")].filter(r => !r.hidden).length`); n != 1 {
		t.Errorf("%d attribute rows match tool.name, want 1", n)
	}

	// Go to a trace by ID from the top bar, and a helpful 404 for an unknown one.
	p.open("/")
	p.do("type a trace ID", chromedp.SendKeys(chromedp.CSS("#goto"), "  "+strings.ToUpper(first)+kb.Enter))
	p.waitFor("the trace page", `location.pathname === "/projects/support-bot/traces/`+first+`"`, 10*time.Second)
	p.open("/")
	p.do("type an unknown ID", chromedp.SendKeys(chromedp.CSS("#goto"), strings.Repeat("ab", 16)+kb.Enter))
	p.waitFor("the not-found page", `document.title.startsWith("Trace not found")`, 10*time.Second)
	p.see("main", "Trace not found", "32 hex digits", "All projects")
	p.shot("08-trace-not-found")

	// Spans: every span with its kind; filter to LLM spans, to roots.
	p.open("/projects/support-bot/spans")
	// (Compact marks: the whole kind is their title.)
	p.see("table.grid", "RTR", "EMB", "tool.search_docs")
	if !eval[bool](p, `!!document.querySelector('table.grid .kind[title="RETRIEVER"]') && !!document.querySelector('table.grid .kind[title="EMBEDDING"]')`) {
		t.Error("the kind marks do not name the kind on hover")
	}
	p.do("choose LLM", chromedp.Evaluate[chromedp.Void](`(s => { s.value = "LLM"; s.dispatchEvent(new Event("change", {bubbles: true})) })(document.querySelector('select[name="kind"]'))`))
	p.waitFor("the LLM filter", `location.search.includes("kind=LLM")`, 10*time.Second)
	// The URL changes before the filtered list is drawn: wait for the rows.
	p.waitFor("the LLM rows", `(k => k.length > 0 && k.every(x => x === "LLM"))([...document.querySelectorAll("table.grid tbody .kind")].map(e => e.textContent))`, 10*time.Second)
	kinds := eval[[]string](p, `[...new Set([...document.querySelectorAll("table.grid tbody .kind")].map(e => e.textContent))]`)
	if fmt.Sprint(kinds) != "[LLM]" {
		t.Errorf("kinds listed with kind=LLM: %v", kinds)
	}
	p.shot("09-spans")
	p.open("/projects/support-bot/spans?roots=1")
	if n := eval[int](p, `document.querySelectorAll("table.grid tbody tr").length`); n != 6 {
		t.Errorf("%d root spans listed, want 6: one per trace", n)
	}

	// Sessions: the conversation, turn by turn.
	p.open("/projects/support-bot/sessions")
	p.see("table.grid", "conv-42", "What is our refund policy?", "Return shipping is free for members.", "alice@acme.test")
	p.shot("10-sessions")
	p.click(`tr[data-id="conv-42"] a.rowlink`)
	p.see(".conversation", "Turn 1", "What is our refund policy?", "Turn 3", "Return shipping is free for members.")
	if n := eval[int](p, `document.querySelectorAll(".conversation .turn").length`); n != 3 {
		t.Errorf("%d turns, want 3", n)
	}
	p.shot("11-session")

	// The same trace in the dark theme.
	p.darkMode(true)
	p.open("/projects/support-bot/traces/" + first + "?span=" + spanOf(p, first))
	p.shot("12-trace-dark")
	p.darkMode(false)
}

// spanOf is the span id of the first LLM call of a trace, read from its page.
func spanOf(p *page, traceID string) string {
	p.open("/projects/support-bot/traces/" + traceID)
	return eval[string](p, `document.querySelector('.row[aria-level="2"]').dataset.id`)
}
