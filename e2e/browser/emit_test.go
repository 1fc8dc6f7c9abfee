package browser_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// emitter sends OpenInference spans to the server under test with the
// OpenTelemetry Go SDK, as an instrumented application would.
type emitter struct {
	t  *testing.T
	tp *sdktrace.TracerProvider
	tr trace.Tracer
}

func newEmitter(t *testing.T, httpURL, project string) *emitter {
	t.Helper()
	return newEmitterWithKey(t, httpURL, project, "")
}

// newEmitterWithKey is newEmitter for a server that asks for an API key.
func newEmitterWithKey(t *testing.T, httpURL, project, key string) *emitter {
	t.Helper()
	ctx := context.Background()
	opts := []otlptracehttp.Option{otlptracehttp.WithEndpoint(strings.TrimPrefix(httpURL, "http://")), otlptracehttp.WithInsecure()}
	if key != "" {
		opts = append(opts, otlptracehttp.WithHeaders(map[string]string{"Authorization": "Bearer " + key}))
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("openinference.project.name", project))),
		sdktrace.WithRawSpanLimits(sdktrace.SpanLimits{AttributeCountLimit: 10_000, AttributeValueLengthLimit: -1,
			EventCountLimit: 128, LinkCountLimit: 128, AttributePerEventCountLimit: 128, AttributePerLinkCountLimit: 128}),
	)
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	return &emitter{t: t, tp: tp, tr: tp.Tracer("loupe-browser-test")}
}

// flush returns once every span ended so far is stored: the server
// acknowledges an export only after its spans are committed.
func (e *emitter) flush() {
	e.t.Helper()
	if err := e.tp.ForceFlush(context.Background()); err != nil {
		e.t.Fatalf("flush spans: %v", err)
	}
}

// span starts a span at start and ends it after d.
func (e *emitter) span(ctx context.Context, name string, start time.Time, d time.Duration, attrs ...attribute.KeyValue) (context.Context, func(...trace.SpanEndOption)) {
	ctx, s := e.tr.Start(ctx, name, trace.WithTimestamp(start), trace.WithAttributes(attrs...))
	return ctx, func(opts ...trace.SpanEndOption) {
		s.End(append([]trace.SpanEndOption{trace.WithTimestamp(start.Add(d))}, opts...)...)
	}
}

func kind(k string) attribute.KeyValue { return attribute.String("openinference.span.kind", k) }

// turn is one request to the support agent.
type turn struct {
	Question, Answer string
	Session, User    string
	BigOutput        int // bytes of a page the fetch tool returns, 0 for none
}

