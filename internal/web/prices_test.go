package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/span"
)

// waitRecompute waits for the price service to finish the recompute that
// started after t.
func (e *reportEnv) waitRecompute(after time.Time) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		st := e.costs.Status()
		if !st.Running && st.Started.After(after) && !st.Finished.IsZero() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.t.Fatalf("no recompute finished: %+v", e.costs.Status())
}

func TestPricesPage(t *testing.T) {
	e := newReportEnv(t)
	now := time.Now().Add(-time.Hour)
	e.writePriced(
		llmTrace("bot", 1, now, time.Second, span.StatusOK, "gpt-4o-mini", ""),
		llmTrace("bot", 2, now.Add(time.Second), time.Second, span.StatusOK, "acme-private-7b", ""),
	)
	body := e.mustGet("/prices")
	contains(t, "prices", body, "Model prices", "USD per 1M tokens",
		"<code>gpt-4o-mini</code>", "$0.15", "built-in", "developers.openai.com", // a built-in price with its source
		"<code>acme-private-7b</code>", `class="noprice-row"`, "No price", "1 without a price",
		`href="/prices?model=acme-private-7b&amp;provider=#price-form"`, "Add a price",
		"Built-in prices", `aria-current="page">Prices</a>`)

	// The "add one" link fills in the form.
	body = e.mustGet("/prices?model=acme-private-7b")
	contains(t, "prefilled form", body, `name="name" value="acme-private-7b"`, `name="pattern" value="acme-private-7b"`)

	// Bad input is shown again, with what is wrong next to it.
	rec := e.submitForm("/prices", url.Values{"name": {"acme-private-7b"}, "rate_input": {"abc"}, "rate_output": {"-1"}})
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("bad rates = %d, want 422", rec.Code)
	}
	contains(t, "bad rates", rec.Body.String(), "Some fields need fixing.", "Not a number", "A price cannot be negative.",
		`name="rate_input" inputmode="decimal" autocomplete="off" value="abc"`)
	rec = e.submitForm("/prices", url.Values{"name": {"acme-private-7b"}, "pattern": {"other-model"}, "rate_input": {"1"}, "rate_output": {"2"}})
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "does not match the entry&#39;s own name") {
		t.Errorf("a pattern that misses the name = %d, want 422 saying so:\n%s", rec.Code, rec.Body)
	}

	// A good price is saved, the costs recomputed, and the model priced.
	before := time.Now()
	rec = e.submitForm("/prices", url.Values{"name": {"acme-private-7b"}, "rate_input": {"1"}, "rate_output": {"2"},
		"source": {"https://acme.test/pricing"}, "as_of": {"2026-11-01"}})
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/prices?") {
		t.Fatalf("save = %d to %q, want a 303 back to the page\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	e.waitRecompute(before)
	// A browser keeps the fragment to itself.
	loc, _, _ := strings.Cut(rec.Header().Get("Location"), "#")
	body = e.mustGet(loc)
	contains(t, "after save", body, "Saved the price of acme-private-7b.", "Last recompute: acme-private-7b",
		"yours", "acme.test", "2026-11-01", "/prices?edit=0#price-form")
	lacks(t, "after save", body, `class="noprice-row"`)
	tr, err := e.store.Trace(context.Background(), traceIDn(2))
	if err != nil {
		t.Fatal(err)
	}
	if want := 0.001 + 0.0002; tr.Cost.Total < want-1e-12 || tr.Cost.Total > want+1e-12 || tr.Cost.Unpriced != 0 {
		t.Errorf("trace cost after the price = %+v, want %g with nothing unpriced", tr.Cost, want)
	}

	// Edit it, then remove it.
	body = e.mustGet("/prices?edit=0")
	contains(t, "edit form", body, "Edit the price of acme-private-7b", `name="orig_pattern" value="acme-private-7b"`, `value="2"`)
	rec = e.submitForm("/prices", url.Values{"orig_pattern": {"acme-private-7b"}, "name": {"acme-private-7b"}, "rate_input": {"3"}, "rate_output": {"4"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("edit = %d, want 303\n%s", rec.Code, rec.Body)
	}
	if got := e.costs.APIEntries(); len(got) != 1 || got[0].Prices[0] != 3 {
		t.Errorf("entries after the edit = %+v, want one at $3 input", got)
	}
	rec = e.submitForm("/prices/delete", url.Values{"pattern": {"acme-private-7b"}})
	if rec.Code != http.StatusSeeOther || len(e.costs.APIEntries()) != 0 {
		t.Errorf("remove = %d, entries %+v; want 303 and none left", rec.Code, e.costs.APIEntries())
	}
	if rec := e.submitForm("/prices/delete", url.Values{"pattern": {"acme-private-7b"}}); rec.Code != http.StatusNotFound {
		t.Errorf("removing it again = %d, want 404", rec.Code)
	}
	if code, body := e.get("/prices?edit=7"); code != http.StatusBadRequest || !strings.Contains(body, "no price entry") {
		t.Errorf("edit of a missing entry = %d, want 400 saying so", code)
	}
	if rec := e.submitForm("/prices/recompute", nil); rec.Code != http.StatusSeeOther {
		t.Errorf("recompute all = %d, want 303", rec.Code)
	}
}

func TestPricesWithoutService(t *testing.T) {
	e := newEnv(t)
	body := e.mustGet("/prices")
	contains(t, "read-only prices", body, "Built-in prices", "gpt-4o-mini")
	lacks(t, "read-only prices", body, `action="/prices"`)
	if rec := e.submitForm("/prices", url.Values{"name": {"x"}}); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("saving without the price service = %d, want 503", rec.Code)
	}
}
