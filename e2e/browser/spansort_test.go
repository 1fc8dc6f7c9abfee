package browser_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/loupe-dev/loupe/e2e/e2etest"
)

// descending is true when the numbers of the list's column col, read from
// their text, never grow down the list; there must be two at least.
func descending(col string) string {
	return `(() => { const v = [...document.querySelectorAll("table.grid tbody td.` + col + `")].map(td => parseFloat(td.textContent.replace(/[^0-9.]/g, ""))); return v.length > 1 && v.every((x, i) => i === 0 || v[i-1] >= x) })()`
}

// TestSpansFilterKeepsRanking is a person ranking the Spans tab by cost,
// then narrowing it with a filter: the list stays ranked, and the cost and
// token rankings stay on offer while the filter is on.
func TestSpansFilterKeepsRanking(t *testing.T) {
	srv := e2etest.Start(t, e2etest.Build(t))
	loadDemo(t, srv, "")
	p := newPage(t, srv.HTTPURL)
	param := func(k string) string {
		return eval[string](p, `new URLSearchParams(location.search).get("`+k+`") ?? ""`)
	}

	p.open("/projects/support-bot/spans")
	p.click(`.toolbar nav[aria-label="Sort"] a[title^="Spans with a cost"]`)
	p.waitFor("the ranking by cost", `new URLSearchParams(location.search).get("sort") === "cost"`, 10*time.Second)
	p.do("type a filter", chromedp.SendKeys(chromedp.CSS(`.fb-expr input`), "llm.model_name == 'gpt-4o-mini'\n"))
	p.waitFor("the filtered list", `new URLSearchParams(location.search).get("filter") === "llm.model_name == 'gpt-4o-mini'"`, 10*time.Second)
	if s := param("sort"); s != "cost" {
		t.Errorf("sort after filtering = %q, want cost", s)
	}
	p.see(`.toolbar nav[aria-label="Sort"] a[aria-current="true"]`, "Costliest")
	p.see(".fb-note", "of those with a cost, the most expensive first")
	p.see("table.grid thead th.c-cost", "Cost ↓")
	if !eval[bool](p, descending("c-cost")) {
		t.Errorf("filtered spans by cost are not the most expensive first: %v",
			eval[[]string](p, `[...document.querySelectorAll("table.grid tbody td.c-cost")].map(td => td.textContent)`))
	}
	if models := eval[[]string](p, `[...new Set([...document.querySelectorAll("table.grid tbody td.c-model")].map(td => td.textContent))]`); len(models) != 1 || models[0] != "gpt-4o-mini" {
		t.Errorf("models listed %v, want gpt-4o-mini alone", models)
	}
	p.shot("spans-filtered-by-cost")

	// The token ranking is offered with the filter, and keeps it.
	p.click(`.toolbar nav[aria-label="Sort"] a[title^="Spans with tokens"]`)
	p.waitFor("the ranking by tokens", `new URLSearchParams(location.search).get("sort") === "tokens"`, 10*time.Second)
	if f := param("filter"); f != "llm.model_name == 'gpt-4o-mini'" {
		t.Errorf("filter after ranking by tokens = %q", f)
	}
	if !eval[bool](p, descending("c-tokens")) {
		t.Errorf("filtered spans by tokens are not the most first: %v",
			eval[[]string](p, `[...document.querySelectorAll("table.grid tbody td.c-tokens")].map(td => td.textContent)`))
	}
	// The column head reverses it, filter kept.
	p.click("table.grid thead th.c-tokens a")
	p.waitFor("the fewest tokens first", `new URLSearchParams(location.search).get("dir") === "asc"`, 10*time.Second)
	if f, s := param("filter"), param("sort"); f == "" || s != "tokens" {
		t.Errorf("after reversing: filter %q, sort %q", f, s)
	}
	p.see(".fb-note", "of those with tokens, the fewest first")
}
