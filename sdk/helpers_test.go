package loupe

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// newTestTracer returns a tracer whose spans land in the returned recorder,
// with the context processor installed as Register would.
func newTestTracer(t *testing.T, cfg TraceConfig) (*Tracer, *sdktrace.TracerProvider, *tracetest.SpanRecorder) {
	t.Helper()
	rec, tp := newRecordingProvider(t)
	return NewTracer(tp, WithTraceConfig(cfg)), tp, rec
}

func newRecordingProvider(t *testing.T) (*tracetest.SpanRecorder, *sdktrace.TracerProvider) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(NewContextProcessor()),
		sdktrace.WithSpanProcessor(rec),
	)
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return rec, tp
}

// attrs flattens attributes to plain Go values for go-cmp.
func attrs(kvs []attribute.KeyValue) map[string]any {
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}

func onlySpan(t *testing.T, rec *tracetest.SpanRecorder) sdktrace.ReadOnlySpan {
	t.Helper()
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("got %d ended spans, want 1", len(spans))
	}
	return spans[0]
}

func TestSpanHelpersWriteOpenInferenceAttributes(t *testing.T) {
	type result struct {
		Answer string `json:"answer"`
		Score  int    `json:"score"`
	}
	tests := []struct {
		name     string
		run      func(ctx context.Context, tr *Tracer)
		wantName string
		want     map[string]any
	}{
		{
			name: "chain with text input and JSON output",
			run: func(ctx context.Context, tr *Tracer) {
				_, s := tr.StartChain(ctx, "pipeline", "what is loupe?")
				s.Finish(map[string]any{"answer": "a trace viewer"}, nil)
			},
			wantName: "pipeline",
			want: map[string]any{
				"openinference.span.kind": "CHAIN",
				"input.value":             "what is loupe?",
				"input.mime_type":         "text/plain",
				"output.value":            `{"answer":"a trace viewer"}`,
				"output.mime_type":        "application/json",
			},
		},
		{
			name: "agent with struct input",
			run: func(ctx context.Context, tr *Tracer) {
				_, s := tr.StartAgent(ctx, "agent.run", result{Answer: "<b>&</b>", Score: 2})
				s.Finish("done", nil)
			},
			wantName: "agent.run",
			want: map[string]any{
				"openinference.span.kind": "AGENT",
				"input.value":             `{"answer":"<b>&</b>","score":2}`,
				"input.mime_type":         "application/json",
				"output.value":            "done",
				"output.mime_type":        "text/plain",
			},
		},
		{
			name: "guardrail with nil input",
			run: func(ctx context.Context, tr *Tracer) {
				_, s := tr.StartGuardrail(ctx, "moderation", nil)
				s.Finish(true, nil)
			},
			wantName: "moderation",
			want: map[string]any{
				"openinference.span.kind": "GUARDRAIL",
				"output.value":            "true",
				"output.mime_type":        "text/plain",
			},
		},
		{
			name: "evaluator",
			run: func(ctx context.Context, tr *Tracer) {
				_, s := tr.StartEvaluator(ctx, "correctness", map[string]string{"output": "4"})
				s.Finish(0.5, nil)
			},
			wantName: "correctness",
			want: map[string]any{
				"openinference.span.kind": "EVALUATOR",
				"input.value":             `{"output":"4"}`,
				"input.mime_type":         "application/json",
				"output.value":            "0.5",
				"output.mime_type":        "text/plain",
			},
		},
		{
			name: "tool",
			run: func(ctx context.Context, tr *Tracer) {
				tool := Tool{
					Name:        "search_docs",
					Description: "Search the docs.",
					Parameters:  map[string]any{"type": "object", "properties": map[string]any{"query": map[string]any{"type": "string"}}},
				}
				_, s := tr.StartTool(ctx, tool, json.RawMessage(`{"query":"ports"}`), ToolCallID("call_1"))
				s.Finish([]string{"install-1"}, nil)
			},
			wantName: "search_docs",
			want: map[string]any{
				"openinference.span.kind": "TOOL",
				"tool.name":               "search_docs",
				"tool.description":        "Search the docs.",
				"tool.parameters":         `{"properties":{"query":{"type":"string"}},"type":"object"}`,
				"tool.id":                 "call_1",
				"input.value":             `{"query":"ports"}`,
				"input.mime_type":         "application/json",
				"output.value":            `["install-1"]`,
				"output.mime_type":        "application/json",
			},
		},
		{
			name: "retriever",
			run: func(ctx context.Context, tr *Tracer) {
				_, s := tr.StartRetriever(ctx, "retrieval", "ports")
				s.SetDocuments([]Document{
					{ID: "d1", Score: 0.9, Content: "port 6006", Metadata: map[string]any{"title": "Ports"}},
					{ID: "d2", Content: "unscored"},
				})
				s.Finish(nil, nil)
			},
			wantName: "retrieval",
			want: map[string]any{
				"openinference.span.kind":                 "RETRIEVER",
				"input.value":                             "ports",
				"input.mime_type":                         "text/plain",
				"retrieval.documents.0.document.id":       "d1",
				"retrieval.documents.0.document.score":    0.9,
				"retrieval.documents.0.document.content":  "port 6006",
				"retrieval.documents.0.document.metadata": `{"title":"Ports"}`,
				"retrieval.documents.1.document.id":       "d2",
				"retrieval.documents.1.document.content":  "unscored",
			},
		},
		{
			name: "reranker",
			run: func(ctx context.Context, tr *Tracer) {
				_, s := tr.StartReranker(ctx, "rerank", RerankRequest{
					Query: "ports", Model: "cross-encoder", TopK: 1,
					Documents: []Document{{ID: "a", Content: "A"}, {ID: "b", Content: "B"}},
				})
				s.SetDocuments([]Document{{ID: "b", Score: 0.7, Content: "B"}})
				s.Finish(nil, nil)
			},
			wantName: "rerank",
			want: map[string]any{
				"openinference.span.kind":                      "RERANKER",
				"reranker.query":                               "ports",
				"reranker.model_name":                          "cross-encoder",
				"reranker.top_k":                               int64(1),
				"reranker.input_documents.0.document.id":       "a",
				"reranker.input_documents.0.document.content":  "A",
				"reranker.input_documents.1.document.id":       "b",
				"reranker.input_documents.1.document.content":  "B",
				"reranker.output_documents.0.document.id":      "b",
				"reranker.output_documents.0.document.score":   0.7,
				"reranker.output_documents.0.document.content": "B",
				"input.value":                                  "ports",
				"input.mime_type":                              "text/plain",
			},
		},
		{
			name: "embedding",
			run: func(ctx context.Context, tr *Tracer) {
				_, s := tr.StartEmbedding(ctx, "CreateEmbeddings", EmbeddingRequest{
					Model: "text-embedding-3-small", Texts: []string{"a", "b"},
					InvocationParameters: map[string]any{"dimensions": 2},
				})
				s.SetResponse(EmbeddingResponse{Vectors: [][]float64{{0.1, 0.2}, {0.3, 0.4}}, Tokens: TokenCount{Prompt: 2}})
				s.Finish(nil, nil)
			},
			wantName: "CreateEmbeddings",
			want: map[string]any{
				"openinference.span.kind":                 "EMBEDDING",
				"embedding.model_name":                    "text-embedding-3-small",
				"embedding.invocation_parameters":         `{"dimensions":2}`,
				"embedding.embeddings.0.embedding.text":   "a",
				"embedding.embeddings.1.embedding.text":   "b",
				"embedding.embeddings.0.embedding.vector": []float64{0.1, 0.2},
				"embedding.embeddings.1.embedding.vector": []float64{0.3, 0.4},
				"llm.token_count.prompt":                  int64(2),
				"llm.token_count.total":                   int64(2),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, _, rec := newTestTracer(t, TraceConfig{})
			tt.run(context.Background(), tr)
			span := onlySpan(t, rec)
			if span.Name() != tt.wantName {
				t.Errorf("span name = %q, want %q", span.Name(), tt.wantName)
			}
			if diff := cmp.Diff(tt.want, attrs(span.Attributes())); diff != "" {
				t.Errorf("attributes (-want +got):\n%s", diff)
			}
			if span.Status().Code != codes.Ok {
				t.Errorf("status = %v, want Ok", span.Status())
			}
		})
	}
}

