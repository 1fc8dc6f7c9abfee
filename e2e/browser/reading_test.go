package browser_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/loupe-dev/loupe/e2e/e2etest"
)

// markdownAnswer is an answer as models write them, with what must not
// survive rendering: raw HTML and a script link.
const markdownAnswer = "Here is the **refund policy** in short:\n\n" +
	"1. Refunds within *30 days*\n2. Receipt required\n\n" +
	"| plan | window |\n|---|---|\n| basic | 30 days |\n| member | 60 days |\n\n" +
	"```python\nrefund(order_id, reason=\"damaged\")\n```\n\n" +
	"See [the policy](https://help.acme.test/refunds) or [click me](javascript:alert(1)).\n\n" +
	"<script>window.pwned = true</script><img src=x onerror=\"window.pwned = true\">\n\n" +
	"The table above applies to orders placed after March 2026, and members keep the longer window as long as"

// longConversation emits a streamed model call with a long history, an
// answer cut off at max_tokens and a first-token event, as the
// OpenInference OpenAI instrumentor writes it. It returns the trace ID.
func (e *emitter) longConversation(start time.Time, history int, model string, long int) string {
	ms := time.Millisecond
	attrs := []attribute.KeyValue{kind("LLM"),
		attribute.String("llm.model_name", model), attribute.String("llm.provider", "openai"),
		attribute.String("llm.input_messages.0.message.role", "system"),
		attribute.String("llm.input_messages.0.message.content", "You are the support assistant for Acme. Use **Markdown** in answers."),
		attribute.String("llm.output_messages.0.message.role", "assistant"),
		attribute.String("llm.output_messages.0.message.content", markdownAnswer),
		attribute.String("llm.finish_reason", "length"),
		attribute.String("llm.invocation_parameters", `{"model":"`+model+`","max_tokens":512,"stream":true}`),
		attribute.Int("llm.token_count.prompt", 96_000), attribute.Int("llm.token_count.completion", 512),
		attribute.Int("llm.token_count.total", 96_512),
	}
	for i := 1; i <= history; i++ {
		role, text := "user", fmt.Sprintf("Question %d: what about order #%d?", (i+1)/2, 4000+i)
		if i%2 == 0 {
			role, text = "assistant", fmt.Sprintf("Answer %d: order #%d ships on **Monday**.", i/2, 4000+i-1)
		}
		if i == history && long > 0 {
			text = "Here is the whole log:\n" + strings.Repeat("2026-12-07 10:00:00 INFO request served in 12 ms\n", long/48+1)
		}
		attrs = append(attrs, attribute.String(fmt.Sprintf("llm.input_messages.%d.message.role", i), role),
			attribute.String(fmt.Sprintf("llm.input_messages.%d.message.content", i), text))
	}
	ctx, s := e.tr.Start(context.Background(), "openai.chat.completions", trace.WithTimestamp(start), trace.WithAttributes(attrs...))
	s.AddEvent("First Token Stream Event", trace.WithTimestamp(start.Add(400*ms)))
	s.End(trace.WithTimestamp(start.Add(6400 * ms)))
	return trace.SpanContextFromContext(ctx).TraceID().String()
}

