package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/store"
)

func TestStoragePage(t *testing.T) {
	e := newReportEnv(t)
	e.write(agentRun("support-bot", agentTrace, "conv-1", time.Now().Add(-time.Hour))...)
	e.write(agentRun("batch", traceIDn(2), "", time.Now().Add(-50*time.Hour))...)
	body := e.mustGet("/storage")
	contains(t, "storage", body, "<h1>Storage</h1>", "Database", "Spans per day, 30 days", "<h3>Spans per day</h3>",
		`data-id="support-bot"`, `data-id="batch"`, "Keep everything", "by the UTC day their trace started",
		": 5 spans", // a growth bar's title
		"every hour", `aria-current="page">Storage</a>`)

	// A project's own policy, then back to the default.
	rec := e.submitForm("/storage/retention", url.Values{"project": {"batch"}, "max_days": {"7"}, "max_traces": {"1 000"}, "action": {"save"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("save a policy = %d, want 303\n%s", rec.Code, rec.Body)
	}
	p, err := e.store.ProjectByName(context.Background(), "batch")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := e.store.RetentionPolicy(context.Background(), p.ID); got != (store.RetentionPolicy{MaxDays: 7, MaxTraces: 1000}) {
		t.Errorf("policy = %+v, want 7 days and 1000 traces", got)
	}
	body = e.mustGet(rec.Header().Get("Location"))
	contains(t, "after save", body, "Saved the retention policy of batch.", "Keep 7 days, at most the newest 1\u202f000 traces", "Use default")
	rec = e.submitForm("/storage/retention", url.Values{"project": {"batch"}, "action": {"inherit"}})
	if got, _ := e.store.RetentionPolicy(context.Background(), p.ID); rec.Code != http.StatusSeeOther || !got.Inherited {
		t.Errorf("use default = %d, policy %+v; want 303 and the default", rec.Code, got)
	}

	// The default policy.
	rec = e.submitForm("/storage/retention", url.Values{"max_days": {"30"}})
	if got, _ := e.store.RetentionPolicy(context.Background(), store.DefaultPolicy); rec.Code != http.StatusSeeOther || got.MaxDays != 30 {
		t.Errorf("default policy = %d, %+v; want 303 and 30 days", rec.Code, got)
	}
	contains(t, "default", e.mustGet("/storage"), "Keep 30 days", `<span class="badge inherit"`)

	// Bad input says what is wrong, next to the form it came from.
	rec = e.submitForm("/storage/retention", url.Values{"project": {"support-bot"}, "max_days": {"-3"}, "max_traces": {"many"}})
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("bad policy = %d, want 422", rec.Code)
	}
	contains(t, "bad policy", rec.Body.String(), "Days is a number of days, 0 or more", "Traces is a whole number", `value="many"`)
	if rec := e.submitForm("/storage/retention", url.Values{"project": {"nope"}, "max_days": {"1"}}); rec.Code != http.StatusNotFound {
		t.Errorf("policy of an unknown project = %d, want 404", rec.Code)
	}
	if rec := e.submitForm("/storage/retention", url.Values{"action": {"inherit"}}); rec.Code != http.StatusBadRequest {
		t.Errorf("the default following itself = %d, want 400", rec.Code)
	}
	if code, body := e.get("/storage?days=0"); code != http.StatusBadRequest || !strings.Contains(body, "from 1 to 366") {
		t.Errorf("days=0 = %d, want 400 saying the bounds", code)
	}
	contains(t, "7 days", e.mustGet("/storage?days=7"), "Spans per day, 7 days")
}