// agentRun emits an agent run shaped like the one a person debugs: an LLM
// call that asks for a tool, the tool with a retrieval (and its embedding)
// under it, and a second LLM call that answers, or fails. It returns the
// trace ID.
func (e *emitter) agentRun(start time.Time, t turn) string {
	ms := time.Millisecond
	ctx, endRoot := e.span(context.Background(), "agent.run", start, 18400*ms, kind("AGENT"),
		attribute.String("input.value", t.Question), attribute.String("output.value", t.Answer),
		attribute.String("session.id", t.Session), attribute.String("user.id", t.User),
		attribute.String("metadata", `{"release":"2026.11.2","region":"eu-west-1"}`),
		attribute.StringSlice("tag.tags", []string{"prod", "support"}))
	traceID := trace.SpanContextFromContext(ctx).TraceID().String()

	_, end := e.span(ctx, "llm.chat", start.Add(120*ms), 4200*ms, kind("LLM"),
		attribute.String("llm.model_name", "gpt-4o-mini"), attribute.String("llm.provider", "openai"),
		attribute.String("llm.system", "openai"),
		attribute.String("llm.input_messages.0.message.role", "system"),
		attribute.String("llm.input_messages.0.message.content", "You are the support assistant for Acme. Answer from the documentation only; search before answering."),
		attribute.String("llm.input_messages.1.message.role", "user"),
		attribute.String("llm.input_messages.1.message.content", t.Question),
		attribute.String("llm.output_messages.0.message.role", "assistant"),
		attribute.String("llm.output_messages.0.message.tool_calls.0.tool_call.id", "call_7Yx2"),
		attribute.String("llm.output_messages.0.message.tool_calls.0.tool_call.function.name", "search_docs"),
		attribute.String("llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments", `{"query":"refund policy","top_k":3}`),
		attribute.String("llm.finish_reason", "tool_calls"),
		attribute.String("llm.invocation_parameters", `{"model":"gpt-4o-mini","temperature":0.2,"max_tokens":512}`),
		attribute.String("llm.tools.0.tool.json_schema", `{"type":"function","function":{"name":"search_docs","description":"Search the help centre","parameters":{"type":"object","properties":{"query":{"type":"string"}}}}}`),
		attribute.String("llm.prompt_template.template", "You are the support assistant for {company}. Answer from the documentation only."),
		attribute.String("llm.prompt_template.variables", `{"company":"Acme"}`),
		attribute.String("llm.prompt_template.version", "v12"),
		attribute.Int("llm.token_count.prompt", 1200), attribute.Int("llm.token_count.completion", 48),
		attribute.Int("llm.token_count.total", 1248), attribute.Int("llm.token_count.prompt_details.cache_read", 1024),
		attribute.Int("llm.token_count.completion_details.reasoning", 16))
	end()

	tctx, endTool := e.span(ctx, "tool.search_docs", start.Add(4400*ms), 300*ms, kind("TOOL"),
		attribute.String("tool.name", "search_docs"), attribute.String("tool.description", "Search the help centre"),
		attribute.String("input.value", `{"query":"refund policy","top_k":3}`), attribute.String("input.mime_type", "application/json"),
		attribute.String("output.value", "3 documents"))
	rctx, endRet := e.span(tctx, "retrieval", start.Add(4450*ms), 200*ms, kind("RETRIEVER"),
		attribute.String("input.value", "refund policy"),
		attribute.String("retrieval.documents.0.document.id", "kb-refunds-01"),
		attribute.Float64("retrieval.documents.0.document.score", 0.92),
		attribute.String("retrieval.documents.0.document.content", "Refunds are accepted within 30 days of purchase with the original receipt."),
		attribute.String("retrieval.documents.0.document.metadata", `{"source":"help-centre","updated":"2026-09-01"}`),
		attribute.String("retrieval.documents.1.document.id", "kb-returns-04"),
		attribute.Float64("retrieval.documents.1.document.score", 0.71),
		attribute.String("retrieval.documents.1.document.content", "Items must be unused and in their original packaging to be returned."),
		attribute.String("retrieval.documents.2.document.id", "kb-shipping-02"),
		attribute.Float64("retrieval.documents.2.document.score", 0.38),
		attribute.String("retrieval.documents.2.document.content", "Return shipping is free for members."))
	vec := make([]float64, 1536)
	for i := range vec {
		vec[i] = float64(i%7) / 10
	}
	_, endEmb := e.span(rctx, "embed.query", start.Add(4460*ms), 40*ms, kind("EMBEDDING"),
		attribute.String("embedding.model_name", "text-embedding-3-small"),
		attribute.String("embedding.embeddings.0.embedding.text", "refund policy"),
		attribute.Float64Slice("embedding.embeddings.0.embedding.vector", vec))
	endEmb()
	endRet()
	endTool()

	if t.BigOutput > 0 {
		_, endFetch := e.span(ctx, "tool.fetch_page", start.Add(4800*ms), 900*ms, kind("TOOL"),
			attribute.String("tool.name", "fetch_page"), attribute.String("input.value", "https://help.acme.test/refunds"),
			attribute.String("output.value", bigPage(t.BigOutput)))
		endFetch()
	}

	_, endAnswer := e.span(ctx, "llm.chat", start.Add(6000*ms), 12000*ms, kind("LLM"),
		attribute.String("llm.model_name", "gpt-4o-mini"), attribute.String("llm.provider", "openai"),
		attribute.String("llm.input_messages.0.message.role", "user"),
		attribute.String("llm.input_messages.0.message.content", t.Question),
		attribute.String("llm.input_messages.1.message.role", "assistant"),
		attribute.String("llm.input_messages.1.message.tool_calls.0.tool_call.id", "call_7Yx2"),
		attribute.String("llm.input_messages.1.message.tool_calls.0.tool_call.function.name", "search_docs"),
		attribute.String("llm.input_messages.1.message.tool_calls.0.tool_call.function.arguments", `{"query":"refund policy","top_k":3}`),
		attribute.String("llm.input_messages.2.message.role", "tool"),
		attribute.String("llm.input_messages.2.message.tool_call_id", "call_7Yx2"),
		attribute.String("llm.input_messages.2.message.content", "[kb-refunds-01] Refunds are accepted within 30 days of purchase with the original receipt."),
		attribute.String("llm.output_messages.0.message.role", "assistant"),
		attribute.String("llm.output_messages.0.message.content", t.Answer),
		attribute.Int("llm.token_count.prompt", 1640), attribute.Int("llm.token_count.completion", 96),
		attribute.Int("llm.token_count.total", 1736))
	endAnswer()
	endRoot()
	return traceID
}

