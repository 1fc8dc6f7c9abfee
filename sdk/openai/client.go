// Package openai is a small client for OpenAI-compatible chat-completions
// APIs (OpenAI, Azure OpenAI, Groq, Together, vLLM, Ollama, LiteLLM, …) over
// plain net/http, which records every call as a complete OpenInference LLM
// span: model, provider, invocation parameters, input and output messages
// with tool calls, tools offered, finish reason and token counts including
// cached prompt tokens and reasoning tokens. Streamed completions are
// accumulated so that their span is as complete as a non-streamed one.
package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"

	loupe "github.com/loupe-dev/loupe/sdk"
	oi "github.com/loupe-dev/loupe/sdk/openinference"
)

const (
	// DefaultBaseURL is OpenAI's API.
	DefaultBaseURL = "https://api.openai.com/v1"
	// DefaultSpanName is the name of the spans, as the Python
	// OpenInference instrumentation names them.
	DefaultSpanName = "ChatCompletion"
)

// Client calls POST {base}/chat/completions. It is safe for concurrent use.
type Client struct {
	baseURL  string
	apiKey   string
	http     *http.Client
	tracer   *loupe.Tracer
	spanName string
	system   string
	provider string
	header   http.Header
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (default http.DefaultClient).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithTracer sets the tracer the spans are started with (default
// loupe.Default(), on the global tracer provider).
func WithTracer(t *loupe.Tracer) Option { return func(c *Client) { c.tracer = t } }

// WithSpanName sets the name of the LLM spans (default "ChatCompletion").
func WithSpanName(name string) Option { return func(c *Client) { c.spanName = name } }

// WithProvider sets llm.provider, the host of the model, when it cannot be
// inferred from the base URL (for example "groq" behind a proxy).
func WithProvider(provider string) Option { return func(c *Client) { c.provider = provider } }

// WithSystem sets llm.system, the API shape (default "openai").
func WithSystem(system string) Option { return func(c *Client) { c.system = system } }

// WithHeader adds a header to every request (for example api-key for Azure,
// or an organisation header).
func WithHeader(key, value string) Option { return func(c *Client) { c.header.Add(key, value) } }

// NewClient returns a client for the API at baseURL (such as
// "https://api.openai.com/v1" or "http://localhost:11434/v1"); an empty
// baseURL means DefaultBaseURL. An empty apiKey sends no Authorization header.
func NewClient(baseURL, apiKey string, opts ...Option) *Client {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	c := &Client{
		baseURL:  strings.TrimSuffix(baseURL, "/"),
		apiKey:   apiKey,
		http:     http.DefaultClient,
		spanName: DefaultSpanName,
		system:   oi.LLMSystemOpenAI,
		provider: providerFromBaseURL(baseURL),
		header:   http.Header{},
	}
	for _, opt := range opts {
		opt(c)
	}
	if c.tracer == nil {
		c.tracer = loupe.Default()
	}
	return c
}

// CreateChatCompletion sends req and returns the completion. The call is
// recorded as an LLM span, with the error if it fails.
func (c *Client) CreateChatCompletion(ctx context.Context, req ChatCompletionRequest) (*ChatCompletion, error) {
	req.Stream, req.StreamOptions = false, nil
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encoding the chat completion request: %w", err)
	}
	ctx, span := c.startSpan(ctx, req, body)
	cc, err := c.complete(ctx, body)
	if cc != nil {
		span.SetResponse(cc.response)
	}
	span.Finish(nil, err)
	if err != nil {
		return nil, err
	}
	return &cc.completion, nil
}

type completed struct {
	completion ChatCompletion
	response   loupe.LLMResponse
}

func (c *Client) complete(ctx context.Context, body []byte) (*completed, error) {
	resp, err := c.post(ctx, body, false)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the chat completion: %w", err)
	}
	var cc ChatCompletion
	if err := json.Unmarshal(raw, &cc); err != nil {
		return nil, fmt.Errorf("decoding the chat completion: %w", err)
	}
	return &completed{completion: cc, response: llmResponse(cc, json.RawMessage(raw))}, nil
}

func (c *Client) post(ctx context.Context, body []byte, stream bool) (*http.Response, error) {
	url := c.baseURL + "/chat/completions"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("building the request to %s: %w", url, err)
	}
	maps.Copy(req.Header, c.header.Clone())
	req.Header.Set("Content-Type", "application/json")
	if stream {
		req.Header.Set("Accept", "text/event-stream")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("calling %s: %w", url, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return nil, newAPIError(resp.StatusCode, b)
	}
	return resp, nil
}

func (c *Client) startSpan(ctx context.Context, req ChatCompletionRequest, body []byte) (context.Context, *loupe.LLMSpan) {
	return c.tracer.StartLLM(ctx, c.spanName, loupe.LLMRequest{
		Model:                req.Model,
		Provider:             c.provider,
		System:               c.system,
		InvocationParameters: invocationParameters(body),
		Messages:             loupeMessages(req.Messages),
		Tools:                loupeTools(req.Tools),
		Input:                json.RawMessage(body),
	})
}

// invocationParameters are the request body without the messages and tools,
// which have attributes of their own.
func invocationParameters(body []byte) map[string]json.RawMessage {
	var params map[string]json.RawMessage
	if json.Unmarshal(body, &params) != nil {
		return nil
	}
	delete(params, "messages")
	delete(params, "tools")
	return params
}

func llmResponse(cc ChatCompletion, output json.RawMessage) loupe.LLMResponse {
	resp := loupe.LLMResponse{Model: cc.Model, Output: output}
	for _, ch := range cc.Choices {
		resp.Messages = append(resp.Messages, loupeMessage(ch.Message))
	}
	if len(cc.Choices) > 0 {
		resp.FinishReason = cc.Choices[0].FinishReason
	}
	if u := cc.Usage; u != nil {
		resp.Tokens = loupe.TokenCount{Prompt: u.PromptTokens, Completion: u.CompletionTokens, Total: u.TotalTokens}
		if d := u.PromptTokensDetails; d != nil {
			resp.Tokens.CacheRead, resp.Tokens.AudioPrompt = d.CachedTokens, d.AudioTokens
		}
		if d := u.CompletionTokensDetails; d != nil {
			resp.Tokens.Reasoning, resp.Tokens.AudioCompletion = d.ReasoningTokens, d.AudioTokens
		}
	}
	return resp
}

func loupeMessages(msgs []Message) []loupe.Message {
	out := make([]loupe.Message, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, loupeMessage(m))
	}
	return out
}

func loupeMessage(m Message) loupe.Message {
	lm := loupe.Message{Role: m.Role, Content: m.Content, ToolCallID: m.ToolCallID, Name: m.Name}
	for _, p := range m.Parts {
		switch {
		case p.Type == "text":
			lm.Contents = append(lm.Contents, loupe.TextPart(p.Text))
		case p.Type == "image_url" && p.ImageURL != nil:
			lm.Contents = append(lm.Contents, loupe.ImagePart(p.ImageURL.URL))
		}
	}
	for _, tc := range m.ToolCalls {
		lm.ToolCalls = append(lm.ToolCalls, loupe.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
	}
	return lm
}

func loupeTools(tools []Tool) []loupe.Tool {
	out := make([]loupe.Tool, 0, len(tools))
	for _, t := range tools {
		out = append(out, loupe.Tool{Name: t.Function.Name, Description: t.Function.Description, Parameters: t.Function.Parameters})
	}
	return out
}
