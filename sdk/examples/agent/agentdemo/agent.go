// Package agentdemo is the documentation agent of the Loupe SDK example: an
// agent loop that asks a model for tools, runs them and answers, traced with
// the SDK and exported to Loupe. It lives in its own package so that tests,
// including end-to-end tests against a real Loupe server, can drive it.
package agentdemo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"

	loupe "github.com/loupe-dev/loupe/sdk"
	"github.com/loupe-dev/loupe/sdk/openai"
	oi "github.com/loupe-dev/loupe/sdk/openinference"
)

// Question is what the agent is asked.
const Question = "How do I send traces from Go to Loupe?"

const (
	model    = "demo-model"
	maxSteps = 5
)

// Run starts the fake model, answers Question with the agent and exports the
// trace to the Loupe server at endpoint (empty: PHOENIX_COLLECTOR_ENDPOINT,
// else http://localhost:6006). It flushes every span before returning, and
// returns the trace ID.
func Run(ctx context.Context, endpoint string) (traceID string, err error) {
	llm, err := startFakeLLM()
	if err != nil {
		return "", err
	}
	defer llm.Close()

	var opts []loupe.Option
	if endpoint != "" {
		opts = append(opts, loupe.WithEndpoint(endpoint))
	}
	// Run is also called from tests: leave the OpenTelemetry globals alone.
	opts = append(opts, loupe.WithGlobal(false))
	tp, shutdown, err := loupe.Register(ctx, opts...)
	if err != nil {
		return "", fmt.Errorf("setting up tracing: %w", err)
	}
	defer func() {
		// Flush even when ctx was cancelled: the spans are the point.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if serr := shutdown(sctx); serr != nil {
			err = errors.Join(err, fmt.Errorf("flushing spans to Loupe: %w", serr))
		}
	}()

	tracer := loupe.NewTracer(tp)
	client := openai.NewClient(llm.URL, "sk-demo", openai.WithTracer(tracer), openai.WithSpanName("llm.chat"))
	traceID, _, err = Answer(ctx, tracer, client, Question)
	return traceID, err
}

// Answer runs the agent loop for question under an AGENT span named
// agent.run, and returns the trace ID and the answer.
func Answer(ctx context.Context, tracer *loupe.Tracer, client *openai.Client, question string) (traceID, answer string, err error) {
	ctx = loupe.WithSession(ctx, "demo-session")
	ctx = loupe.WithUser(ctx, "demo-user")
	ctx = loupe.WithTags(ctx, "example", "agent")
	ctx = loupe.WithMetadata(ctx, map[string]any{"example": "agent", "sdk_version": loupe.Version})

	ctx, span := tracer.StartAgent(ctx, "agent.run", question)
	span.SetAttributes(attribute.String(oi.AgentName, "docs-agent"))
	traceID = span.SpanContext().TraceID().String()
	a := agent{tracer: tracer, client: client}
	answer, err = a.loop(ctx, question)
	span.Finish(answer, err)
	return traceID, answer, err
}

type agent struct {
	tracer *loupe.Tracer
	client *openai.Client
}

var tools = []openai.Tool{
	openai.FunctionTool("search_docs", "Search the Loupe documentation; returns the best chunks with their relevance score.",
		json.RawMessage(`{"type":"object","properties":{"query":{"type":"string"}},"required":["query"]}`)),
	openai.FunctionTool("fetch_chunk", "Fetch the full text of a documentation chunk by id.",
		json.RawMessage(`{"type":"object","properties":{"id":{"type":"string"}},"required":["id"]}`)),
}

func (a agent) loop(ctx context.Context, question string) (string, error) {
	msgs := []openai.Message{
		{Role: "system", Content: "You answer questions about Loupe from its documentation. Search first, then read the best chunk."},
		{Role: "user", Content: question},
	}
	for range maxSteps {
		cc, err := a.client.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: model, Messages: msgs, Tools: tools})
		if err != nil {
			return "", fmt.Errorf("asking the model: %w", err)
		}
		if len(cc.Choices) == 0 {
			return "", errors.New("the model returned no choice")
		}
		reply := cc.Choices[0].Message
		if len(reply.ToolCalls) == 0 {
			return reply.Content, nil
		}
		msgs = append(msgs, reply)
		for _, call := range reply.ToolCalls {
			result, err := a.runTool(ctx, call)
			if err != nil {
				// The model is told, and may try something else.
				result = "error: " + err.Error()
			}
			msgs = append(msgs, openai.Message{Role: "tool", ToolCallID: call.ID, Content: result})
		}
	}
	return "", fmt.Errorf("no answer after %d steps", maxSteps)
}

// runTool runs one tool call in a TOOL span named after the tool.
func (a agent) runTool(ctx context.Context, call openai.ToolCall) (string, error) {
	def, ok := toolByName(call.Function.Name)
	if !ok {
		return "", fmt.Errorf("unknown tool %q", call.Function.Name)
	}
	ctx, span := a.tracer.StartTool(ctx, def, json.RawMessage(call.Function.Arguments), loupe.ToolCallID(call.ID))
	var args struct {
		Query string `json:"query"`
		ID    string `json:"id"`
	}
	var (
		result string
		err    error
	)
	if err = json.Unmarshal([]byte(call.Function.Arguments), &args); err != nil {
		err = fmt.Errorf("decoding the arguments of %s: %w", def.Name, err)
	} else if def.Name == "search_docs" {
		result, err = a.searchDocs(ctx, args.Query)
	} else {
		result, err = fetchChunk(args.ID)
	}
	span.Finish(result, err)
	return result, err
}

func toolByName(name string) (loupe.Tool, bool) {
	for _, t := range tools {
		if t.Function.Name == name {
			return loupe.Tool{Name: name, Description: t.Function.Description, Parameters: t.Function.Parameters}, true
		}
	}
	return loupe.Tool{}, false
}

type searchHit struct {
	ID    string  `json:"id"`
	Title string  `json:"title"`
	Score float64 `json:"score"`
}

// searchDocs retrieves the best chunks in a RETRIEVER span named retrieval.
func (a agent) searchDocs(ctx context.Context, query string) (string, error) {
	_, span := a.tracer.StartRetriever(ctx, "retrieval", query)
	hits := search(query, 3)
	docs := make([]loupe.Document, 0, len(hits))
	out := make([]searchHit, 0, len(hits))
	for _, h := range hits {
		docs = append(docs, loupe.Document{ID: h.ID, Score: h.Score, Content: h.Text, Metadata: map[string]any{"title": h.Title}})
		out = append(out, searchHit{ID: h.ID, Title: h.Title, Score: h.Score})
	}
	span.SetDocuments(docs)
	b, err := json.Marshal(out)
	span.Finish(nil, err)
	return string(b), err
}

func fetchChunk(id string) (string, error) {
	c, ok := chunkByID(id)
	if !ok {
		return "", fmt.Errorf("no chunk %q", id)
	}
	return c.Text, nil
}
