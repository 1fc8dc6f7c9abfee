package loupe

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
)

// sample has one attribute of every family masking knows about.
var sample = []attribute.KeyValue{
	attribute.String("input.value", "in"),
	attribute.String("input.mime_type", "text/plain"),
	attribute.String("output.value", "out"),
	attribute.String("output.mime_type", "text/plain"),
	attribute.String("llm.invocation_parameters", `{"t":1}`),
	attribute.String("llm.input_messages.0.message.role", "user"),
	attribute.String("llm.input_messages.0.message.content", "question"),
	attribute.String("llm.input_messages.1.message.contents.0.message_content.text", "part"),
	attribute.String("llm.input_messages.1.message.contents.1.message_content.image.image.url", "https://x/cat.png"),
	attribute.String("llm.output_messages.0.message.role", "assistant"),
	attribute.String("llm.output_messages.0.message.content", "answer"),
	attribute.String("llm.output_messages.0.message.contents.0.message_content.text", "out part"),
	attribute.String("llm.output_messages.0.message.tool_calls.0.tool_call.function.name", "f"),
	attribute.String("llm.tools.0.tool.json_schema", "{}"),
	attribute.String("llm.prompts.0.prompt.text", "p"),
	attribute.String("llm.choices.0.completion.text", "c"),
	attribute.String("embedding.embeddings.0.embedding.text", "e"),
	attribute.Float64Slice("embedding.embeddings.0.embedding.vector", []float64{1, 2}),
	attribute.String("session.id", "s"),
}