func TestLLMSpan(t *testing.T) {
	tr, _, rec := newTestTracer(t, TraceConfig{})
	_, s := tr.StartLLM(context.Background(), "llm.chat", LLMRequest{
		Model:                "gpt-4o",
		Provider:             "openai",
		System:               "openai",
		InvocationParameters: map[string]any{"temperature": 0.2},
		Messages: []Message{
			{Role: "system", Content: "Be brief."},
			{Role: "user", Contents: []ContentPart{TextPart("What is this?"), ImagePart("https://example.com/cat.png")}},
			{Role: "assistant", ToolCalls: []ToolCall{{ID: "call_1", Name: "lookup", Arguments: `{"q":"cat"}`}}},
			{Role: "tool", ToolCallID: "call_1", Name: "lookup", Content: "a cat"},
		},
		Tools:          []Tool{{Name: "lookup", Description: "Look up.", Parameters: `{"type":"object"}`}},
		PromptTemplate: &PromptTemplate{Template: "Describe {x}", Version: "v2", Variables: map[string]any{"x": "it"}},
		Input:          json.RawMessage(`{"model":"gpt-4o"}`),
	})
	s.SetResponse(LLMResponse{
		Model:        "gpt-4o-2024-08-06",
		Messages:     []Message{{Role: "assistant", Content: "A cat."}},
		FinishReason: "stop",
		Tokens: TokenCount{Prompt: 100, Completion: 20, CacheRead: 64, CacheWrite: 8,
			Reasoning: 5, AudioPrompt: 3, AudioCompletion: 2},
	})
	s.Finish(nil, nil)

	want := map[string]any{
		"openinference.span.kind":              "LLM",
		"llm.model_name":                       "gpt-4o-2024-08-06",
		"llm.provider":                         "openai",
		"llm.system":                           "openai",
		"llm.invocation_parameters":            `{"temperature":0.2}`,
		"llm.input_messages.0.message.role":    "system",
		"llm.input_messages.0.message.content": "Be brief.",
		"llm.input_messages.1.message.role":    "user",
		"llm.input_messages.1.message.contents.0.message_content.type":            "text",
		"llm.input_messages.1.message.contents.0.message_content.text":            "What is this?",
		"llm.input_messages.1.message.contents.1.message_content.type":            "image",
		"llm.input_messages.1.message.contents.1.message_content.image.image.url": "https://example.com/cat.png",
		"llm.input_messages.2.message.role":                                       "assistant",
		"llm.input_messages.2.message.tool_calls.0.tool_call.id":                  "call_1",
		"llm.input_messages.2.message.tool_calls.0.tool_call.function.name":       "lookup",
		"llm.input_messages.2.message.tool_calls.0.tool_call.function.arguments":  `{"q":"cat"}`,
		"llm.input_messages.3.message.role":                                       "tool",
		"llm.input_messages.3.message.content":                                    "a cat",
		"llm.input_messages.3.message.tool_call_id":                               "call_1",
		"llm.input_messages.3.message.name":                                       "lookup",
		"llm.tools.0.tool.json_schema":                                            `{"type":"function","function":{"name":"lookup","description":"Look up.","parameters":{"type":"object"}}}`,
		"llm.prompt_template.template":                                            "Describe {x}",
		"llm.prompt_template.version":                                             "v2",
		"llm.prompt_template.variables":                                           `{"x":"it"}`,
		"input.value":                                                             `{"model":"gpt-4o"}`,
		"input.mime_type":                                                         "application/json",
		"llm.output_messages.0.message.role":                                      "assistant",
		"llm.output_messages.0.message.content":                                   "A cat.",
		"llm.finish_reason":                                                       "stop",
		"llm.token_count.prompt":                                                  int64(100),
		"llm.token_count.completion":                                              int64(20),
		"llm.token_count.total":                                                   int64(120),
		"llm.token_count.prompt_details.cache_read":                               int64(64),
		"llm.token_count.prompt_details.cache_write":                              int64(8),
		"llm.token_count.prompt_details.audio":                                    int64(3),
		"llm.token_count.completion_details.reasoning":                            int64(5),
		"llm.token_count.completion_details.audio":                                int64(2),
		"output.value":     `[{"role":"assistant","content":"A cat."}]`,
		"output.mime_type": "application/json",
	}
	if diff := cmp.Diff(want, attrs(onlySpan(t, rec).Attributes())); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
}