// TestReadALongConversation is a person reading a long model call: the
// history folds, the answer reads as Markdown when asked (and stays so),
// each message copies whole, "show all" grows the message in place, and
// the header says the answer was cut off, how full the context was and
// how fast the stream came.
func TestReadALongConversation(t *testing.T) {
	srv := e2etest.Start(t, e2etest.Build(t))
	p := newPage(t, srv.HTTPURL)
	app := newEmitter(t, srv.HTTPURL, "support-bot")
	id := app.longConversation(time.Now().Add(-5*time.Minute), 13, "gpt-4o-mini", 40<<10)
	app.flush()

	p.open("/projects/support-bot/traces/" + id)
	p.waitFor("the span detail", `!!document.querySelector(".detail .msg")`, 10*time.Second)

	// The header: the cut-off answer, the context window, the stream.
	p.see(".detail .llmfacts", "Hit the token limit", "96 000 / 128 000", "75%", "first token", "400 ms", "85 tokens/s")
	p.see(".detail h3 .warn-text", "finish: length")

	// The history folds: the system message, then 9 earlier messages
	// closed, then the last 4.
	p.see("details.earlier > summary", "Show 9 earlier messages")
	if open := eval[bool](p, `document.querySelector("details.earlier").open`); open {
		t.Error("the earlier messages are open at first")
	}
	if n := eval[int](p, `[...document.querySelectorAll(".detail .msg")].filter(m => m.checkVisibility()).length`); n != 6 {
		t.Errorf("%d messages visible, want 6 (system, 4 newest, the answer)", n)
	}
	p.shot("40-long-history-text")
	p.click("details.earlier > summary")
	p.see("details.earlier", "Question 1: what about order #4001?")

	// Copy a message: the whole value, not the clipped text on the page.
	p.do("watch the clipboard", chromedp.Evaluate[chromedp.Void](`navigator.clipboard.writeText = async (t) => { window.copied = t }`))
	p.click(`.msg:has(.showall) .msg-act .copy`)
	p.waitFor("the copy", `typeof window.copied === "string"`, 5*time.Second)
	if got := eval[int](p, `window.copied.length`); got < 40<<10 {
		t.Errorf("copied %d bytes of the long message, want it whole (over %d)", got, 40<<10)
	}

	// Show all grows the message in place: no scroller inside the pane.
	p.click(`.msg .showall`)
	p.waitFor("the whole message", `!!document.querySelector(".msg .text.full")`, 10*time.Second)
	if nested := eval[bool](p, `(() => { const pre = document.querySelector(".msg .text.full pre"); return pre.scrollHeight > pre.clientHeight + 1 })()`); nested {
		t.Error("the message shown whole scrolls inside the span pane")
	}

	// Markdown, on request: formatted, and nothing the text smuggled in.
	p.click(`[data-textmode="markdown"]`)
	p.waitFor("the Markdown rendering", `!!document.querySelector(".detail .mdbody table")`, 10*time.Second)
	p.see("#msg-out-0 .mdbody", "refund policy", "member", "60 days", `refund(order_id, reason="damaged")`)
	checks := map[string]string{
		"a bold run":          `!!document.querySelector("#msg-out-0 .mdbody strong")`,
		"an ordered list":     `document.querySelectorAll("#msg-out-0 .mdbody ol li").length === 2`,
		"a code block":        `!!document.querySelector("#msg-out-0 .mdbody pre code.language-python")`,
		"a safe link":         `document.querySelector('.mdbody a[href="https://help.acme.test/refunds"]')?.rel === "noopener noreferrer nofollow"`,
		"no script link":      `![...document.querySelectorAll(".mdbody a")].some(a => a.href.startsWith("javascript:"))`,
		"no raw html":         `!document.querySelector(".detail .mdbody script, .detail .mdbody img")`,
		"nothing ran":         `window.pwned === undefined`,
		"the toggle says so":  `document.querySelector('[data-textmode="markdown"]').getAttribute("aria-selected") === "true"`,
		"json stays verbatim": `!document.querySelector(".detail .is-json .mdbody")`,
	}
	for what, cond := range checks {
		if !eval[bool](p, cond) {
			t.Errorf("Markdown: %s: %s is false", what, cond)
		}
	}
	p.do("scroll to the answer", chromedp.Evaluate[chromedp.Void](`document.querySelector("#msg-out-0").scrollIntoView({block: "center"})`))
	p.shot("41-markdown")
	p.darkMode(true)
	p.shot("41-markdown-dark")
	p.darkMode(false)

	// Remembered: the page opened again renders Markdown at once.
	p.open("/projects/support-bot/traces/" + id)
	p.waitFor("Markdown after a reload", `!!document.querySelector(".detail .mdbody table")`, 10*time.Second)
	// Show all in Markdown renders the whole message, still safely.
	p.click(`details.earlier > summary`)
	p.click(`.msg .showall`)
	p.waitFor("the whole message as Markdown", `!!document.querySelector(".msg .text.md.full .mdbody")`, 10*time.Second)

	// And back to text: the characters the model wrote.
	p.click(`[data-textmode="text"]`)
	p.waitFor("the text rendering", `!document.querySelector(".detail .mdbody")`, 10*time.Second)
	p.see("#msg-out-0 pre", "**refund policy**", "<script>window.pwned = true</script>")
}
