package browser_test

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/loupe-dev/loupe/e2e/e2etest"
)

// TestErrorGroupsAndCostliestCalls is a person who asks "what keeps
// failing?" and "what costs the most?": the Errors tab groups the
// failures by type and message pattern and opens exactly one group's
// spans; COST opens the costliest calls of the week, and both lists rank
// by cost.
func TestErrorGroupsAndCostliestCalls(t *testing.T) { onEachBackend(t, errorGroupsAndCostliestCalls) }

func errorGroupsAndCostliestCalls(t *testing.T, srv *e2etest.Server) {
	p := newPage(t, srv.HTTPURL)
	app := newEmitter(t, srv.HTTPURL, "shop-bot")
	now := time.Now()
	for i, q := range []string{"Where is my parcel?", "Can I change the address?"} {
		app.agentRun(now.Add(time.Duration(-50+i)*time.Minute), turn{Question: q, Answer: "Done.", Session: fmt.Sprintf("c-%d", i), User: "ann"})
	}
	app.failingRun(now.Add(-40*time.Minute), turn{Question: "Refund order 1182", Session: "c-9", User: "bob"})
	app.failingRun(now.Add(-30*time.Minute), turn{Question: "Refund order 1183", Session: "c-9", User: "bob"})
	var timeouts []string
	for i, req := range []string{"8f3a9c01", "77be0d2e", "0a1b2c3d"} {
		timeouts = append(timeouts, app.toolTimeout(now.Add(time.Duration(-25+5*i)*time.Minute), 10+7*i, req))
	}
	app.flush()
	p.openUntil("/projects/shop-bot?range=1h", `document.querySelectorAll("table.grid tbody tr").length === 7`, 20*time.Second)

	// From ERRORS to the groups: the timeouts are one group, whatever their
	// numbers and request ids.
	p.click(`.phead a[data-error-groups-link]`)
	p.waitFor("the Errors tab", `location.pathname === "/projects/shop-bot/errors"`, 10*time.Second)
	p.see(`.tabs a[aria-current="page"]`, "Errors")
	groups := `[...document.querySelectorAll("table.errgroups tbody tr")]`
	if n := eval[int](p, groups+`.length`); n != 2 {
		t.Fatalf("%d error groups, want 2 (the timeouts, the rate limits)", n)
	}
	first := `table.errgroups tbody tr:first-child`
	p.see(first, "TimeoutError", "timeout after <n>s on req <hex>", "3 spans")
	p.see(`table.errgroups tbody tr:nth-child(2)`, "2 spans", "gpt-4o-mini", "Too Many Requests: rate limit reached for gpt-4o-mini")
	if bars := eval[int](p, `document.querySelectorAll("`+first+` svg.spark.err rect").length`); bars < 2 {
		t.Errorf("the timeouts' sparkline has %d bars, want one per stretch with failures (3 over the hour)", bars)
	}
	p.shot("60-error-groups")
	p.darkMode(true)
	p.open("/projects/shop-bot/errors?range=1h")
	p.shot("61-error-groups-dark")
	p.darkMode(false)
	p.open("/projects/shop-bot/errors?range=1h")

	// A group opens exactly its spans, in the Spans tab, through a filter.
	p.click(first + ` a[data-group-spans]`)
	p.waitFor("the Spans tab", `location.pathname === "/projects/shop-bot/spans"`, 10*time.Second)
	filter := eval[string](p, `new URLSearchParams(location.search).get("filter")`)
	if !strings.HasPrefix(filter, "error_group == '") {
		t.Errorf("the group's link filters %q, want error_group == '…'", filter)
	}
	rows := eval[[]string](p, `[...document.querySelectorAll("table.grid tbody tr")].map(r => r.dataset.id)`)
	sort.Strings(rows)
	want := append([]string(nil), timeouts...)
	sort.Strings(want)
	if strings.Join(rows, ",") != strings.Join(want, ",") {
		t.Errorf("the group's spans: %v, want the timeouts %v", rows, want)
	}
	if eval[bool](p, `!document.querySelector("[data-filter-error]").hidden`) {
		t.Errorf("the filter bar refuses the group's filter: %s", p.text("[data-filter-error]"))
	}
	p.shot("62-error-group-spans")

	// COST opens the costliest LLM calls of the last 7 days.
	p.open("/projects/shop-bot?range=1h")
	p.click(`.phead a[data-top-calls]`)
	p.waitFor("the Spans tab by cost", `location.pathname === "/projects/shop-bot/spans"`, 10*time.Second)
	q, _ := url.ParseQuery(strings.TrimPrefix(eval[string](p, `location.search`), "?"))
	if q.Get("sort") != "cost" || q.Get("kind") != "LLM" || q.Get("range") != "7d" || q.Get("dir") != "" {
		t.Errorf("the costliest calls link opens %v, want sort=cost, kind=LLM, range=7d, most first", q)
	}
	p.see("table.grid thead", "Model", "Cost ↓")
	costs := eval[[]string](p, `[...document.querySelectorAll("table.grid tbody tr")].map(r => r.cells[r.cells.length - 3].innerText)`)
	models := eval[[]string](p, `[...document.querySelectorAll("table.grid tbody td.mono.trunc")].map(c => c.innerText)`)
	if len(costs) != 6 || len(models) != 6 {
		t.Fatalf("costliest calls: costs %v, models %v; want the 6 priced LLM calls", costs, models)
	}
	for i := 1; i < len(costs); i++ {
		if dollars(t, costs[i]) > dollars(t, costs[i-1]) {
			t.Errorf("costs not in decreasing order: %v", costs)
		}
	}
	if models[0] != "gpt-4o-mini" {
		t.Errorf("the costliest call's model is %q", models[0])
	}
	p.shot("63-costliest-calls")
	p.darkMode(true)
	p.open(p.location()[len(srv.HTTPURL):])
	p.shot("64-costliest-calls-dark")
	p.darkMode(false)

	// The Traces list ranks by cost too, and the head reverses it.
	p.open("/projects/shop-bot")
	p.click(`.toolbar .seg a[title="The most expensive traces first"]`)
	p.waitFor("traces by cost", `new URLSearchParams(location.search).get("sort") === "cost"`, 10*time.Second)
	p.see("table.grid thead", "Cost ↓")
	p.click(`table.grid thead a.sort.on`)
	p.waitFor("traces by cost, cheapest first", `new URLSearchParams(location.search).get("dir") === "asc"`, 10*time.Second)
	p.see("table.grid thead", "Cost ↑")
	if got := cells(t, p, "td.c-cost"); !sorted(got, true) {
		t.Errorf("traces by cost, cheapest first: %v", got)
	}
	p.shot("65-traces-by-cost")

	// And by tokens, both ways, in the Traces and Spans lists.
	for _, list := range []string{"/projects/shop-bot", "/projects/shop-bot/spans"} {
		p.open(list)
		p.click(`.toolbar .seg a[href*="sort=tokens"]`)
		p.waitFor("the most tokens first", `new URLSearchParams(location.search).get("sort") === "tokens"`, 10*time.Second)
		p.see("table.grid thead", "Tokens ↓")
		most := cells(t, p, "td.c-tokens")
		if len(most) < 2 || !sorted(most, false) || most[0] == 0 {
			t.Errorf("%s by tokens, the most first: %v", list, most)
		}
		p.click(`table.grid thead a.sort.on`)
		p.waitFor("the fewest tokens first", `new URLSearchParams(location.search).get("dir") === "asc"`, 10*time.Second)
		if fewest := cells(t, p, "td.c-tokens"); !sorted(fewest, true) {
			t.Errorf("%s by tokens, the fewest first: %v", list, fewest)
		}
	}
}

