package loupe

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	oi "github.com/loupe-dev/loupe/sdk/openinference"
)

// Message is one chat message sent to or received from a model.
type Message struct {
	Role string `json:"role"` // system, user, assistant, tool, …
	// Content is the text of a simple message.
	Content string `json:"content,omitempty"`
	// Contents holds the parts of a multi-part message (text and images).
	Contents []ContentPart `json:"contents,omitempty"`
	// ToolCalls are the calls an assistant message asks for.
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
	// ToolCallID is, on a tool message, the id of the call it answers.
	ToolCallID string `json:"tool_call_id,omitempty"`
	// Name is, on a tool or function message, the function that produced it.
	Name string `json:"name,omitempty"`
}

// ContentPart is one part of a multi-part message.
type ContentPart struct {
	Type     string `json:"type"` // "text" or "image"
	Text     string `json:"text,omitempty"`
	ImageURL string `json:"image_url,omitempty"` // URL or data:image/…;base64, URI
}

// TextPart returns a text content part.
func TextPart(text string) ContentPart {
	return ContentPart{Type: oi.MessageContentTypeText, Text: text}
}

// ImagePart returns an image content part for a URL or a data URI.
func ImagePart(url string) ContentPart {
	return ContentPart{Type: oi.MessageContentTypeImage, ImageURL: url}
}

// ToolCall is a function call requested by a model.
type ToolCall struct {
	ID        string `json:"id,omitempty"`
	Name      string `json:"name"`
	Arguments string `json:"arguments,omitempty"` // JSON text, as the model wrote it
}

// TokenCount is the token usage of a model call. Zero counts are not
// recorded; a zero Total is computed from Prompt and Completion.
type TokenCount struct {
	Prompt          int
	Completion      int
	Total           int
	CacheRead       int // prompt tokens served from cache
	CacheWrite      int // prompt tokens written to cache
	Reasoning       int // completion tokens spent reasoning
	AudioPrompt     int
	AudioCompletion int
}

// PromptTemplate is the template a prompt was rendered from.
type PromptTemplate struct {
	Template  string
	Version   string
	Variables map[string]any
}

// LLMRequest describes a call to a language model.
type LLMRequest struct {
	Model string
	// Provider is who hosts the model (openai, azure, groq, …); System is
	// the API shape or vendor (openai, anthropic, …).
	Provider string
	System   string
	// InvocationParameters are the request parameters other than the
	// messages (temperature, max tokens, …), recorded as JSON.
	InvocationParameters any
	Messages             []Message
	Tools                []Tool
	// PromptTemplate, when set, is recorded on this span and takes
	// precedence over one set with WithPromptTemplate.
	PromptTemplate *PromptTemplate
	// Input is recorded as input.value, typically the raw request as a
	// json.RawMessage. When nil, the messages are recorded as JSON.
	Input any
}

// LLMResponse describes a model's answer.
type LLMResponse struct {
	// Model is the model that answered; it replaces the requested name.
	Model        string
	Messages     []Message
	FinishReason string
	Tokens       TokenCount
	// Output is recorded as output.value, typically the raw response as a
	// json.RawMessage. When nil, the messages are recorded as JSON.
	Output any
}

// LLMSpan is the span of one model call.
type LLMSpan struct {
	*Span
}

// StartLLM starts an LLM span for req. Record the answer with SetResponse
// and end the span with Finish or End.
func (t *Tracer) StartLLM(ctx context.Context, name string, req LLMRequest, opts ...trace.SpanStartOption) (context.Context, *LLMSpan) {
	var attrs []attribute.KeyValue
	attrs = appendNonEmpty(attrs, oi.LLMModelName, req.Model)
	attrs = appendNonEmpty(attrs, oi.LLMProvider, req.Provider)
	attrs = appendNonEmpty(attrs, oi.LLMSystem, req.System)
	if kv, ok := jsonAttr(oi.LLMInvocationParameters, req.InvocationParameters); ok {
		attrs = append(attrs, kv)
	}
	attrs = append(attrs, messageAttrs(oi.LLMInputMessages, req.Messages)...)
	for i, tool := range req.Tools {
		if kv, ok := jsonAttr(item(oi.LLMTools, i, oi.ToolJSONSchema), tool.jsonSchema()); ok {
			attrs = append(attrs, kv)
		}
	}
	if req.PromptTemplate != nil {
		attrs = append(attrs, req.PromptTemplate.attributes()...)
	}
	input := req.Input
	if input == nil && len(req.Messages) > 0 {
		input = req.Messages
	}
	attrs = append(attrs, valueAttrs(oi.InputValue, oi.InputMimeType, input)...)
	ctx, span := t.start(ctx, name, oi.SpanKindLLM, attrs, opts)
	return ctx, &LLMSpan{span}
}