func TestLLMSpanDefaultsInputToMessages(t *testing.T) {
	tr, _, rec := newTestTracer(t, TraceConfig{})
	_, s := tr.StartLLM(context.Background(), "llm", LLMRequest{Messages: []Message{{Role: "user", Content: "hi"}}})
	s.End()
	got := attrs(onlySpan(t, rec).Attributes())
	if diff := cmp.Diff(`[{"role":"user","content":"hi"}]`, got["input.value"]); diff != "" {
		t.Errorf("input.value (-want +got):\n%s", diff)
	}
}

func TestFinishRecordsErrors(t *testing.T) {
	tr, _, rec := newTestTracer(t, TraceConfig{})
	_, s := tr.StartTool(context.Background(), Tool{Name: "fetch"}, "x")
	s.Finish("ignored", errors.New("fetch failed: 404"))

	span := onlySpan(t, rec)
	if got, want := span.Status(), (sdktrace.Status{Code: codes.Error, Description: "fetch failed: 404"}); got != want {
		t.Errorf("status = %+v, want %+v", got, want)
	}
	if _, ok := attrs(span.Attributes())["output.value"]; ok {
		t.Error("a failed span has output.value")
	}
	events := span.Events()
	if len(events) != 1 || events[0].Name != "exception" {
		t.Fatalf("events = %+v, want one exception event", events)
	}
	got := attrs(events[0].Attributes)
	if got["exception.message"] != "fetch failed: 404" || got["exception.type"] != "*errors.errorString" {
		t.Errorf("exception attributes = %v", got)
	}
}

