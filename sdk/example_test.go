package loupe_test

import (
	"context"
	"encoding/json"
	"log"
	"net/http"
	"slices"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	loupe "github.com/loupe-dev/loupe/sdk"
)

func ExampleRegister() {
	ctx := context.Background()
	tp, shutdown, err := loupe.Register(ctx, loupe.WithProjectName("checkout"))
	if err != nil {
		log.Fatal(err)
	}
	defer func() {
		if err := shutdown(ctx); err != nil {
			log.Print(err)
		}
	}()
	tracer := loupe.NewTracer(tp)

	ctx = loupe.WithSession(ctx, "conversation-17")
	ctx, span := tracer.StartChain(ctx, "answer", "What is Loupe?")
	answer, err := answerQuestion(ctx, "What is Loupe?")
	span.Finish(answer, err)
}

func answerQuestion(context.Context, string) (string, error) { return "An LLM trace viewer.", nil }

func ExampleTracer_StartLLM() {
	tracer := loupe.Default()
	ctx, span := tracer.StartLLM(context.Background(), "llm.chat", loupe.LLMRequest{
		Model:    "gpt-4o-mini",
		Provider: "openai",
		System:   "openai",
		Messages: []loupe.Message{
			{Role: "system", Content: "Answer briefly."},
			{Role: "user", Contents: []loupe.ContentPart{
				loupe.TextPart("What is in this picture?"),
				loupe.ImagePart("https://example.com/cat.png"),
			}},
		},
		Tools: []loupe.Tool{{Name: "lookup", Description: "Look up a fact.", Parameters: json.RawMessage(`{"type":"object"}`)}},
	})
	_ = ctx // pass on to work done inside the call
	span.SetResponse(loupe.LLMResponse{
		Model:        "gpt-4o-mini-2024-07-18",
		Messages:     []loupe.Message{{Role: "assistant", Content: "A cat."}},
		FinishReason: "stop",
		Tokens:       loupe.TokenCount{Prompt: 812, Completion: 4, CacheRead: 768},
	})
	span.Finish(nil, nil)
}

func ExampleTracer_StartTool() {
	tracer := loupe.Default()
	tool := loupe.Tool{Name: "search_docs", Description: "Search the documentation."}
	ctx, span := tracer.StartTool(context.Background(), tool, json.RawMessage(`{"query":"ports"}`), loupe.ToolCallID("call_1"))

	_, retrieval := tracer.StartRetriever(ctx, "retrieval", "ports")
	docs := []loupe.Document{{ID: "install-1", Score: 0.92, Content: "Loupe listens on 6006 and 4317."}}
	retrieval.SetDocuments(docs)
	retrieval.Finish(nil, nil)

	span.Finish(docs[0].Content, nil)
}

func ExampleTracer_Middleware() {
	tracer := loupe.Default()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /ask", func(w http.ResponseWriter, r *http.Request) {
		span := tracer.SpanFromContext(r.Context())
		span.SetInput("the question")
		span.SetOutput("the answer")
	})
	log.Fatal(http.ListenAndServe(":8080", tracer.Middleware(mux)))
}

// keepPaths samples every request to some paths and defers to its Sampler
// for the rest. The middleware passes url.path at span start, so samplers
// can see it.
type keepPaths struct {
	sdktrace.Sampler
	paths []string
}

func (s keepPaths) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	for _, kv := range p.Attributes {
		if kv.Key == "url.path" && slices.Contains(s.paths, kv.Value.AsString()) {
			return sdktrace.AlwaysSample().ShouldSample(p)
		}
	}
	return s.Sampler.ShouldSample(p)
}

func ExampleWithSampler() {
	// One trace in ten, decided at the root and followed by every child (and
	// by downstream services through traceparent), but every /checkout.
	sampler := sdktrace.ParentBased(keepPaths{
		Sampler: sdktrace.TraceIDRatioBased(0.1),
		paths:   []string{"/checkout"},
	})
	_, shutdown, err := loupe.Register(context.Background(), loupe.WithSampler(sampler))
	if err != nil {
		log.Fatal(err)
	}
	defer shutdown(context.Background())
}
