package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/web/view"
)

func TestFirstRun(t *testing.T) {
	e := newEnv(t)
	body := e.mustGet("/")
	contains(t, "first run", body,
		"Send your first trace",
		"http://loupe.example:6006/v1/traces",                  // OTLP/HTTP at the address the browser used
		`endpoint="http://loupe.example:4317"`,                 // gRPC: the request's host, the configured port
		"PHOENIX_COLLECTOR_ENDPOINT=http://loupe.example:6006", // Python over HTTP
		"loupe.Register(ctx",                                   // Go SDK
		`loupe.WithProjectName("my-app")`,
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://loupe.example:6006/v1/traces",
		"data-first-run", `data-live="*"`)

	e.h.grpcTLS = true
	body = e.mustGet("/")
	contains(t, "first run, gRPC over TLS", body, `endpoint="https://loupe.example:4317"`, "OTEL_EXPORTER_OTLP_ENDPOINT=https://loupe.example:4317")
}

func TestHome(t *testing.T) {
	e := newEnv(t)
	e.write(agentRun("support-bot", agentTrace, "conv-1", time.Now().Add(-time.Hour))...)
	body := e.mustGet("/")
	contains(t, "home", body, "Projects", `href="/projects/support-bot"`, "18.4 s", "1\u202f430")
	lacks(t, "home", body, "Send your first trace")
	// Outside the time range the project is listed with no traces.
	body = e.mustGet("/?range=15m")
	contains(t, "home, last 15 minutes", body, `href="/projects/support-bot?range=15m"`)
	lacks(t, "home, last 15 minutes", body, "18.4 s")
}

func TestProjectTraces(t *testing.T) {
	e := newEnv(t)
	now := time.Now()
	e.write(agentRun("support-bot", agentTrace, "conv-1", now.Add(-2*time.Hour))...)
	e.write(agentRun("support-bot", traceIDn(2), "conv-1", now.Add(-time.Hour))...)
	body := e.mustGet("/projects/support-bot")
	contains(t, "traces", body,
		"<h1>support-bot</h1>", "agent.run", "What is our refund policy?", "Refunds within 30 days.",
		"/projects/support-bot/traces/"+agentTrace, `class="err"`, "alice", "/projects/support-bot/sessions/conv-1",
		`data-live="support-bot"`, "Latency p50", "18.4 s")
	// Newest first by default; oldest first on request.
	if i, j := strings.Index(body, traceIDn(2)), strings.Index(body, agentTrace); i < 0 || j < 0 || i > j {
		t.Errorf("traces not newest first")
	}
	asc := e.mustGet("/projects/support-bot?dir=asc")
	if i, j := strings.Index(asc, traceIDn(2)), strings.Index(asc, agentTrace); i < j {
		t.Errorf("dir=asc not oldest first")
	}
	e.mustGet("/projects/support-bot?sort=latency")
}

func TestProjectTracesPaging(t *testing.T) {
	e := newEnv(t)
	now := time.Now()
	var spans []span.Span
	for i := 1; i <= pageSize+5; i++ {
		spans = append(spans, span.Span{Project: "p", TraceID: traceIDn(i), SpanID: traceIDn(i)[16:], Name: "req",
			StartTime: now.Add(-time.Duration(i) * time.Minute).UnixNano(), EndTime: now.Add(-time.Duration(i)*time.Minute).UnixNano() + 1e6})
	}
	e.write(spans...)
	body := e.mustGet("/projects/p")
	if n := strings.Count(body, `<tr data-href=`); n != pageSize {
		t.Errorf("first page has %d rows, want %d", n, pageSize)
	}
	before, _, _ := strings.Cut(body, `" rel="next"`)
	next := before[strings.LastIndex(before, `href="`)+len(`href="`):]
	if next == "" {
		t.Fatal("no next page link")
	}
	body = e.mustGet(strings.ReplaceAll(next, "&amp;", "&"))
	if n := strings.Count(body, `<tr data-href=`); n != 5 {
		t.Errorf("second page has %d rows, want 5", n)
	}
}

