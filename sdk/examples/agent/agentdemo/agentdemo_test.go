package agentdemo

import (
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	loupe "github.com/loupe-dev/loupe/sdk"
	"github.com/loupe-dev/loupe/sdk/openai"
)

func TestAnswerTrace(t *testing.T) {
	llm, err := startFakeLLM()
	if err != nil {
		t.Fatal(err)
	}
	defer llm.Close()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(loupe.NewContextProcessor()), sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	tracer := loupe.NewTracer(tp, loupe.WithTraceConfig(loupe.TraceConfig{}))
	client := openai.NewClient(llm.URL, "sk-demo", openai.WithTracer(tracer), openai.WithSpanName("llm.chat"))

	traceID, answer, err := Answer(context.Background(), tracer, client, Question)
	if err != nil {
		t.Fatal(err)
	}
	if want := "From the docs: To send traces from Go, call loupe.Register(ctx)"; !strings.HasPrefix(answer, want) {
		t.Errorf("answer = %q, want it to start with %q", answer, want)
	}

	spans := rec.Ended()
	byID := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		byID[s.SpanContext().SpanID().String()] = s
	}
	// Each span as "name (KIND) < parent", in the order they ended.
	var tree []string
	for _, s := range spans {
		a := attrMap(s)
		if s.SpanContext().TraceID().String() != traceID {
			t.Errorf("span %s is in trace %s, want %s", s.Name(), s.SpanContext().TraceID(), traceID)
		}
		if a["session.id"] != "demo-session" || a["user.id"] != "demo-user" {
			t.Errorf("span %s lacks the context attributes: %v", s.Name(), a)
		}
		parent := "root"
		if p, ok := byID[s.Parent().SpanID().String()]; ok {
			parent = p.Name()
		}
		tree = append(tree, s.Name()+" ("+a["openinference.span.kind"].(string)+") < "+parent)
	}
	want := []string{
		"llm.chat (LLM) < agent.run",
		"retrieval (RETRIEVER) < search_docs",
		"search_docs (TOOL) < agent.run",
		"llm.chat (LLM) < agent.run",
		"fetch_chunk (TOOL) < agent.run",
		"llm.chat (LLM) < agent.run",
		"agent.run (AGENT) < root",
	}
	if diff := cmp.Diff(want, tree); diff != "" {
		t.Errorf("span tree (-want +got):\n%s", diff)
	}

	retrieval := attrMap(spans[1])
	if retrieval["retrieval.documents.0.document.id"] != "sdk-setup-1" || retrieval["retrieval.documents.0.document.score"] == nil {
		t.Errorf("retrieval documents: %v", retrieval)
	}
	fetch := attrMap(spans[4])
	if fetch["tool.id"] != "call_fetch_1" || fetch["input.value"] != `{"id":"sdk-setup-1"}` {
		t.Errorf("fetch_chunk attributes: %v", fetch)
	}
	for _, i := range []int{0, 3, 5} {
		llmAttrs := attrMap(spans[i])
		for _, k := range []string{"llm.token_count.prompt", "llm.token_count.completion", "llm.token_count.total", "llm.token_count.completion_details.reasoning"} {
			if _, ok := llmAttrs[k]; !ok {
				t.Errorf("llm.chat #%d lacks %s", i, k)
			}
		}
	}
	if got := attrMap(spans[0])["llm.output_messages.0.message.tool_calls.0.tool_call.function.name"]; got != "search_docs" {
		t.Errorf("first model call asked for %v, want search_docs", got)
	}
	if got := attrMap(spans[6])["output.value"]; got != answer {
		t.Errorf("agent output = %v, want the answer", got)
	}
}

func attrMap(s sdktrace.ReadOnlySpan) map[string]any {
	m := map[string]any{}
	for _, kv := range s.Attributes() {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}

func TestRunExportsTheTrace(t *testing.T) {
	var (
		mu    sync.Mutex
		names []string
		ids   = map[string]bool{}
	)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req coltracepb.ExportTraceServiceRequest
		if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
			http.Error(w, "bad export", http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, rs := range req.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					names = append(names, s.GetName())
					ids[hex.EncodeToString(s.GetTraceId())] = true
				}
			}
		}
		b, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(b)
	}))
	defer collector.Close()

	traceID, err := Run(context.Background(), collector.URL)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(names)
	want := []string{"agent.run", "fetch_chunk", "llm.chat", "llm.chat", "llm.chat", "retrieval", "search_docs"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("exported spans (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]bool{traceID: true}, ids); diff != "" {
		t.Errorf("trace IDs (-want +got):\n%s", diff)
	}
}
