package openai

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	loupe "github.com/loupe-dev/loupe/sdk"
)

// fakeAPI answers POST …/chat/completions with body and status, and keeps
// the last request.
type fakeAPI struct {
	*httptest.Server
	status      int
	contentType string
	body        string
	gotPath     string
	gotHeader   http.Header
	gotBody     []byte
}

func newFakeAPI(t *testing.T, status int, contentType, body string) *fakeAPI {
	t.Helper()
	f := &fakeAPI{status: status, contentType: contentType, body: body}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/chat/completions") {
			http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusNotFound)
			return
		}
		f.gotPath = r.URL.Path
		f.gotHeader = r.Header.Clone()
		f.gotBody, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", f.contentType)
		w.WriteHeader(f.status)
		io.WriteString(w, f.body)
	}))
	t.Cleanup(f.Close)
	return f
}

func newTestClient(t *testing.T, baseURL string) (*Client, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tracer := loupe.NewTracer(tp, loupe.WithTraceConfig(loupe.TraceConfig{}))
	return NewClient(baseURL, "sk-test", WithTracer(tracer), WithHTTPClient(&http.Client{})), rec
}

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

var testRequest = ChatCompletionRequest{
	Model: "gpt-4o-mini",
	Messages: []Message{
		{Role: "system", Content: "Be brief."},
		{Role: "user", Parts: []ContentPart{TextPart("What is this?"), ImagePart("data:image/png;base64,AAAA")}},
	},
	Tools:       []Tool{FunctionTool("lookup", "Look things up.", map[string]any{"type": "object"})},
	Temperature: new(0.2),
}

// inputAttrs are the attributes the test request produces.
func inputAttrs(body []byte) map[string]any {
	return map[string]any{
		"openinference.span.kind":                                                 "LLM",
		"llm.system":                                                              "openai",
		"llm.invocation_parameters":                                               `{"model":"gpt-4o-mini","temperature":0.2}`,
		"llm.input_messages.0.message.role":                                       "system",
		"llm.input_messages.0.message.content":                                    "Be brief.",
		"llm.input_messages.1.message.role":                                       "user",
		"llm.input_messages.1.message.contents.0.message_content.type":            "text",
		"llm.input_messages.1.message.contents.0.message_content.text":            "What is this?",
		"llm.input_messages.1.message.contents.1.message_content.type":            "image",
		"llm.input_messages.1.message.contents.1.message_content.image.image.url": "data:image/png;base64,AAAA",
		"llm.tools.0.tool.json_schema":                                            `{"type":"function","function":{"name":"lookup","description":"Look things up.","parameters":{"type":"object"}}}`,
		"input.value":                                                             string(body),
		"input.mime_type":                                                         "application/json",
	}
}

