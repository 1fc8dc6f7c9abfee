package browser_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/loupe-dev/loupe/e2e/e2etest"
)

// TestTheFilterBoxSuggests is a person writing a filter without knowing
// the project's attribute keys or annotation names by heart: the box
// offers names, keys, values and labels as they type, and says nothing
// about an expression that is merely unfinished.
func TestTheFilterBoxSuggests(t *testing.T) { onEachBackend(t, theFilterBoxSuggests) }

func theFilterBoxSuggests(t *testing.T, srv *e2etest.Server) {
	loadDemo(t, srv, "")
	p := newPage(t, srv.HTTPURL)
	box := `.fb-expr input[name=filter]`
	value := func() string { return eval[string](p, `document.querySelector("`+box+`").value`) }
	typeIn := func(s string) { p.do("type "+s, chromedp.SendKeys(chromedp.CSS(box), s)) }
	offered := func(want string) {
		t.Helper()
		p.waitFor("the suggestion "+want, `[...document.querySelectorAll(".fb-suggest code")].some(c => c.textContent === `+jsString(want)+`)`, 10*time.Second)
	}

	p.open("/projects/support-bot/spans")
	// An attribute key, taken with Tab.
	typeIn("llm.mo")
	offered("llm.model_name")
	p.shot("48-filter-suggests-key")
	p.key(kb.Tab)
	if v := value(); v != "llm.model_name" {
		t.Errorf("after Tab the filter is %q", v)
	}
	// Its values, from the project's spans, taken with the arrow and Enter.
	typeIn(" == '")
	offered("gpt-4o-mini")
	offered("acme-house-7b")
	p.shot("49-filter-suggests-value")
	n := eval[int](p, `[...document.querySelectorAll(".fb-suggest code")].findIndex(c => c.textContent === "acme-house-7b")`)
	for range n + 1 {
		p.key(kb.ArrowDown)
	}
	p.key(kb.Enter)
	if v := value(); v != "llm.model_name == 'acme-house-7b'" {
		t.Errorf("after Enter on a value the filter is %q", v)
	}
	// Enter with nothing chosen applies the filter.
	p.key(kb.Enter)
	p.waitFor("the filtered list", `new URLSearchParams(location.search).get("filter") === "llm.model_name == 'acme-house-7b'"`, 10*time.Second)
	p.see("table.grid tbody", "llm.complete")

	// Annotation names and their labels.
	p.open("/projects/support-bot/spans")
	typeIn("correc")
	offered("annotations['correctness'].label")
	p.do("take the label accessor", chromedp.Click(chromedp.CSS(`.fb-suggest li:first-child`)))
	typeIn(` == "`)
	offered("incorrect")
	offered("correct")

	// Unfinished is not wrong: no error while an open quote waits for its
	// end, one after a pause.
	p.do("clear the box", chromedp.Evaluate[chromedp.Void](`document.querySelector("`+box+`").value = ""`))
	typeIn("name == 'agent")
	time.Sleep(1200 * time.Millisecond)
	if shown := eval[bool](p, `!document.querySelector("[data-filter-error]").hidden`); shown {
		t.Error("an error shows while the string is being typed")
	}
	p.waitFor("the error after a pause", `!document.querySelector("[data-filter-error]").hidden`, 10*time.Second)
	p.see("[data-filter-error]", "unterminated string")

	// The Traces tab suggests the trace filter's names.
	p.open("/projects/support-bot")
	typeIn("error_c")
	offered("error_count")
	p.darkMode(true)
	p.shot("49-filter-suggests-trace-dark")
	p.darkMode(false)
}
