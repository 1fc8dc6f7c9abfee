package web

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/span"
)

// TestErrorColumn: the Traces and Spans lists show the exception type and
// message of the first failing span, or its status message, whichever
// way the page is read.
func TestErrorColumn(t *testing.T) {
	e := newEnv(t)
	now := time.Now()
	e.write(agentRun("support-bot", agentTrace, "conv-1", now.Add(-3*time.Hour))...)
	e.write(agentRun("support-bot", traceIDn(2), "conv-2", now.Add(-2*time.Hour))[:4]...)
	// A failure without an exception event, then a later one with: the
	// trace shows the first.
	plain := agentRun("support-bot", traceIDn(3), "conv-3", now.Add(-time.Hour))
	plain[2].StatusCode, plain[2].StatusMessage = span.StatusError, "tool timed out after 30 s"
	e.write(plain...)
	if err := e.store.WaitIndexed(context.Background()); err != nil {
		t.Fatal(err)
	}
	rateLimited := `<b>RateLimitError</b> rate limited`
	timedOut := `<span class="rowerr" title="tool timed out after 30 s">tool timed out after 30 s</span>`
	row := func(body, id string) string {
		_, after, ok := strings.Cut(body, `data-id="`+id+`"`)
		if !ok {
			return ""
		}
		before, _, _ := strings.Cut(after, "</tr>")
		return before
	}
	tests := []struct {
		name, path string
		rows       map[string]string // row id: what its error cell holds ("" for none)
		noColumn   bool
	}{
		{"traces", "/projects/support-bot",
			map[string]string{agentTrace: rateLimited, traceIDn(2): "", traceIDn(3): timedOut}, false},
		{"traces, filtered", "/projects/support-bot?filter=" + url.QueryEscape("error_count > 0"),
			map[string]string{agentTrace: rateLimited, traceIDn(3): timedOut}, false},
		{"traces, searched", "/projects/support-bot?q=refund",
			map[string]string{agentTrace: rateLimited}, false},
		{"traces without errors", "/projects/support-bot?filter=" + url.QueryEscape("error_count == 0"),
			map[string]string{traceIDn(2): ""}, true},
		{"spans", "/projects/support-bot/spans?status=error",
			map[string]string{badSpan: rateLimited, plain[2].SpanID: timedOut}, false},
		{"spans, filtered", "/projects/support-bot/spans?filter=" + url.QueryEscape("status_code == 'ERROR'"),
			map[string]string{badSpan: rateLimited, plain[2].SpanID: timedOut}, false},
		{"spans without errors", "/projects/support-bot/spans?kind=RETRIEVER", map[string]string{docSpan: ""}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := e.mustGet(tc.path)
			if got := strings.Contains(body, `<th class="c-error">Error</th>`); got == tc.noColumn {
				t.Errorf("error column shown: %v, want %v", got, !tc.noColumn)
			}
			for id, want := range tc.rows {
				r := row(body, id)
				if r == "" {
					t.Errorf("no row %s", id)
					continue
				}
				if want == "" {
					lacks(t, id, r, "rowerr")
				} else {
					contains(t, id, r, want)
				}
			}
		})
	}
}