func TestCreateChatCompletion(t *testing.T) {
	const response = `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini-2024-07-18",
"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"lookup","arguments":"{\"q\":\"cat\"}"}}]},"finish_reason":"tool_calls"}],
"usage":{"prompt_tokens":50,"completion_tokens":10,"total_tokens":60,"prompt_tokens_details":{"cached_tokens":32,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":4,"audio_tokens":0}}}`
	api := newFakeAPI(t, http.StatusOK, "application/json", response)
	client, rec := newTestClient(t, api.URL+"/v1")

	got, err := client.CreateChatCompletion(context.Background(), testRequest)
	if err != nil {
		t.Fatal(err)
	}

	wantBody := `{"model":"gpt-4o-mini","messages":[{"role":"system","content":"Be brief."},` +
		`{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}],` +
		`"tools":[{"type":"function","function":{"name":"lookup","description":"Look things up.","parameters":{"type":"object"}}}],"temperature":0.2}`
	if diff := cmp.Diff(wantBody, string(api.gotBody)); diff != "" {
		t.Errorf("request body (-want +got):\n%s", diff)
	}
	if api.gotPath != "/v1/chat/completions" {
		t.Errorf("path = %q", api.gotPath)
	}
	if h := api.gotHeader.Get("Authorization"); h != "Bearer sk-test" {
		t.Errorf("Authorization = %q", h)
	}

	wantCompletion := &ChatCompletion{
		ID: "chatcmpl-1", Object: "chat.completion", Created: 1, Model: "gpt-4o-mini-2024-07-18",
		Choices: []Choice{{Message: Message{Role: "assistant", ToolCalls: []ToolCall{{
			ID: "call_1", Type: "function", Function: FunctionCall{Name: "lookup", Arguments: `{"q":"cat"}`},
		}}}, FinishReason: "tool_calls"}},
		Usage: &Usage{
			PromptTokens: 50, CompletionTokens: 10, TotalTokens: 60,
			PromptTokensDetails:     &PromptTokensDetails{CachedTokens: 32},
			CompletionTokensDetails: &CompletionTokensDetails{ReasoningTokens: 4},
		},
	}
	if diff := cmp.Diff(wantCompletion, got); diff != "" {
		t.Errorf("completion (-want +got):\n%s", diff)
	}

	want := inputAttrs(api.gotBody)
	for k, v := range map[string]any{
		"llm.model_name":                                                          "gpt-4o-mini-2024-07-18",
		"llm.output_messages.0.message.role":                                      "assistant",
		"llm.output_messages.0.message.tool_calls.0.tool_call.id":                 "call_1",
		"llm.output_messages.0.message.tool_calls.0.tool_call.function.name":      "lookup",
		"llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": `{"q":"cat"}`,
		"llm.finish_reason":                                                       "tool_calls",
		"llm.token_count.prompt":                                                  int64(50),
		"llm.token_count.completion":                                              int64(10),
		"llm.token_count.total":                                                   int64(60),
		"llm.token_count.prompt_details.cache_read":                               int64(32),
		"llm.token_count.completion_details.reasoning":                            int64(4),
		"output.value":                                                            response,
		"output.mime_type":                                                        "application/json",
	} {
		want[k] = v
	}
	span := onlySpan(t, rec)
	if span.Name() != "ChatCompletion" {
		t.Errorf("span name = %q", span.Name())
	}
	if diff := cmp.Diff(want, attrs(span.Attributes())); diff != "" {
		t.Errorf("span attributes (-want +got):\n%s", diff)
	}
	if span.Status().Code != codes.Ok {
		t.Errorf("status = %v", span.Status())
	}
}

// sse joins events as a server would send them.
func sse(events ...string) string {
	var b strings.Builder
	for _, e := range events {
		b.WriteString(e + "\n\n")
	}
	return b.String()
}

