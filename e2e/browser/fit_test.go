package browser_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/loupe-dev/loupe/e2e/e2etest"
)

// noSideScroll is true when the page is no wider than the window.
const noSideScroll = `document.documentElement.scrollWidth <= window.innerWidth`

// TestListsFitTheWindow is a person on a 1440-px screen: Traces and Spans
// fit without scrolling sideways, columns can be hidden and shown and stay
// so, a filter keeps the order chosen, and a mistyped address gets the
// 404 page.
func TestListsFitTheWindow(t *testing.T) {
	srv := e2etest.Start(t, e2etest.Build(t))
	loadDemo(t, srv, "")
	p := newPage(t, srv.HTTPURL)

	for _, path := range []string{"/projects/support-bot", "/projects/support-bot/spans", "/projects/support-bot?errors=1"} {
		p.open(path)
		p.waitFor("the list", `!!document.querySelector("table.grid tbody tr")`, 10*time.Second)
		if !eval[bool](p, noSideScroll) {
			t.Errorf("%s is %d px wide in a %d-px window", path, eval[int](p, `document.documentElement.scrollWidth`), eval[int](p, `window.innerWidth`))
		}
		// Kind marks are compact, and say the whole kind on hover.
		if w := eval[float64](p, `document.querySelector("table.grid .kind").getBoundingClientRect().width`); w > 40 {
			t.Errorf("%s: a kind mark is %.0f px wide", path, w)
		}
	}
	p.open("/projects/support-bot")
	p.see(`table.grid tbody tr:first-child .kind`, "LLM")
	p.shot("45-traces-fit")

	// The column chooser: User off at once, Trace ID on; both remembered.
	visible := func(col string) bool {
		return eval[bool](p, `(() => { const th = document.querySelector("table.grid th.c-`+col+`"); return !!th && th.checkVisibility() })()`)
	}
	if visible("trace") || !visible("user") {
		t.Fatalf("by default: trace id shown %v, user shown %v; want the trace id hidden, the user shown", visible("trace"), visible("user"))
	}
	p.click(".colchooser > summary")
	p.click(`.colchooser input[data-col="user"]`)
	p.click(`.colchooser input[data-col="trace"]`)
	if visible("user") || !visible("trace") {
		t.Errorf("after the choice: user shown %v, trace id shown %v", visible("user"), visible("trace"))
	}
	p.shot("46-column-chooser")
	p.open("/projects/support-bot?range=1d")
	p.waitFor("the list", `!!document.querySelector("table.grid tbody tr")`, 10*time.Second)
	if visible("user") || !visible("trace") {
		t.Errorf("after a reload: user shown %v, trace id shown %v", visible("user"), visible("trace"))
	}
	// The Spans list has its own choice.
	p.open("/projects/support-bot/spans")
	p.waitFor("the spans", `!!document.querySelector("table.grid tbody tr")`, 10*time.Second)
	if !visible("user") {
		t.Error("hiding the Traces list's user column hid the Spans list's")
	}

	// A filter keeps the sort: the slowest traces that failed.
	p.open("/projects/support-bot?sort=latency")
	p.do("type a filter", chromedp.SendKeys(chromedp.CSS(`.fb-expr input`), "error_count > 0\n"))
	p.waitFor("the filtered list", `new URLSearchParams(location.search).get("filter") === "error_count > 0"`, 10*time.Second)
	if s := eval[string](p, `new URLSearchParams(location.search).get("sort")`); s != "latency" {
		t.Errorf("sort after filtering = %q, want latency", s)
	}
	p.see(`.toolbar nav[aria-label="Sort"] a[aria-current="true"]`, "Slowest")
	lat := eval[[]string](p, `[...document.querySelectorAll("table.grid tbody td.c-latency")].map(td => td.textContent)`)
	if len(lat) != 5 || lat[0] != "18 m 50 s" || lat[4] != "4 s" {
		t.Errorf("failed traces, slowest first: %v, want the 18 m 50 s run first of 5, a 4 s call last", lat)
	}
	// And on Spans, oldest first stays oldest first.
	p.open("/projects/support-bot/spans?dir=asc&filter=" + url.QueryEscape("span_kind == 'LLM'"))
	p.see(".fb-note", "oldest first")
	p.see(`.toolbar nav[aria-label="Sort"] a[aria-current="true"]`, "Oldest")
	if !eval[bool](p, `(() => { const t = [...document.querySelectorAll("table.grid tbody time")].map(e => Date.parse(e.getAttribute("datetime"))); return t.length > 2 && t.every((v, i) => i === 0 || t[i-1] <= v) })()`) {
		t.Error("filtered spans with dir=asc are not oldest first")
	}

	// An unknown address: the styled 404, with the way back.
	p.open("/no/such/page")
	p.see(".notfound", "404", "Page not found", "/no/such/page")
	p.darkMode(true)
	p.shot("47-not-found-dark")
	p.darkMode(false)
}