// cells reads the numbers of a list's column: its cost in dollars or its
// tokens, 0 for a dash.
func cells(t *testing.T, p *page, sel string) []float64 {
	t.Helper()
	var out []float64
	for _, c := range eval[[]string](p, `[...document.querySelectorAll("table.grid tbody `+sel+`")].map(c => c.innerText)`) {
		out = append(out, dollars(t, strings.NewReplacer("\u202f", "", "\u00a0", "", " ", "").Replace(c)))
	}
	return out
}

func sorted(xs []float64, asc bool) bool {
	for i := 1; i < len(xs); i++ {
		if asc && xs[i] < xs[i-1] || !asc && xs[i] > xs[i-1] {
			return false
		}
	}
	return true
}

// dollars reads a cost cell: "$0.0004", or a dash for none.
func dollars(t *testing.T, cell string) float64 {
	t.Helper()
	s := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(cell), "$"))
	if s == "–" || s == "" {
		return 0
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(s, ",", ""), 64)
	if err != nil {
		t.Fatalf("cost cell %q: %v", cell, err)
	}
	return f
}

// toolTimeout emits a request whose order lookup timed out after secs
// seconds on request req, and returns the failing span's id.
func (e *emitter) toolTimeout(start time.Time, secs int, req string) string {
	ms := time.Millisecond
	ctx, endRoot := e.span(context.Background(), "agent.run", start, 1500*ms, kind("AGENT"),
		attribute.String("input.value", "Where is order "+req+"?"))
	_, s := e.tr.Start(ctx, "fetch_order", trace.WithTimestamp(start.Add(100*ms)), trace.WithAttributes(kind("TOOL"),
		attribute.String("tool.name", "fetch_order")))
	msg := fmt.Sprintf("timeout after %ds on req %s", secs, req)
	// As Python's instrumentors record an exception: the class, the message.
	s.AddEvent("exception", trace.WithAttributes(attribute.String("exception.type", "TimeoutError"),
		attribute.String("exception.message", msg)), trace.WithTimestamp(start.Add(1400*ms)))
	s.SetStatus(codes.Error, msg)
	id := s.SpanContext().SpanID().String()
	s.End(trace.WithTimestamp(start.Add(1400 * ms)))
	endRoot()
	return id
}