// failingRun is an agent run whose answering LLM call is rate limited.
func (e *emitter) failingRun(start time.Time, t turn) string {
	ms := time.Millisecond
	ctx, endRoot := e.span(context.Background(), "agent.run", start, 9100*ms, kind("AGENT"),
		attribute.String("input.value", t.Question), attribute.String("session.id", t.Session), attribute.String("user.id", t.User))
	traceID := trace.SpanContextFromContext(ctx).TraceID().String()
	_, end := e.span(ctx, "llm.chat", start.Add(100*ms), 900*ms, kind("LLM"),
		attribute.String("llm.model_name", "gpt-4o-mini"),
		attribute.String("llm.input_messages.0.message.role", "user"),
		attribute.String("llm.input_messages.0.message.content", t.Question),
		attribute.Int("llm.token_count.prompt", 900), attribute.Int("llm.token_count.completion", 0))
	end()
	_, s := e.tr.Start(ctx, "llm.chat", trace.WithTimestamp(start.Add(1100*ms)), trace.WithAttributes(kind("LLM"),
		attribute.String("llm.model_name", "gpt-4o-mini"),
		attribute.String("llm.input_messages.0.message.role", "user"),
		attribute.String("llm.input_messages.0.message.content", t.Question)))
	s.RecordError(errors.New("429 Too Many Requests: rate limit reached for gpt-4o-mini"),
		trace.WithAttributes(attribute.String("exception.type", "openai.RateLimitError"),
			attribute.String("exception.stacktrace", "Traceback (most recent call last):\n  File \"agent.py\", line 88, in answer\n    resp = client.chat.completions.create(**params)\nopenai.RateLimitError: 429 Too Many Requests")),
		trace.WithTimestamp(start.Add(9000*ms)))
	s.SetStatus(codes.Error, "429 Too Many Requests: rate limit reached for gpt-4o-mini")
	s.End(trace.WithTimestamp(start.Add(9000 * ms)))
	endRoot(trace.WithTimestamp(start.Add(9100 * ms)))
	return traceID
}

// chain emits a one-span trace, for a second project and for live checks.
func (e *emitter) chain(start time.Time, name, input string) string {
	ctx, end := e.span(context.Background(), name, start, 850*time.Millisecond, kind("CHAIN"),
		attribute.String("input.value", input), attribute.String("output.value", "done"))
	end()
	return trace.SpanContextFromContext(ctx).TraceID().String()
}

func bigPage(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "<p>Paragraph %d of the refund policy page.</p>\n", i)
	}
	return b.String()
}