// SetResponse records the model's answer: output messages, finish reason,
// token counts and the model that answered.
func (s *LLMSpan) SetResponse(resp LLMResponse) {
	var attrs []attribute.KeyValue
	attrs = appendNonEmpty(attrs, oi.LLMModelName, resp.Model)
	attrs = append(attrs, messageAttrs(oi.LLMOutputMessages, resp.Messages)...)
	attrs = appendNonEmpty(attrs, oi.LLMFinishReason, resp.FinishReason)
	attrs = append(attrs, resp.Tokens.attributes()...)
	output := resp.Output
	if output == nil && len(resp.Messages) > 0 {
		output = resp.Messages
	}
	attrs = append(attrs, valueAttrs(oi.OutputValue, oi.OutputMimeType, output)...)
	s.SetAttributes(attrs...)
}

func messageAttrs(list string, msgs []Message) []attribute.KeyValue {
	var attrs []attribute.KeyValue
	for i, m := range msgs {
		attrs = appendNonEmpty(attrs, item(list, i, oi.MessageRole), m.Role)
		attrs = appendNonEmpty(attrs, item(list, i, oi.MessageContent), m.Content)
		for j, part := range m.Contents {
			prefix := item(list, i, item(oi.MessageContents, j, ""))
			attrs = appendNonEmpty(attrs, prefix+oi.MessageContentType, part.Type)
			attrs = appendNonEmpty(attrs, prefix+oi.MessageContentText, part.Text)
			attrs = appendNonEmpty(attrs, prefix+oi.MessageContentImage+"."+oi.ImageURL, part.ImageURL)
		}
		for k, call := range m.ToolCalls {
			prefix := item(list, i, item(oi.MessageToolCalls, k, ""))
			attrs = appendNonEmpty(attrs, prefix+oi.ToolCallID, call.ID)
			attrs = appendNonEmpty(attrs, prefix+oi.ToolCallFunctionName, call.Name)
			attrs = appendNonEmpty(attrs, prefix+oi.ToolCallFunctionArguments, call.Arguments)
		}
		attrs = appendNonEmpty(attrs, item(list, i, oi.MessageToolCallID), m.ToolCallID)
		attrs = appendNonEmpty(attrs, item(list, i, oi.MessageName), m.Name)
	}
	return attrs
}

func (tc TokenCount) attributes() []attribute.KeyValue {
	if tc.Total == 0 {
		tc.Total = tc.Prompt + tc.Completion
	}
	var attrs []attribute.KeyValue
	for _, c := range []struct {
		key string
		n   int
	}{
		{oi.LLMTokenCountPrompt, tc.Prompt},
		{oi.LLMTokenCountCompletion, tc.Completion},
		{oi.LLMTokenCountTotal, tc.Total},
		{oi.LLMTokenCountPromptDetailsCacheRead, tc.CacheRead},
		{oi.LLMTokenCountPromptDetailsCacheWrite, tc.CacheWrite},
		{oi.LLMTokenCountPromptDetailsAudio, tc.AudioPrompt},
		{oi.LLMTokenCountCompletionDetailsReasoning, tc.Reasoning},
		{oi.LLMTokenCountCompletionDetailsAudio, tc.AudioCompletion},
	} {
		if c.n != 0 {
			attrs = append(attrs, attribute.Int(c.key, c.n))
		}
	}
	return attrs
}

func (pt *PromptTemplate) attributes() []attribute.KeyValue {
	var attrs []attribute.KeyValue
	attrs = appendNonEmpty(attrs, oi.LLMPromptTemplate, pt.Template)
	attrs = appendNonEmpty(attrs, oi.LLMPromptTemplateVersion, pt.Version)
	if kv, ok := jsonAttr(oi.LLMPromptTemplateVariables, pt.Variables); ok {
		attrs = append(attrs, kv)
	}
	return attrs
}

func appendNonEmpty(attrs []attribute.KeyValue, key, value string) []attribute.KeyValue {
	if value == "" {
		return attrs
	}
	return append(attrs, attribute.String(key, value))
}
