package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// doWithCookie is do with a cookie the reader's browser holds.
func (e *testEnv) doWithCookie(path, cookie string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Host = "loupe.example:6006"
	req.Header.Set("Cookie", cookie)
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, req)
	return rec
}

func TestMarkdownOnRequest(t *testing.T) {
	e := newEnv(t)
	spans := agentRun("support-bot", agentTrace, "conv-1", time.Now())
	spans[1].Attributes = append(spans[1].Attributes,
		str("llm.output_messages.1.message.role", "assistant"),
		str("llm.output_messages.1.message.content", "**Refunds** within 30 days <script>x()</script> [a](javascript:x)"))
	e.write(spans...)
	path := "/projects/support-bot/spans/" + llmSpan

	// By default the text is as the model wrote it, and the toggle says so.
	body := e.mustGet(path)
	contains(t, "text mode", body, "**Refunds** within 30 days &lt;script&gt;", `data-textmode="text" aria-selected="true"`, `data-fragment-url="/projects/support-bot/spans/`+llmSpan+`"`)
	lacks(t, "text mode", body, `class="mdbody"`)

	// With the reader's choice, prose is Markdown; JSON stays verbatim.
	rec := e.doWithCookie(path, "loupe_text=markdown")
	body = rec.Body.String()
	contains(t, "markdown mode", body, `<div class="mdbody"><p><strong>Refunds</strong> within 30 days`, `data-textmode="markdown" aria-selected="true"`,
		`&#34;temperature&#34;: 0.2`)
	lacks(t, "markdown mode", body, "<script>x()", `href="javascript`)

	// The whole value, rendered, for "show all".
	rec = e.do(path + "/value?key=" + "llm.output_messages.1.message.content" + "&format=markdown")
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") ||
		rec.Header().Get("Content-Security-Policy") != "default-src 'none'" || !strings.Contains(rec.Body.String(), "<strong>Refunds</strong>") {
		t.Errorf("markdown value: %d %v %q", rec.Code, rec.Header(), rec.Body)
	}
}

func TestUnknownPaths(t *testing.T) {
	e := newEnv(t)
	req := httptest.NewRequest(http.MethodGet, "/no/such/page", nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), `class="notfound"`) {
		t.Errorf("a browser's unknown path: %d, want the 404 page", rec.Code)
	}
	if rec := e.do("/no/such/page"); rec.Code != http.StatusNotFound || strings.Contains(rec.Body.String(), "<html") {
		t.Errorf("a client's unknown path: %d %q, want a plain 404", rec.Code, rec.Body)
	}
}

func TestColumnsCookie(t *testing.T) {
	e := newEnv(t)
	e.write(agentRun("support-bot", agentTrace, "conv-1", time.Now())...)
	body := e.mustGet("/projects/support-bot")
	contains(t, "default columns", body, `hide-c-trace hide-c-spans" data-rows data-columns="traces"`)
	body = e.doWithCookie("/projects/support-bot", "loupe_cols_traces=user.bogus").Body.String()
	contains(t, "chosen columns", body, `class="grid hide-c-user" data-rows`, `<input type="checkbox" data-col="trace" checked>`)
	body = e.doWithCookie("/projects/support-bot", "loupe_cols_traces=-").Body.String()
	contains(t, "every column", body, `class="grid" data-rows`)
}