func TestProjectSpansAndSessions(t *testing.T) {
	e := newEnv(t)
	e.write(agentRun("support-bot", agentTrace, "conv-1", time.Now().Add(-time.Hour))...)
	body := e.mustGet("/projects/support-bot/spans")
	contains(t, "spans", body, "tool.search_docs", "retrieval", "RETRIEVER", "?span="+docSpan)
	body = e.mustGet("/projects/support-bot/spans?kind=RETRIEVER")
	contains(t, "spans of a kind", body, "?span="+docSpan)
	lacks(t, "spans of a kind", body, "?span="+toolSpan)
	body = e.mustGet("/projects/support-bot/spans?roots=1")
	contains(t, "root spans", body, "?span="+rootSpan)
	lacks(t, "root spans", body, "?span="+llmSpan)
	body = e.mustGet("/projects/support-bot/spans?status=error")
	contains(t, "error spans", body, "?span="+badSpan)
	lacks(t, "error spans", body, "?span="+rootSpan)

	body = e.mustGet("/projects/support-bot/sessions")
	contains(t, "sessions", body, "conv-1", "What is our refund policy?", "Refunds within 30 days.", "alice", "18.4 s")
	body = e.mustGet("/projects/support-bot/sessions/conv-1")
	contains(t, "session", body, "Turn 1", `class="bubble user"`, "What is our refund policy?", "Refunds within 30 days.",
		"/projects/support-bot/traces/"+agentTrace, "1\u202f430 tokens")
}

func TestNotFoundPages(t *testing.T) {
	e := newEnv(t)
	e.write(agentRun("support-bot", agentTrace, "conv-1", time.Now())...)
	tests := []struct {
		path  string
		wants []string
	}{
		{"/projects/nope", []string{"Project not found", "nope", `href="/"`}},
		{"/projects/nope/spans", []string{"Project not found"}},
		{"/projects/support-bot/traces/" + traceIDn(99), []string{"Trace not found", traceIDn(99), `href="/projects/support-bot"`}},
		{"/traces/" + traceIDn(99), []string{"Trace not found", "32 hex digits"}},
		{"/traces?id=nothing-like-an-id", []string{"Trace not found"}},
		{"/projects/support-bot/sessions/nope", []string{"Session not found", `href="/projects/support-bot/sessions"`}},
		{"/projects/support-bot/nonsense", []string{"Page not found"}},
	}
	for _, tc := range tests {
		code, body := e.get(tc.path)
		if code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", tc.path, code)
		}
		contains(t, tc.path, body, tc.wants...)
		contains(t, tc.path, body, `name="id"`) // a way to try another id
	}
}

func TestTracePage(t *testing.T) {
	e := newEnv(t)
	e.write(agentRun("support-bot", agentTrace, "conv-1", time.Now())...)
	body := e.mustGet("/projects/support-bot/traces/" + agentTrace)
	contains(t, "trace", body,
		"agent.run", "18.4 s", "4.2 s", "tool.search_docs", "retrieval",
		`data-id="`+badSpan+`"`, `class="row err"`, `class="row err-below"`, // the error and its ancestor
		`aria-selected="true" data-id="`+badSpan+`"`, // the failing span is selected by default
		"Export JSON", "/traces/"+agentTrace+"/export",
		`--l:0.00;--w:100.00`) // the root's bar spans the axis
	// The selected span: an LLM call, rendered as a transcript.
	body = e.mustGet("/projects/support-bot/traces/" + agentTrace + "?span=" + llmSpan)
	contains(t, "LLM span", body,
		`class="msg role-system"`, "You are helpful.", `class="msg role-user"`, "What is our refund policy?",
		`class="toolcall"`, "search_docs", "&#34;query&#34;: &#34;refund policy&#34;", "call_1",
		"1\u202f200", "640", "cache read", "gpt-4o-mini", "openai", "&#34;temperature&#34;: 0.2")
	body = e.mustGet("/projects/support-bot/traces/" + agentTrace + "?span=" + docSpan)
	contains(t, "retriever span", body, "doc-7", "0.92", "Refunds are accepted within 30 days.", "--w:100.00")
	body = e.mustGet("/projects/support-bot/traces/" + agentTrace + "?span=" + badSpan + "&tab=events")
	contains(t, "error span", body, "RateLimitError", "Traceback", "rate limited")
	// The status message repeats the exception's: the error shows once.
	lacks(t, "error span", body, `class="errmsg"`)
}

