package web

import (
	"context"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/pricing"
	"github.com/loupe-dev/loupe/internal/span"
)

// writePriced stores spans priced with the built-in price table, as the
// ingest pipeline does.
func (e *testEnv) writePriced(spans ...span.Span) {
	e.t.Helper()
	table := pricing.Default()
	for i := range spans {
		span.Normalize(&spans[i])
		table.PriceSpan(&spans[i])
	}
	if _, err := e.store.WriteSpans(context.Background(), spans); err != nil {
		e.t.Fatal(err)
	}
}

func TestCostBreakdown(t *testing.T) {
	e := newEnv(t)
	run := agentRun("support-bot", agentTrace, "conv-1", time.Now().Add(-time.Hour))
	run = append(run, span.Span{Project: "support-bot", TraceID: agentTrace, SpanID: "4444444444444444", ParentID: rootSpan,
		Name: "llm.local", StartTime: run[0].StartTime + 1e9, EndTime: run[0].StartTime + 2e9, StatusCode: span.StatusOK,
		Attributes: span.Attributes{str(span.AttrSpanKind, "LLM"), str("llm.model_name", "acme-house-model-7"),
			str("llm.prompt_template.version", "v3"),
			num(span.AttrTokensPrompt, 300), num(span.AttrTokensComplete, 20)}},
		// A tool that asks an LLM, and one that does not.
		span.Span{Project: "support-bot", TraceID: agentTrace, SpanID: "5555555555555555", ParentID: rootSpan,
			Name: "tool.summarize", StartTime: run[0].StartTime + 3e9, EndTime: run[0].StartTime + 5e9, StatusCode: span.StatusOK,
			Attributes: span.Attributes{str(span.AttrSpanKind, "TOOL"), str("tool.name", "summarize")}},
		span.Span{Project: "support-bot", TraceID: agentTrace, SpanID: "6666666666666666", ParentID: "5555555555555555",
			Name: "llm.chat", StartTime: run[0].StartTime + 3e9, EndTime: run[0].StartTime + 4e9, StatusCode: span.StatusOK,
			Attributes: span.Attributes{str(span.AttrSpanKind, "LLM"), str("llm.model_name", "gpt-4o-mini"),
				num(span.AttrTokensPrompt, 500), num(span.AttrTokensComplete, 50)}})
	e.writePriced(run...)

	// A priced LLM span: the total, the source, the price entry, each token type.
	body := e.mustGet("/projects/support-bot/traces/" + agentTrace + "?span=" + llmSpan)
	contains(t, "priced span", body, `class="costbox"`, "computed", "price <a href=\"/prices?model=gpt-4o-mini\">gpt-4o-mini</a>",
		"<td>input</td><td class=\"num\">560</td>", "<td>cache read</td><td class=\"num\">640</td>", "<td>output</td>", "/ 1M")

	// An unpriced one says so, and where to add the price.
	body = e.mustGet("/projects/support-bot/traces/" + agentTrace + "?span=4444444444444444")
	contains(t, "unpriced span", body, "No price for model <code>acme-house-model-7</code>", "not $0",
		`href="/prices?model=acme-house-model-7"`)
	lacks(t, "unpriced span", body, `class="costbox"`)

	// The trace header and the list flag the unpriced span rather than
	// hiding it in the total.
	contains(t, "trace header", body, `class="unpriced plus"`)
	body = e.mustGet("/projects/support-bot?range=24h")
	contains(t, "project page", body, `class="unpriced plus"`, "+1 unpriced",
		"Top models by cost", "gpt-4o-mini", "acme-house-model-7", `href="/prices?model=acme-house-model-7"`,
		"Cost by prompt version", "v3")
	contains(t, "model link", html.UnescapeString(body), "/projects/support-bot/spans?filter=llm.model_name+%3D%3D+%27gpt-4o-mini%27")
	// The tool panel, slow to read, comes after the page, over its range.
	contains(t, "tool panel placeholder", body, "Cost by tool", `data-defer="/projects/support-bot/tool-costs?range=24h"`)
	lacks(t, "tool panel placeholder", body, ">summarize<")
	body = e.mustGet("/projects/support-bot/tool-costs?range=24h")
	contains(t, "tool panel", body, "Cost by tool", ">summarize<", "1 call, p50 2 s, 1 model call inside")
	lacks(t, "tool panel", body, ">tool.search_docs<", "data-defer")
	toolLink := "/projects/support-bot/spans?filter=span_kind+%3D%3D+%27TOOL%27+and+%28tool.name+%3D%3D+%27summarize%27+or+name+%3D%3D+%27summarize%27%29&range=24h"
	contains(t, "tool link", html.UnescapeString(body), toolLink)
	contains(t, "tool link target", e.mustGet(toolLink), "tool.summarize")
	if body := e.mustGet("/projects/support-bot/tool-costs?range=15m"); strings.TrimSpace(body) != "" {
		t.Errorf("tool panel of a range without tool calls: %q, want nothing", body)
	}
	if code, _ := e.get("/projects/no-such-project/tool-costs"); code != http.StatusNotFound {
		t.Errorf("tool panel of an unknown project: %d, want 404", code)
	}

	// Sessions: the list and the session.
	body = e.mustGet("/projects/support-bot/sessions")
	contains(t, "sessions", body, `class="unpriced plus"`)
	body = e.mustGet("/projects/support-bot/sessions/conv-1")
	contains(t, "session", body, `class="unpriced plus"`)
}