func TestCreateChatCompletionStream(t *testing.T) {
	stream := sse(
		": keep-alive",
		`data: {"id":"c1","object":"chat.completion.chunk","created":7,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`,
		`data: {"id":"c1","choices":[{"index":0,"delta":{"content":"Let me "}}]}`,
		"event: message\ndata: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"check.\"}}]}",
		`data: {"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"lookup","arguments":""}}]}}]}`,
		`data: {"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"q\":"}}]}}]}`,
		`data: {"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"fetch","arguments":"{}"}}]}}]}`,
		`data: {"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"cat\"}"}}]}}]}`,
		`data: {"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
		`data: {"id":"c1","choices":[],"usage":{"prompt_tokens":40,"completion_tokens":12,"total_tokens":52,"prompt_tokens_details":{"cached_tokens":16},"completion_tokens_details":{"reasoning_tokens":2}}}`,
		"data: [DONE]",
	)
	api := newFakeAPI(t, http.StatusOK, "text/event-stream", stream)
	client, rec := newTestClient(t, api.URL+"/v1")

	s, err := client.CreateChatCompletionStream(context.Background(), testRequest)
	if err != nil {
		t.Fatal(err)
	}
	var content strings.Builder
	chunks := 0
	for {
		chunk, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		chunks++
		for _, c := range chunk.Choices {
			content.WriteString(c.Delta.Content)
		}
	}
	if chunks != 9 || content.String() != "Let me check." {
		t.Errorf("got %d chunks with content %q, want 9 and %q", chunks, content.String(), "Let me check.")
	}
	if _, err := s.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("Recv after the end = %v, want io.EOF", err)
	}

	var sent map[string]any
	if err := json.Unmarshal(api.gotBody, &sent); err != nil {
		t.Fatal(err)
	}
	if sent["stream"] != true || !cmp.Equal(sent["stream_options"], map[string]any{"include_usage": true}) {
		t.Errorf("request stream = %v, stream_options = %v", sent["stream"], sent["stream_options"])
	}
	if api.gotHeader.Get("Accept") != "text/event-stream" {
		t.Errorf("Accept = %q", api.gotHeader.Get("Accept"))
	}

	wantCompletion := ChatCompletion{
		ID: "c1", Object: "chat.completion", Created: 7, Model: "gpt-4o-mini-2024-07-18",
		Choices: []Choice{{Message: Message{Role: "assistant", Content: "Let me check.", ToolCalls: []ToolCall{
			{ID: "call_a", Type: "function", Function: FunctionCall{Name: "lookup", Arguments: `{"q":"cat"}`}},
			{ID: "call_b", Type: "function", Function: FunctionCall{Name: "fetch", Arguments: `{}`}},
		}}, FinishReason: "tool_calls"}},
		Usage: &Usage{
			PromptTokens: 40, CompletionTokens: 12, TotalTokens: 52,
			PromptTokensDetails:     &PromptTokensDetails{CachedTokens: 16},
			CompletionTokensDetails: &CompletionTokensDetails{ReasoningTokens: 2},
		},
	}
	if diff := cmp.Diff(wantCompletion, s.Completion()); diff != "" {
		t.Errorf("accumulated completion (-want +got):\n%s", diff)
	}

	wantOutput, _ := json.Marshal(wantCompletion)
	want := inputAttrs(api.gotBody)
	want["llm.invocation_parameters"] = `{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"temperature":0.2}`
	for k, v := range map[string]any{
		"llm.model_name":                                                          "gpt-4o-mini-2024-07-18",
		"llm.output_messages.0.message.role":                                      "assistant",
		"llm.output_messages.0.message.content":                                   "Let me check.",
		"llm.output_messages.0.message.tool_calls.0.tool_call.id":                 "call_a",
		"llm.output_messages.0.message.tool_calls.0.tool_call.function.name":      "lookup",
		"llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": `{"q":"cat"}`,
		"llm.output_messages.0.message.tool_calls.1.tool_call.id":                 "call_b",
		"llm.output_messages.0.message.tool_calls.1.tool_call.function.name":      "fetch",
		"llm.output_messages.0.message.tool_calls.1.tool_call.function.arguments": `{}`,
		"llm.finish_reason":                            "tool_calls",
		"llm.token_count.prompt":                       int64(40),
		"llm.token_count.completion":                   int64(12),
		"llm.token_count.total":                        int64(52),
		"llm.token_count.prompt_details.cache_read":    int64(16),
		"llm.token_count.completion_details.reasoning": int64(2),
		"output.value":                                 string(wantOutput),
		"output.mime_type":                             "application/json",
	} {
		want[k] = v
	}
	span := onlySpan(t, rec)
	if diff := cmp.Diff(want, attrs(span.Attributes())); diff != "" {
		t.Errorf("span attributes (-want +got):\n%s", diff)
	}
	if span.Status().Code != codes.Ok {
		t.Errorf("status = %v", span.Status())
	}
}

func TestStreamWithoutDoneOrTrailingBlankLine(t *testing.T) {
	api := newFakeAPI(t, http.StatusOK, "text/event-stream",
		`data: {"id":"c","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}]}`)
	client, rec := newTestClient(t, api.URL)
	s, err := client.CreateChatCompletionStream(context.Background(), ChatCompletionRequest{Model: "m", StreamOptions: &StreamOptions{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("Recv = %v, want io.EOF", err)
	}
	if !strings.Contains(string(api.gotBody), `"stream_options":{"include_usage":false}`) {
		t.Errorf("the caller's stream options were not kept: %s", api.gotBody)
	}
	got := attrs(onlySpan(t, rec).Attributes())
	if got["llm.output_messages.0.message.content"] != "hi" || got["llm.finish_reason"] != "stop" {
		t.Errorf("span attributes = %v", got)
	}
}

func TestStreamCloseEndsTheSpan(t *testing.T) {
	api := newFakeAPI(t, http.StatusOK, "text/event-stream", sse(
		`data: {"id":"c","choices":[{"index":0,"delta":{"content":"par"}}]}`,
		`data: {"id":"c","choices":[{"index":0,"delta":{"content":"tial"}}]}`,
	))
	client, rec := newTestClient(t, api.URL)
	s, err := client.CreateChatCompletionStream(context.Background(), ChatCompletionRequest{Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); err != nil {
		t.Fatal(err)
	}
	if len(rec.Ended()) != 0 {
		t.Fatal("the span ended before the stream")
	}
	s.Close()
	s.Close()
	if _, err := s.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("Recv after Close = %v, want io.EOF", err)
	}
	if got := attrs(onlySpan(t, rec).Attributes())["llm.output_messages.0.message.content"]; got != "par" {
		t.Errorf("recorded content = %v, want what was received before Close", got)
	}
}

func TestErrorsAreRecorded(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		stream      bool
		want        *APIError
	}{
		{
			name: "rate limited", status: http.StatusTooManyRequests, contentType: "application/json",
			body: `{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}`,
			want: &APIError{StatusCode: 429, Message: "Rate limit reached", Type: "requests", Code: "rate_limit_exceeded",
				Body: `{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}`},
		},
		{
			name: "numeric code", status: http.StatusBadRequest, contentType: "application/json",
			body: `{"error":{"message":"bad","code":400}}`,
			want: &APIError{StatusCode: 400, Message: "bad", Code: "400", Body: `{"error":{"message":"bad","code":400}}`},
		},
		{
			name: "plain text", status: http.StatusBadGateway, contentType: "text/plain", body: "upstream down",
			want: &APIError{StatusCode: 502, Message: "upstream down", Body: "upstream down"},
		},
		{
			name: "error event in a stream", status: http.StatusOK, contentType: "text/event-stream", stream: true,
			body: sse(`data: {"id":"c","choices":[{"index":0,"delta":{"content":"a"}}]}`, `data: {"error":{"message":"overloaded","type":"server_error"}}`),
			want: &APIError{Message: "overloaded", Type: "server_error", Body: `{"error":{"message":"overloaded","type":"server_error"}}`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, tt.status, tt.contentType, tt.body)
			client, rec := newTestClient(t, api.URL)
			var err error
			if tt.stream {
				var s *Stream
				if s, err = client.CreateChatCompletionStream(context.Background(), ChatCompletionRequest{Model: "m"}); err == nil {
					for err == nil {
						_, err = s.Recv()
					}
				}
			} else {
				_, err = client.CreateChatCompletion(context.Background(), ChatCompletionRequest{Model: "m"})
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("error = %v, want an *APIError", err)
			}
			if diff := cmp.Diff(tt.want, apiErr); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			span := onlySpan(t, rec)
			if span.Status().Code != codes.Error || span.Status().Description != err.Error() {
				t.Errorf("status = %+v, want ERROR %q", span.Status(), err)
			}
			if ev := span.Events(); len(ev) != 1 || ev[0].Name != "exception" {
				t.Errorf("events = %+v, want one exception", ev)
			}
		})
	}
}

func TestTransportErrorIsRecorded(t *testing.T) {
	api := newFakeAPI(t, http.StatusOK, "application/json", "{}")
	client, rec := newTestClient(t, api.URL)
	api.Close()
	_, err := client.CreateChatCompletion(context.Background(), ChatCompletionRequest{Model: "m"})
	if err == nil || !strings.Contains(err.Error(), "calling "+api.URL+"/chat/completions") {
		t.Fatalf("error = %v", err)
	}
	if span := onlySpan(t, rec); span.Status().Code != codes.Error {
		t.Errorf("status = %v", span.Status())
	}
}

func TestMessageJSON(t *testing.T) {
	tests := []struct {
		name string
		msg  Message
		json string
	}{
		{"text", Message{Role: "user", Content: "hi"}, `{"role":"user","content":"hi"}`},
		{"empty text", Message{Role: "assistant"}, `{"role":"assistant","content":""}`},
		{"parts", Message{Role: "user", Parts: []ContentPart{TextPart("a"), ImagePart("https://x/y.png")}},
			`{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}`},
		{"tool calls only", Message{Role: "assistant", ToolCalls: []ToolCall{{ID: "1", Type: "function", Function: FunctionCall{Name: "f", Arguments: "{}"}}}},
			`{"role":"assistant","content":null,"tool_calls":[{"id":"1","type":"function","function":{"name":"f","arguments":"{}"}}]}`},
		{"tool result", Message{Role: "tool", ToolCallID: "1", Name: "f", Content: "ok"},
			`{"role":"tool","content":"ok","tool_call_id":"1","name":"f"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.json, string(b)); diff != "" {
				t.Errorf("marshal (-want +got):\n%s", diff)
			}
			var back Message
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.msg, back); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRequestExtraFields(t *testing.T) {
	b, err := json.Marshal(ChatCompletionRequest{Model: "m", Extra: map[string]any{"top_k": 5, "model": "ignored"}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(`{"messages":null,"model":"m","top_k":5}`, string(b)); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

func TestProviderFromBaseURL(t *testing.T) {
	tests := map[string]string{
		"https://api.openai.com/v1":                                 "openai",
		"https://my-resource.openai.azure.com/openai/deployments/x": "azure",
		"https://api.groq.com/openai/v1":                            "groq",
		"https://api.together.xyz/v1":                               "together",
		"https://api.deepseek.com":                                  "deepseek",
		"https://generativelanguage.googleapis.com/v1beta/openai":   "google",
		"http://localhost:11434/v1":                                 "ollama",
		"http://127.0.0.1:8000/v1":                                  "",
		"https://llm-proxy.internal/v1":                             "",
	}
	for base, want := range tests {
		if got := providerFromBaseURL(base); got != want {
			t.Errorf("providerFromBaseURL(%q) = %q, want %q", base, got, want)
		}
	}
}

func TestClientOptions(t *testing.T) {
	api := newFakeAPI(t, http.StatusOK, "application/json", `{"model":"m","choices":[]}`)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	client := NewClient(api.URL+"/", "",
		WithTracer(loupe.NewTracer(tp)), WithSpanName("llm.chat"), WithProvider("groq"), WithSystem("mistralai"),
		WithHeader("X-Org", "acme"))
	if _, err := client.CreateChatCompletion(context.Background(), ChatCompletionRequest{Model: "m"}); err != nil {
		t.Fatal(err)
	}
	if h := api.gotHeader; h.Get("X-Org") != "acme" || h.Get("Authorization") != "" {
		t.Errorf("headers = %v", h)
	}
	span := onlySpan(t, rec)
	got := attrs(span.Attributes())
	if span.Name() != "llm.chat" || got["llm.provider"] != "groq" || got["llm.system"] != "mistralai" {
		t.Errorf("span %q with %v", span.Name(), got)
	}
}