func TestRecordErrorIgnoresNil(t *testing.T) {
	tr, _, rec := newTestTracer(t, TraceConfig{})
	_, s := tr.StartChain(context.Background(), "c", nil)
	s.RecordError(nil)
	s.End()
	if span := onlySpan(t, rec); span.Status().Code != codes.Unset || len(span.Events()) != 0 {
		t.Errorf("status %v and %d events after RecordError(nil)", span.Status(), len(span.Events()))
	}
}

func TestSpanFromContext(t *testing.T) {
	tr, _, rec := newTestTracer(t, TraceConfig{HideOutputs: true})
	ctx, s := tr.StartChain(context.Background(), "outer", nil)
	tr.SpanFromContext(ctx).SetOutput("secret")
	s.End()
	if diff := cmp.Diff(map[string]any{"openinference.span.kind": "CHAIN", "output.value": "__REDACTED__"},
		attrs(onlySpan(t, rec).Attributes())); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
	// Without a span there is nothing to write to, and nothing breaks.
	tr.SpanFromContext(context.Background()).SetOutput("x")
}

func TestEncodeValue(t *testing.T) {
	type name string
	tests := []struct {
		in        any
		wantValue string
		wantMime  string
	}{
		{"text", "text", "text/plain"},
		{name("named"), "named", "text/plain"},
		{42, "42", "text/plain"},
		{uint8(7), "7", "text/plain"},
		{2.5, "2.5", "text/plain"},
		{true, "true", "text/plain"},
		{errors.New("boom"), "boom", "text/plain"},
		{json.RawMessage(`{"a":1}`), `{"a":1}`, "application/json"},
		{[]byte(`{"a":1}`), `{"a":1}`, "application/json"},
		{[]byte("plain"), "plain", "text/plain"},
		{map[string]int{"a": 1}, `{"a":1}`, "application/json"},
		{[]string{"<a>"}, `["<a>"]`, "application/json"},
		{struct{ X int }{1}, `{"X":1}`, "application/json"},
		{make(chan int), "", "text/plain"}, // value checked for mime only
	}
	for _, tt := range tests {
		value, mime := encodeValue(tt.in)
		if mime != tt.wantMime || (tt.wantValue != "" && value != tt.wantValue) {
			t.Errorf("encodeValue(%#v) = %q, %q; want %q, %q", tt.in, value, mime, tt.wantValue, tt.wantMime)
		}
	}
}

func TestStartDoesNotWriteIntoCallerOptions(t *testing.T) {
	tr, _, rec := newTestTracer(t, TraceConfig{})
	// Spare capacity: an append inside Start would write into this array,
	// which the race detector catches when two goroutines share it.
	opts := make([]trace.SpanStartOption, 1, 4)
	opts[0] = ToolCallID("shared")
	var wg sync.WaitGroup
	for _, input := range []string{"one", "two"} {
		wg.Go(func() {
			_, s := tr.StartChain(context.Background(), input, input, opts...)
			s.End()
		})
	}
	wg.Wait()
	for _, span := range rec.Ended() {
		if got := attrs(span.Attributes())["input.value"]; got != span.Name() {
			t.Errorf("span %q has input %q", span.Name(), got)
		}
	}
}
