package web

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/span"
)

// TestJSONStringMessagesAndPreviews sends a model call as the "Observability
// with Phoenix" tutorial records it (messages, answer and documents as JSON
// strings) with the request as input.value, and checks what the pages show:
// the question and the answer in every list, not the request's JSON; the
// transcript; and the attributes the application set, in the Overview.
func TestJSONStringMessagesAndPreviews(t *testing.T) {
	e := newEnv(t)
	const trace = "5f0000000000000000000000000000aa"
	const llm, ret = "5f000000000000a1", "5f000000000000a2"
	at := time.Now().Add(-time.Hour).UnixNano()
	e.write(
		span.Span{Project: "tutorial", TraceID: trace, SpanID: llm, Name: "llm_call", StartTime: at, EndTime: at + 2e9,
			StatusCode: span.StatusOK, Attributes: span.Attributes{
				str(span.AttrSpanKind, "LLM"), str(span.AttrSessionID, "conv-9"),
				str("input.value", `{"model": "gpt-4o-mini", "max_tokens": 256, "messages": [{"role": "user", "content": "…"}]}`),
				str("input.mime_type", "application/json"),
				str("llm.input_messages", `[{"role": "system", "content": "You answer billing questions."}, {"role": "user", "content": "Can I get a refund after 40 days?"}]`),
				str("llm.output_messages", `[{"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "lookup_policy", "arguments": "{\"topic\": \"refunds\"}"}}]}]`),
				str("agent.stop_reason", "tool_call"), num("agent.iterations", 2),
			}},
		span.Span{Project: "tutorial", TraceID: trace, SpanID: ret, ParentID: llm, Name: "retrieve", StartTime: at + 1e8, EndTime: at + 2e8,
			StatusCode: span.StatusOK, Attributes: span.Attributes{
				str(span.AttrSpanKind, "RETRIEVER"), str("input.value", "refund window"), num("retrieval.top_k", 2),
				str("retrieval.documents", `[{"id": "doc-7", "score": 0.92, "text": "Refunds are accepted within 30 days."}]`),
			}},
	)
	if err := e.store.WaitIndexed(context.Background()); err != nil {
		t.Fatal(err)
	}
	const question, answer = "Can I get a refund after 40 days?", `lookup_policy({&#34;topic&#34;: &#34;refunds&#34;})`
	for _, path := range []string{
		"/projects/tutorial", "/projects/tutorial/spans", "/projects/tutorial/sessions",
		"/projects/tutorial/spans?q=refund", "/projects/tutorial?filter=" + url.QueryEscape("span_kind == 'LLM'"),
		"/projects/tutorial/spans?filter=" + url.QueryEscape("llm.input_messages.1.message.role == 'user'"),
	} {
		body := e.mustGet(path)
		contains(t, path, body, question, answer)
		lacks(t, path, body, "max_tokens")
	}
	body := e.mustGet("/projects/tutorial/traces/" + trace + "?span=" + llm)
	contains(t, "LLM span", body, `class="msg role-system"`, "You answer billing questions.", `class="msg role-user"`, question,
		`class="toolcall"`, "lookup_policy", "call_1",
		"Custom attributes", "agent.stop_reason", "tool_call", "agent.iterations")
	body = e.mustGet("/projects/tutorial/traces/" + trace + "?span=" + ret)
	contains(t, "retriever span", body, "doc-7", "0.92", "Refunds are accepted within 30 days.", "Custom attributes", "retrieval.top_k")
}
