package web

import (
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/span"
)

// One litellm.completion, as litellm's and the OpenAI SDK's instrumentations
// record it, an embedding call and a call to a free model: every place that
// shows a cost writes digits a person can compare, the call is counted
// once, and litellm's span says where.
func TestCostsAPersonCanRead(t *testing.T) {
	e := newEnv(t)
	start := time.Now().Add(-time.Hour).UnixNano()
	const trace = "1f7651916cd43dd8448eb211c80319c0"
	sp := func(id, parent, name string, offset int64, attrs ...span.Attr) span.Span {
		return span.Span{Project: "litellm-app", TraceID: trace, SpanID: id, ParentID: parent, Name: name,
			StartTime: start + offset*1e6, EndTime: start + (offset+100)*1e6, StatusCode: span.StatusOK, Attributes: attrs}
	}
	e.writePriced(
		sp("c000000000000003", "c000000000000002", "ChatCompletion", 20, str(span.AttrSpanKind, "LLM"),
			str(span.AttrModelName, "gpt-4o-mini-2024-07-18"), num(span.AttrTokensPrompt, 30), num(span.AttrTokensComplete, 19)),
		sp("c000000000000002", "c000000000000001", "completion", 10, str(span.AttrSpanKind, "LLM"),
			str(span.AttrModelName, "openai/gpt-4o-mini"), num(span.AttrTokensPrompt, 30), num(span.AttrTokensComplete, 19),
			span.Attr{Key: "llm.cost.total", Value: span.DoubleValue(0.0000159)}),
		sp("c000000000000004", "c000000000000001", "CreateEmbeddings", 200, str(span.AttrSpanKind, "EMBEDDING"),
			str(span.AttrEmbeddingModel, "text-embedding-3-small"), num(span.AttrTokensPrompt, 8), num(span.AttrTokensTotal, 8)),
		sp("c000000000000001", "", "agent", 0, str(span.AttrSpanKind, "AGENT")),
	)
	const free = "2f7651916cd43dd8448eb211c80319c0"
	e.writePriced(span.Span{Project: "litellm-app", TraceID: free, SpanID: "d000000000000001", Name: "completion",
		StartTime: start, EndTime: start + 1e8, StatusCode: span.StatusOK,
		Attributes: span.Attributes{str(span.AttrSpanKind, "LLM"), str(span.AttrModelName, "openrouter/google/gemma-3n-e4b-it:free"),
			num(span.AttrTokensPrompt, 30), num(span.AttrTokensComplete, 19)}})

	// 30 × $0.15/M + 19 × $0.60/M = $0.0000159 for the call, once; 8 ×
	// $0.02/M = $0.00000016 for the embedding; $0.00001606 together.
	body := e.mustGet("/projects/litellm-app/traces/" + trace)
	contains(t, "trace header", body, `title="prompt 38 · completion 19">57</dd>`, "<dt>Cost</dt><dd>$0.0000161</dd>")
	lacks(t, "trace header", body, "&lt;$0.0001", "<$0.0001", ">106<")
	body = e.mustGet("/projects/litellm-app?range=24h")
	contains(t, "traces list", body, "$0.0000161", ">57<", "$0")
	contains(t, "top models", body, "gpt-4o-mini-2024-07-18", "$0.0000159", "text-embedding-3-small", "$0.00000016")
	lacks(t, "top models", body, "openai/gpt-4o-mini", "<$0.0001", "&lt;$0.0001", "no price")

	// litellm's span keeps its own numbers and says where its call counts.
	body = e.mustGet("/projects/litellm-app/traces/" + trace + "?span=c000000000000002")
	contains(t, "wrapper span", body, "Not in the totals", "counted in its child", "<b>ChatCompletion</b>",
		"<code>gpt-4o-mini-2024-07-18</code>", "?span=c000000000000003", "<b>$0.0000159</b>")
	body = e.mustGet("/projects/litellm-app/traces/" + trace + "?span=c000000000000003")
	lacks(t, "counted span", body, "Not in the totals")
	contains(t, "counted span", body, "$0.0000045", "$0.0000114")

	// A free model's call costs $0, not "no price".
	body = e.mustGet("/projects/litellm-app/traces/" + free)
	contains(t, "free trace", body, "<dt>Cost</dt><dd>$0</dd>")
	lacks(t, "free trace", body, "no price")
	body = e.mustGet("/projects/litellm-app/traces/" + free + "?span=d000000000000001")
	contains(t, "free span", body, "<b>$0</b>", "meta-llama/llama-3.2-3b-instruct:free")
	lacks(t, "free span", body, "No price for model")
}
