package web

import (
	"fmt"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/span"
)

// failingCall is an LLM call that failed with an exception.
func failingCall(project, trace, id string, at time.Time, model, version, typ, msg string) span.Span {
	return span.Span{Project: project, TraceID: trace, SpanID: id, Name: "llm.chat",
		StartTime: at.UnixNano(), EndTime: at.Add(50 * time.Millisecond).UnixNano(), StatusCode: span.StatusError, StatusMessage: "failed",
		Attributes: span.Attributes{str(span.AttrSpanKind, "LLM"), str("llm.model_name", model), str("llm.prompt_template.version", version)},
		Events: []span.Event{{Name: "exception", Time: at.UnixNano(), Attributes: span.Attributes{
			str("exception.type", typ), str("exception.message", msg)}}}}
}

// TestErrorGroupsPage: failures grouped by type and message pattern, with
// count, models, versions and a sparkline; each group links to exactly
// its spans; the header and the errors toggles lead there.
func TestErrorGroupsPage(t *testing.T) {
	e := newEnv(t)
	now := time.Now().Add(-time.Hour)
	var spans []span.Span
	for i := range 5 {
		spans = append(spans, failingCall("eg", fmt.Sprintf("%032x", 0xe0+i), fmt.Sprintf("%016x", 0xe0+i), now.Add(time.Duration(i)*time.Minute),
			[]string{"gpt-4o", "gpt-4o-mini"}[i%2], "v"+fmt.Sprint(1+i%2), "TimeoutError", fmt.Sprintf("timeout after %ds on req %08x", 10+i, 0x8f3a0000+i*7919)))
	}
	spans = append(spans, failingCall("eg", fmt.Sprintf("%032x", 0xf0), fmt.Sprintf("%016x", 0xf0), now, "gpt-4o", "v1", "KeyError", "'customer_id'"))
	e.write(spans...)

	body := e.mustGet("/projects/eg/errors")
	contains(t, "groups", body, "6 failed spans in 2 groups", `<b class="eg-type">TimeoutError</b>`,
		`<span class="eg-pattern">timeout after &lt;n&gt;s on req &lt;hex&gt;</span>`, "<b>5</b>", "gpt-4o, gpt-4o-mini", "v1, v2",
		`<b class="eg-type">KeyError</b>`, `class="spark err"`, "5 spans →", "1 span →", `aria-current="page">Errors</a>`)
	if strings.Index(body, "TimeoutError") > strings.Index(body, "KeyError") {
		t.Error("the larger group is not listed first")
	}

	// A group's link opens the Spans tab on its spans, and only those.
	links := regexp.MustCompile(`href="(/projects/eg/spans\?[^"]+)" data-group-spans`).FindAllStringSubmatch(body, -1)
	if len(links) != 2 {
		t.Fatalf("%d links to a group's spans, want 2", len(links))
	}
	list := e.mustGet(html.UnescapeString(links[0][1]))
	if n := strings.Count(list, `data-href="/projects/eg/traces/`); n != 5 {
		t.Errorf("the timeouts' link lists %d spans, want 5", n)
	}
	lacks(t, "the timeouts' spans", list, fmt.Sprintf("%016x", 0xf0), `aria-invalid="true"`)

	// The way in: the header's ERRORS figure, the errors toggles.
	contains(t, "header", e.mustGet("/projects/eg"), `data-error-groups-link>Error groups →</a>`)
	contains(t, "traces toggle", e.mustGet("/projects/eg?errors=1"), `data-error-groups-link>Group the failures →</a>`)
	contains(t, "spans toggle", e.mustGet("/projects/eg/spans?status=error"), `data-error-groups-link>Group the failures →</a>`)

	// A range without failures says so.
	contains(t, "empty", e.mustGet("/projects/eg/errors?range=15m"), "No span failed in this time range.")
}
