package pyotel_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/loupe-dev/loupe/e2e/e2etest"
	"github.com/loupe-dev/loupe/e2e/e2etest/chrome"
)

// checkUI looks at the spans as a person debugging the support bot does.
func checkUI(t *testing.T, srv *e2etest.Server, app appResult) {
	b := newBrowser(t, srv.HTTPURL)

	// The traces list: the question and the answer, not JSON.
	b.open("/projects/" + project)
	b.see("table.grid", question, answer, shipping, shippingAnswer)
	b.lacks("table.grid", `"messages"`, "max_tokens", `"role"`)
	b.shot("pyotel-01-traces")

	// The spans list previews each model call the same way.
	b.open("/projects/" + project + "/spans")
	b.see("table.grid", question, `search_policy({"query": "refund window"})`, answer)
	b.lacks("table.grid", `"role"`)
	b.shot("pyotel-02-spans")

	// The session's first input and last output, likewise.
	b.open("/projects/" + project + "/sessions")
	b.see("table.grid", "conv-7", question, answer)

	agent := app.Sent["support_agent"].TraceID
	spanURL := func(name string) string {
		return "/projects/" + project + "/traces/" + agent + "?span=" + app.Sent[name].SpanID
	}

	// The first model call: the prompt, and the tool call it made.
	b.open(spanURL("plan"))
	b.see(".detail .msg.role-system", "You answer questions about the shop's policies.")
	b.see(".detail .msg.role-user", question)
	b.see(".detail .toolcall", "search_policy", "call_1", `"query": "refund window"`)
	b.see(".detail", "Invocation parameters", `"temperature": 0`)
	b.shot("pyotel-03-llm-tool-call")

	// The second: the tool's result linked to the call, and the answer.
	b.open(spanURL("answer"))
	b.see(".detail .msg.role-tool", "search_policy", "call_1", "Refunds are accepted within 30 days")
	b.see("#msg-out-0.role-assistant", answer)
	if href := b.eval(`document.querySelector(".detail .msg.role-tool a")?.getAttribute("href") ?? ""`); !strings.HasPrefix(href, "#call-in-2-") {
		t.Errorf("the tool result links to %q, want its call", href)
	}
	b.shot("pyotel-04-llm-answer")
	// Below it, the prompt template with its variables by name.
	b.see(".detail pre.template + dl.kv", "question", question, "policy", "policy-7")
	b.do("scroll to the template", chromedp.ScrollIntoView(chromedp.CSS(".detail pre.template")))
	b.shot("pyotel-05-template")

	// The retriever: documents ranked, with their scores.
	b.open(spanURL("search_policy"))
	b.see(".detail .docs", "policy-7", "0.92", "Refunds are accepted within 30 days", "policy-9", "0.41", "Gift cards")
	b.see(".detail .kv.custom", "retrieval.top_k", "2")
	b.shot("pyotel-06-retriever")

	// The agent: what the application recorded about the run, in the Overview.
	b.open(spanURL("support_agent"))
	b.see(`.dpanel[data-panel="overview"] .kv.custom`, "agent.stop_reason", "final_answer", "agent.iterations", "2")
	b.shot("pyotel-07-agent-overview")

	// The model call on its own: its transcript, not the request's JSON.
	b.open("/projects/" + project + "/traces/" + app.Sent["chat"].TraceID + "?span=" + app.Sent["chat"].SpanID)
	b.see(".detail .msg.role-user", shipping)
	b.see("#msg-out-0.role-assistant", shippingAnswer)
	b.shot("pyotel-08-chat")
}

// browser drives one headless Chromium tab.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string
}

// newBrowser starts headless Chromium, or skips the test when it is not
// installed (fails instead when LOUPE_E2E_REQUIRE=1, as in CI).
func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	return &browser{t: t, ctx: chrome.Start(t), base: base, dir: chrome.ScreenshotDir(t)}
}

func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.shot("pyotel-failed-" + strings.NewReplacer(" ", "-", "/", "-").Replace(what))
		b.t.Fatalf("%s: %v", what, err)
	}
}

func (b *browser) open(path string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.base+path), chromedp.WaitReady(chromedp.CSS("body")))
}

// text is the visible text of the first element matching sel.
func (b *browser) text(sel string) string {
	b.t.Helper()
	b.do("wait for "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("read %s: %v", sel, err)
	}
	// Number grouping uses narrow no-break spaces.
	return strings.NewReplacer("\u202f", " ", "\u00a0", " ").Replace(s)
}

// see fails unless the element matching sel shows every one of wants, in
// any letter case.
func (b *browser) see(sel string, wants ...string) {
	b.t.Helper()
	got := b.text(sel)
	for _, w := range wants {
		// CSS upper-cases headings and roles.
		if !strings.Contains(strings.ToLower(got), strings.ToLower(w)) {
			b.shot("pyotel-failed-see")
			b.t.Errorf("%s shows %.400q, want it to contain %q", sel, strings.Join(strings.Fields(got), " "), w)
		}
	}
}

// lacks fails if the element matching sel shows any of unwanted.
func (b *browser) lacks(sel string, unwanted ...string) {
	b.t.Helper()
	got := b.text(sel)
	for _, u := range unwanted {
		if strings.Contains(got, u) {
			b.t.Errorf("%s shows %q: %.400q", sel, u, strings.Join(strings.Fields(got), " "))
		}
	}
}

func (b *browser) eval(expr string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return s
}

// shot saves a PNG of the viewport as name.png.
func (b *browser) shot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(b.dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Errorf("save screenshot: %v", err)
		return
	}
	b.t.Logf("screenshot: %s", path)
}