func TestCostBreakdownRows(t *testing.T) {
	v := span.View{ModelName: "m", Cost: span.Cost{Status: span.CostPriced, Total: 0.003, Source: "computed", Entry: "m",
		Details: `{"output":{"tokens":10,"cost":0.002,"rate":0.0002},"input":{"tokens":100,"cost":0.001,"rate":0.00001},"reasoning":{"tokens":5,"cost":0.001,"rate":0.0002}}`}}
	b := newCostBreakdown(v)
	var order []string
	for _, r := range b.Rows {
		order = append(order, r.Type)
	}
	if got := strings.Join(order, ","); got != "input,output,reasoning" {
		t.Errorf("rows in order %s, want prompt side first", got)
	}
	if got := b.Rows[0].RateText(); got != "$10 / 1M" {
		t.Errorf("rate = %q", got)
	}
	if newCostBreakdown(span.View{}) != nil {
		t.Error("a span without cost has a breakdown")
	}
	if b := newCostBreakdown(span.View{ModelName: "x", Cost: span.Cost{Status: span.CostNoPrice}}); b == nil || !b.NoPrice {
		t.Error("an unpriced span has no 'no price' breakdown")
	}
}

// A live refresh reuses the "cost by tool" reading for a while, as it comes
// about once a second while spans arrive; loading the page leaves the panel
// to a request of its own, which reads afresh.
func TestLiveRefreshReusesToolUsage(t *testing.T) {
	e := newEnv(t)
	now := time.Now()
	e.h.now = func() time.Time { return now }
	start := now.Add(-time.Hour).UnixNano()
	toolCall := func(trace, tool, id string) []span.Span {
		return []span.Span{
			{Project: "bot", TraceID: trace, SpanID: id + "000000000001", Name: "tool." + tool, StartTime: start, EndTime: start + 2e9,
				StatusCode: span.StatusOK, Attributes: span.Attributes{str(span.AttrSpanKind, "TOOL"), str("tool.name", tool)}},
			{Project: "bot", TraceID: trace, SpanID: id + "000000000002", ParentID: id + "000000000001", Name: "llm.chat",
				StartTime: start, EndTime: start + 1e9, StatusCode: span.StatusOK,
				Attributes: span.Attributes{str(span.AttrSpanKind, "LLM"), str("llm.model_name", "gpt-4o-mini"),
					num(span.AttrTokensPrompt, 500), num(span.AttrTokensComplete, 50)}},
		}
	}
	live := func() string {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, "/projects/bot", nil)
		req.Header.Set(liveHeader, "1")
		rec := httptest.NewRecorder()
		e.mux.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("live refresh: %d", rec.Code)
		}
		return rec.Body.String()
	}

	e.writePriced(toolCall("11111111111111111111111111111111", "summarize", "1111")...)
	lacks(t, "page load", e.mustGet("/projects/bot"), ">summarize<")
	contains(t, "the page's tool panel", e.mustGet("/projects/bot/tool-costs"), ">summarize<")
	e.writePriced(toolCall("22222222222222222222222222222222", "translate", "2222")...)
	contains(t, "live refresh within the reuse", live(), ">summarize<")
	lacks(t, "live refresh within the reuse", live(), ">translate<")
	contains(t, "the tool panel of a page load", e.mustGet("/projects/bot/tool-costs"), ">translate<")

	e.writePriced(toolCall("33333333333333333333333333333333", "classify", "3333")...)
	lacks(t, "live refresh after a load", live(), ">classify<")
	now = now.Add(toolUsageReuse)
	contains(t, "live refresh once the reading is old", live(), ">classify<")
}