func TestMask(t *testing.T) {
	const r = "__REDACTED__"
	tests := []struct {
		name    string
		cfg     TraceConfig
		changed map[string]any // key → new value, or nil when dropped
	}{
		{name: "nothing hidden", cfg: TraceConfig{}, changed: map[string]any{}},
		{
			name: "inputs",
			cfg:  TraceConfig{HideInputs: true},
			changed: map[string]any{
				"input.value":                       r,
				"input.mime_type":                   nil,
				"llm.input_messages.0.message.role": nil, "llm.input_messages.0.message.content": nil,
				"llm.input_messages.1.message.contents.0.message_content.text":            nil,
				"llm.input_messages.1.message.contents.1.message_content.image.image.url": nil,
				"llm.tools.0.tool.json_schema":                                            nil,
				"llm.prompts.0.prompt.text":                                               r,
			},
		},
		{
			name: "outputs",
			cfg:  TraceConfig{HideOutputs: true},
			changed: map[string]any{
				"output.value":                       r,
				"output.mime_type":                   nil,
				"llm.output_messages.0.message.role": nil, "llm.output_messages.0.message.content": nil,
				"llm.output_messages.0.message.contents.0.message_content.text":      nil,
				"llm.output_messages.0.message.tool_calls.0.tool_call.function.name": nil,
				"llm.choices.0.completion.text":                                      r,
			},
		},
		{
			name: "input messages",
			cfg:  TraceConfig{HideInputMessages: true},
			changed: map[string]any{
				"llm.input_messages.0.message.role": nil, "llm.input_messages.0.message.content": nil,
				"llm.input_messages.1.message.contents.0.message_content.text":            nil,
				"llm.input_messages.1.message.contents.1.message_content.image.image.url": nil,
			},
		},
		{
			name: "output messages",
			cfg:  TraceConfig{HideOutputMessages: true},
			changed: map[string]any{
				"llm.output_messages.0.message.role": nil, "llm.output_messages.0.message.content": nil,
				"llm.output_messages.0.message.contents.0.message_content.text":      nil,
				"llm.output_messages.0.message.tool_calls.0.tool_call.function.name": nil,
			},
		},
		{
			name: "input text keeps structure",
			cfg:  TraceConfig{HideInputText: true},
			changed: map[string]any{
				"llm.input_messages.0.message.content":                         r,
				"llm.input_messages.1.message.contents.0.message_content.text": r,
			},
		},
		{
			name: "output text keeps structure",
			cfg:  TraceConfig{HideOutputText: true},
			changed: map[string]any{
				"llm.output_messages.0.message.content":                         r,
				"llm.output_messages.0.message.contents.0.message_content.text": r,
			},
		},
		{
			name:    "input images",
			cfg:     TraceConfig{HideInputImages: true},
			changed: map[string]any{"llm.input_messages.1.message.contents.1.message_content.image.image.url": nil},
		},
		{
			name:    "embedding vectors",
			cfg:     TraceConfig{HideEmbeddingVectors: true},
			changed: map[string]any{"embedding.embeddings.0.embedding.vector": r},
		},
		{
			name:    "embedding text",
			cfg:     TraceConfig{HideEmbeddingText: true},
			changed: map[string]any{"embedding.embeddings.0.embedding.text": r},
		},
		{
			name:    "invocation parameters",
			cfg:     TraceConfig{HideLLMInvocationParameters: true},
			changed: map[string]any{"llm.invocation_parameters": nil},
		},
		{name: "tools", cfg: TraceConfig{HideLLMTools: true}, changed: map[string]any{"llm.tools.0.tool.json_schema": nil}},
		{name: "prompts", cfg: TraceConfig{HidePrompts: true}, changed: map[string]any{"llm.prompts.0.prompt.text": r}},
		{name: "choices", cfg: TraceConfig{HideChoices: true}, changed: map[string]any{"llm.choices.0.completion.text": r}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := attrs(sample)
			for k, v := range tt.changed {
				if v == nil {
					delete(want, k)
				} else {
					want[k] = v
				}
			}
			if diff := cmp.Diff(want, attrs(tt.cfg.maskAll(sample))); diff != "" {
				t.Errorf("masked attributes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMaskBase64Images(t *testing.T) {
	const key = "llm.input_messages.0.message.contents.0.message_content.image.image.url"
	long := "data:image/png;base64," + strings.Repeat("A", 40)
	tests := []struct {
		name  string
		limit int
		key   string
		url   string
		want  string
	}{
		{"under the limit", 100, key, long, long},
		{"over the limit", 20, key, long, "__REDACTED__"},
		{"plain URLs are never cut", 20, key, "https://example.com/" + strings.Repeat("a", 40), "https://example.com/" + strings.Repeat("a", 40)},
		{"output images are left alone", 20, strings.Replace(key, "input", "output", 1), long, long},
		{"zero limit means the default", 0, key, long, long},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := TraceConfig{Base64ImageMaxLength: tt.limit}
			got, ok := cfg.mask(attribute.String(tt.key, tt.url))
			if !ok || got.Value.AsString() != tt.want {
				t.Errorf("mask = %q, %t; want %q", got.Value.AsString(), ok, tt.want)
			}
		})
	}
}

func TestTraceConfigFromEnv(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want TraceConfig
	}{
		{name: "unset", env: nil, want: TraceConfig{Base64ImageMaxLength: 32000}},
		{
			name: "every variable",
			env: map[string]string{
				"OPENINFERENCE_HIDE_INPUTS":                    "true",
				"OPENINFERENCE_HIDE_OUTPUTS":                   "TRUE",
				"OPENINFERENCE_HIDE_INPUT_MESSAGES":            "1",
				"OPENINFERENCE_HIDE_OUTPUT_MESSAGES":           "true",
				"OPENINFERENCE_HIDE_INPUT_IMAGES":              "true",
				"OPENINFERENCE_HIDE_INPUT_TEXT":                "true",
				"OPENINFERENCE_HIDE_OUTPUT_TEXT":               " true ",
				"OPENINFERENCE_HIDE_EMBEDDINGS_VECTORS":        "true",
				"OPENINFERENCE_HIDE_EMBEDDINGS_TEXT":           "true",
				"OPENINFERENCE_HIDE_LLM_INVOCATION_PARAMETERS": "true",
				"OPENINFERENCE_HIDE_LLM_TOOLS":                 "true",
				"OPENINFERENCE_HIDE_PROMPTS":                   "true",
				"OPENINFERENCE_HIDE_CHOICES":                   "true",
				"OPENINFERENCE_BASE64_IMAGE_MAX_LENGTH":        "1000",
			},
			want: TraceConfig{
				HideInputs: true, HideOutputs: true, HideInputMessages: true, HideOutputMessages: true,
				HideInputImages: true, HideInputText: true, HideOutputText: true,
				HideEmbeddingVectors: true, HideEmbeddingText: true, HideLLMInvocationParameters: true,
				HideLLMTools: true, HidePrompts: true, HideChoices: true, Base64ImageMaxLength: 1000,
			},
		},
		{
			name: "older vector variable name",
			env:  map[string]string{"OPENINFERENCE_HIDE_EMBEDDING_VECTORS": "true"},
			want: TraceConfig{HideEmbeddingVectors: true, Base64ImageMaxLength: 32000},
		},
		{
			name: "false and garbage keep the defaults",
			env: map[string]string{
				"OPENINFERENCE_HIDE_INPUTS":             "false",
				"OPENINFERENCE_HIDE_OUTPUTS":            "yes please",
				"OPENINFERENCE_BASE64_IMAGE_MAX_LENGTH": "lots",
			},
			want: TraceConfig{Base64ImageMaxLength: 32000},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := traceConfigFrom(func(k string) string { return tt.env[k] })
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTracerReadsMaskingFromEnv(t *testing.T) {
	t.Setenv("OPENINFERENCE_HIDE_INPUTS", "true")
	rec, tp := newRecordingProvider(t)
	_, s := NewTracer(tp).StartChain(context.Background(), "c", "secret")
	s.End()
	if diff := cmp.Diff(map[string]any{"openinference.span.kind": "CHAIN", "input.value": "__REDACTED__"},
		attrs(onlySpan(t, rec).Attributes())); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
}

func TestMaskingAppliesToLLMHelpers(t *testing.T) {
	tr, _, rec := newTestTracer(t, TraceConfig{HideInputMessages: true, HideOutputText: true})
	_, s := tr.StartLLM(context.Background(), "llm", LLMRequest{
		Model: "m", Messages: []Message{{Role: "user", Content: "secret"}}, Input: "raw",
	})
	s.SetResponse(LLMResponse{Messages: []Message{{Role: "assistant", Content: "also secret"}}, Output: "out"})
	s.End()
	want := map[string]any{
		"openinference.span.kind":               "LLM",
		"llm.model_name":                        "m",
		"input.value":                           "raw",
		"input.mime_type":                       "text/plain",
		"llm.output_messages.0.message.role":    "assistant",
		"llm.output_messages.0.message.content": "__REDACTED__",
		"output.value":                          "out",
		"output.mime_type":                      "text/plain",
	}
	if diff := cmp.Diff(want, attrs(onlySpan(t, rec).Attributes())); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
}

func TestSetAttributesDoesNotChangeCallerSlice(t *testing.T) {
	tr, _, _ := newTestTracer(t, TraceConfig{HideInputs: true})
	_, s := tr.StartChain(context.Background(), "c", nil)
	kvs := []attribute.KeyValue{attribute.String("input.mime_type", "x"), attribute.String("input.value", "secret")}
	s.SetAttributes(kvs...)
	s.End()
	if kvs[0].Key != "input.mime_type" || kvs[1].Value.AsString() != "secret" {
		t.Errorf("caller's slice changed: %v", kvs)
	}
}