// TestTraceOpening: a trace opens on its first failing span, else its
// first LLM call, else its root, unless the link names a span.
func TestTraceOpening(t *testing.T) {
	e := newEnv(t)
	now := time.Now()
	e.write(agentRun("support-bot", agentTrace, "conv-1", now)...)
	ok := agentRun("support-bot", traceIDn(2), "conv-2", now)[:4]
	e.write(ok...)
	noLLM := agentRun("support-bot", traceIDn(3), "conv-3", now)
	e.write(noLLM[0], noLLM[2], noLLM[3])
	tests := []struct{ name, path, want string }{
		{"failing", agentTrace, badSpan},
		{"from the list", agentTrace + "?range=24h", badSpan},
		{"no failure", traceIDn(2), ok[1].SpanID},
		{"no LLM call", traceIDn(3), noLLM[0].SpanID},
		{"named", agentTrace + "?span=" + docSpan, docSpan},
		{"named, not in the trace", agentTrace + "?span=" + ok[1].SpanID, badSpan},
	}
	for _, tc := range tests {
		body := e.mustGet("/projects/support-bot/traces/" + tc.path)
		contains(t, tc.name, body, `aria-selected="true" data-id="`+tc.want+`"`, `data-span="`+tc.want+`"`)
	}
}

// TestStatusMessageOnce: the status message shows when it says more than
// the span's exceptions.
func TestStatusMessageOnce(t *testing.T) {
	x := []view.Exception{{Type: "RateLimitError", Message: "rate limited"}}
	tests := []struct {
		msg  string
		exs  []view.Exception
		want string
	}{
		{"rate limited", x, ""},
		{"RateLimitError: rate limited", x, ""},
		{"RateLimitError", x, ""},
		{"upstream said 429", x, "upstream said 429"},
		{"timed out", nil, "timed out"},
		{"", x, ""},
	}
	for _, tc := range tests {
		d := &spanDetail{V: &view.Span{Exceptions: tc.exs}}
		d.Rec.StatusMessage = tc.msg
		if got := d.StatusMessage(); got != tc.want {
			t.Errorf("StatusMessage(%q) = %q, want %q", tc.msg, got, tc.want)
		}
	}
}

func TestTraceRedirects(t *testing.T) {
	e := newEnv(t)
	e.write(agentRun("support-bot", agentTrace, "conv-1", time.Now())...)
	tests := []struct{ path, want string }{
		{"/traces/" + agentTrace, "/projects/support-bot/traces/" + agentTrace},
		{"/traces?id=+" + strings.ToUpper(agentTrace) + "+", "/projects/support-bot/traces/" + agentTrace},
		{"/traces?id=" + docSpan, "/projects/support-bot/traces/" + agentTrace + "?span=" + docSpan},
		{"/projects/wrong-project/traces/" + agentTrace + "?span=" + docSpan, "/projects/support-bot/traces/" + agentTrace + "?span=" + docSpan},
		{"/traces?id=", "/"},
	}
	for _, tc := range tests {
		rec := e.do(tc.path)
		if rec.Code != http.StatusFound || rec.Header().Get("Location") != tc.want {
			t.Errorf("GET %s = %d to %q, want 302 to %q", tc.path, rec.Code, rec.Header().Get("Location"), tc.want)
		}
	}
}

func TestSpanFragmentsAndValues(t *testing.T) {
	e := newEnv(t)
	spans := agentRun("support-bot", agentTrace, "conv-1", time.Now())
	big := strings.Repeat("0123456789", 50_000) // 500 kB
	spans[2].Attributes = append(spans[2].Attributes, str("output.value", big))
	e.write(spans...)

	body := e.mustGet("/projects/support-bot/spans/" + toolSpan)
	contains(t, "span fragment", body, `class="detail"`, "Show all · 488.3 KB", `data-key="output.value"`)
	lacks(t, "span fragment", body, "<html")
	if len(body) > 5*valueLimit {
		t.Errorf("span fragment is %d bytes: the big value was not clipped", len(body))
	}
	rec := e.do("/projects/support-bot/spans/" + toolSpan + "/value?key=output.value")
	if rec.Code != http.StatusOK || rec.Body.String() != big || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Errorf("full value: %d, %d bytes, %q", rec.Code, rec.Body.Len(), rec.Header().Get("Content-Type"))
	}
	if code, _ := e.get("/projects/support-bot/spans/" + toolSpan + "/value?key=nope"); code != http.StatusNotFound {
		t.Errorf("missing attribute = %d, want 404", code)
	}
	if code, _ := e.get("/projects/other/spans/" + toolSpan); code != http.StatusNotFound {
		t.Errorf("span under the wrong project = %d, want 404", code)
	}
}

