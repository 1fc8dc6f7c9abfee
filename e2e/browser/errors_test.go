package browser_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/loupe-dev/loupe/e2e/e2etest"
)

// TestFromAnErrorToTheFailingCall is a person who sees ERRORS in the
// project header and wants the failing call: the figure opens the failing
// traces, the list says what failed, and the trace opens on it.
func TestFromAnErrorToTheFailingCall(t *testing.T) { onEachBackend(t, fromAnErrorToTheFailingCall) }

func fromAnErrorToTheFailingCall(t *testing.T, srv *e2etest.Server) {
	p := newPage(t, srv.HTTPURL)
	app := newEmitter(t, srv.HTTPURL, "support-bot")
	now := time.Now()
	app.agentRun(now.Add(-30*time.Minute), turn{Question: "What is our refund policy?",
		Answer: "Refunds are accepted within 30 days with the receipt.", Session: "conv-42", User: "alice@acme.test"})
	failed := app.failingRun(now.Add(-20*time.Minute), turn{Question: "Summarise my last five orders", Session: "conv-77", User: "bob@acme.test"})
	app.flush()

	rows := `[...document.querySelectorAll("table.grid tbody tr")].map(r => r.dataset.id)`
	p.openUntil("/projects/support-bot", `document.querySelectorAll("table.grid tbody tr").length === 2`, 20*time.Second)

	// ERRORS in the header is a link to the errors toggle.
	p.see(".phead .stats", "Errors", "1")
	p.click(".phead .stats a.statlink")
	p.waitFor("the errors toggle", `new URLSearchParams(location.search).get("errors") === "1"`, 10*time.Second)
	if ids := eval[[]string](p, rows); strings.Join(ids, ",") != failed {
		t.Errorf("failing traces listed: %v, want [%s]", ids, failed)
	}
	p.see(`.toolbar .seg a[aria-current="true"]`, "Errors")
	// The error column: the exception type and message of the failing call.
	p.see("table.grid thead", "Error")
	// (The Go SDK's RecordError writes its own exception.type before the
	// emitter's, and the first is the one read, as on the trace page.)
	p.see(`tr[data-id="`+failed+`"] td.errcell`, "errors.errorString", "429 Too Many Requests")
	p.shot("30-traces-errors")

	// The toggle off lists both again; the trace filter says the same.
	p.click(`.toolbar .seg a:not([data-errors-toggle])`)
	p.waitFor("the toggle off", `!location.search.includes("errors=1")`, 10*time.Second)
	if n := len(eval[[]string](p, rows)); n != 2 {
		t.Errorf("%d traces with the toggle off, want 2", n)
	}

	// Phoenix's trace filter, with the span filter's errors as it is typed.
	p.do("type a misspelt trace filter", chromedp.SendKeys(chromedp.CSS(`.fb-expr input`), "error_cont > 0"))
	p.waitFor("the inline error", `!document.querySelector("[data-filter-error]").hidden`, 10*time.Second)
	p.see("[data-filter-error]", "unknown name 'error_cont'", "did you mean 'error_count'?")
	p.shot("31-trace-filter-error")
	p.open("/projects/support-bot?filter=" + url.QueryEscape("error_count > 0"))
	p.see(".fb-note", "Traces that match")
	if ids := eval[[]string](p, rows); strings.Join(ids, ",") != failed {
		t.Errorf("traces matching error_count > 0: %v, want [%s]", ids, failed)
	}
	p.click(".fb-examples summary")
	p.see(".fb-examples .menu", "error_count > 0", "trace_annotations['thumbs']", "Phoenix's trace filter")
	p.shot("32-trace-filter-examples")

	// Sessions take the session filter.
	p.open("/projects/support-bot/sessions?filter=" + url.QueryEscape("num_traces_with_error > 0"))
	if ids := eval[[]string](p, rows); strings.Join(ids, ",") != "conv-77" {
		t.Errorf("sessions with a failed trace: %v, want [conv-77]", ids)
	}
	p.shot("33-sessions-filter")

	// Spans: errors only, with the same column.
	p.open("/projects/support-bot/spans?status=error")
	p.see("table.grid tbody td.errcell", "errors.errorString", "429 Too Many Requests")
	p.shot("34-spans-errors")

	// The trace opens on the failing call, not the root; the error shows
	// once, and the traceback wraps.
	p.open("/projects/support-bot?errors=1")
	p.click(`tr[data-id="` + failed + `"] a.rowlink`)
	p.waitFor("the trace", `location.pathname.includes("/traces/`+failed+`")`, 10*time.Second)
	errSpan := eval[string](p, `document.querySelector(".row.err").dataset.id`)
	if sel := eval[string](p, `document.querySelector('.row[aria-selected="true"]').dataset.id`); sel != errSpan {
		t.Errorf("the tree selects %s, want the failing span %s", sel, errSpan)
	}
	if d := eval[string](p, `document.querySelector(".detail").dataset.span`); d != errSpan {
		t.Errorf("the detail shows %s, want the failing span %s", d, errSpan)
	}
	p.see(".detail .dhead", "llm.chat", "Error")
	if n := eval[int](p, `document.querySelectorAll(".detail .errmsg").length + document.querySelectorAll('.detail [data-panel="overview"] .exception').length`); n != 1 {
		t.Errorf("the error shows %d times, want once", n)
	}
	if ws := eval[string](p, `getComputedStyle(document.querySelector(".detail .exception pre")).whiteSpace`); ws != "pre-wrap" {
		t.Errorf("the traceback's white-space is %q, want pre-wrap", ws)
	}
	p.shot("35-trace-failing-span")
	p.darkMode(true)
	p.open("/projects/support-bot?errors=1")
	p.shot("36-traces-errors-dark")
	p.darkMode(false)
}