func TestExport(t *testing.T) {
	e := newEnv(t)
	e.write(agentRun("support-bot", agentTrace, "conv-1", time.Now())...)
	rec := e.do("/projects/support-bot/traces/" + agentTrace + "/export")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Header().Get("Content-Disposition"), "attachment") {
		t.Fatalf("export = %d, %v", rec.Code, rec.Header())
	}
	var doc struct {
		TraceID string `json:"trace_id"`
		Spans   []struct {
			SpanID     string         `json:"span_id"`
			ParentID   *string        `json:"parent_id"`
			Attributes map[string]any `json:"attributes"`
			Events     []any          `json:"events"`
		} `json:"spans"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("export is not JSON: %v\n%s", err, rec.Body.String())
	}
	if doc.TraceID != agentTrace || len(doc.Spans) != 5 || doc.Spans[0].ParentID != nil || doc.Spans[0].Attributes["input.value"] != "What is our refund policy?" {
		t.Errorf("export = %+v", doc)
	}
}

func TestUntrustedTextIsEscaped(t *testing.T) {
	e := newEnv(t)
	attack := `<script>alert(1)</script><img src=x onerror=alert(2)>`
	s := span.Span{Project: "p", TraceID: agentTrace, SpanID: rootSpan, Name: attack, StartTime: time.Now().UnixNano(),
		EndTime: time.Now().UnixNano() + 1e6, Attributes: span.Attributes{
			str(span.AttrSpanKind, "LLM"), str("input.value", attack), str("user.id", attack),
			str("llm.input_messages.0.message.role", `"><script>x</script>`),
			str("llm.input_messages.0.message.content", attack),
			str("llm.input_messages.0.message.contents.0.message_content.image.image.url", "javascript:alert(3)"),
		}}
	e.write(s)
	for _, path := range []string{"/", "/projects/p", "/projects/p/spans", "/projects/p/traces/" + agentTrace} {
		body := e.mustGet(path)
		lacks(t, path, body, "<script>alert", "<img src=x", `"><script>`, `src="javascript:`)
	}
}

func TestStatic(t *testing.T) {
	e := newEnv(t)
	rec := e.do(assetURL("app.css"))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Header().Get("Cache-Control"), "immutable") ||
		!strings.HasPrefix(rec.Header().Get("Content-Type"), "text/css") {
		t.Errorf("app.css: %d %v", rec.Code, rec.Header())
	}
	rec = e.do(assetURL("app.js"))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Errorf("app.js: %d %v", rec.Code, rec.Header())
	}
	rec = e.do("/static/0ld/app.css")
	if rec.Code != http.StatusOK || rec.Header().Get("Cache-Control") != "no-cache" {
		t.Errorf("old version: %d %v", rec.Code, rec.Header())
	}
	if rec := e.do(assetURL("nope.js")); rec.Code != http.StatusNotFound {
		t.Errorf("missing asset = %d", rec.Code)
	}
	body := e.mustGet("/")
	contains(t, "layout", body, assetURL("app.css"), assetURL("app.js"))
}

func TestImagesInMessages(t *testing.T) {
	e := newEnv(t)
	png := "data:image/png;base64,iVBORw0KGgo="
	e.write(span.Span{Project: "p", TraceID: agentTrace, SpanID: rootSpan, Name: "vision", StartTime: time.Now().UnixNano(),
		EndTime: time.Now().UnixNano() + 1e6, Attributes: span.Attributes{
			str(span.AttrSpanKind, "LLM"),
			str("llm.input_messages.0.message.role", "user"),
			str("llm.input_messages.0.message.contents.0.message_content.type", "text"),
			str("llm.input_messages.0.message.contents.0.message_content.text", "What is in these pictures?"),
			str("llm.input_messages.0.message.contents.1.message_content.type", "image"),
			str("llm.input_messages.0.message.contents.1.message_content.image.image.url", "https://img.example/cat.png"),
			str("llm.input_messages.0.message.contents.2.message_content.type", "image"),
			str("llm.input_messages.0.message.contents.2.message_content.image.image.url", png),
		}})
	body := e.mustGet("/projects/p/traces/" + agentTrace)
	contains(t, "images", body, "What is in these pictures?", `<img src="https://img.example/cat.png"`, `<img src="`+png+`"`)
}
