// Package ingest_test checks the write path end to end: the real binary,
// real OpenTelemetry exporters, and the REST API reading back.
package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/loupe-dev/loupe/e2e/e2etest"
)

func TestMain(m *testing.M) { e2etest.Main(m) }

// jsonTransport turns the Go exporter's OTLP/protobuf requests into
// OTLP/JSON (the Go SDK has no JSON exporter; JavaScript's default one
// sends JSON) and the JSON answers back into protobuf.
type jsonTransport struct{ sawJSON bool }

func (j *jsonTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(body); err != nil {
		return nil, err
	}
	js, err := req.MarshalJSON()
	if err != nil {
		return nil, err
	}
	out := r.Clone(r.Context())
	out.Body = io.NopCloser(bytes.NewReader(js))
	out.ContentLength = int64(len(js))
	out.Header.Set("Content-Type", "application/json")
	out.Header.Del("Content-Encoding")
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		return nil, fmt.Errorf("JSON request answered with Content-Type %q", ct)
	}
	j.sawJSON = true
	rb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	er := ptraceotlp.NewExportResponse()
	if err := er.UnmarshalJSON(rb); err != nil {
		return nil, fmt.Errorf("JSON response does not decode: %w", err)
	}
	pb, _ := er.MarshalProto()
	resp.Body = io.NopCloser(bytes.NewReader(pb))
	resp.ContentLength = int64(len(pb))
	resp.Header.Set("Content-Type", "application/x-protobuf")
	return resp, nil
}

// emitAgentRun records an agent run with the OpenTelemetry SDK: an AGENT
// root, an LLM call with messages, tool calls and token counts, a TOOL with
// a RETRIEVER child, and a failing LLM call. It returns the trace id.
func emitAgentRun(ctx context.Context, tp trace.TracerProvider, session string) string {
	tr := tp.Tracer("loupe-e2e")
	ctx, root := tr.Start(ctx, "agent.run", trace.WithAttributes(
		attribute.String("openinference.span.kind", "AGENT"),
		attribute.String("input.value", "What is our refund policy?"),
		attribute.String("output.value", "Refunds within 30 days."),
		attribute.String("session.id", session),
		attribute.String("user.id", "alice"),
	))
	_, llm := tr.Start(ctx, "llm.chat", trace.WithAttributes(
		attribute.String("openinference.span.kind", "LLM"),
		attribute.String("llm.model_name", "gpt-4o-mini"),
		attribute.String("llm.provider", "openai"),
		attribute.String("llm.input_messages.0.message.role", "system"),
		attribute.String("llm.input_messages.0.message.content", "You are helpful."),
		attribute.String("llm.input_messages.1.message.role", "user"),
		attribute.String("llm.input_messages.1.message.content", "What is our refund policy?"),
		attribute.String("llm.output_messages.0.message.role", "assistant"),
		attribute.String("llm.output_messages.0.message.tool_calls.0.tool_call.function.name", "search_docs"),
		attribute.String("llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments", `{"query":"refund policy"}`),
		attribute.String("llm.invocation_parameters", `{"temperature":0.2}`),
		attribute.Int("llm.token_count.prompt", 120),
		attribute.Int("llm.token_count.completion", 30),
		attribute.Int("llm.token_count.total", 150),
		attribute.Int("llm.token_count.prompt_details.cache_read", 64),
		attribute.StringSlice("tag.tags", []string{"prod", "eu"}),
	))
	llm.End()
	tctx, tool := tr.Start(ctx, "tool.search_docs", trace.WithAttributes(
		attribute.String("openinference.span.kind", "TOOL"), attribute.String("tool.name", "search_docs")))
	_, ret := tr.Start(tctx, "retrieval", trace.WithAttributes(
		attribute.String("openinference.span.kind", "RETRIEVER"),
		attribute.String("retrieval.documents.0.document.id", "doc-7"),
		attribute.Float64("retrieval.documents.0.document.score", 0.92),
		attribute.String("retrieval.documents.0.document.content", "Refunds are accepted within 30 days."),
	))
	ret.End()
	tool.End()
	_, bad := tr.Start(ctx, "llm.chat", trace.WithAttributes(
		attribute.String("openinference.span.kind", "LLM"),
		attribute.Int("llm.token_count.prompt", 200),
		attribute.Int("llm.token_count.completion", 10),
	))
	bad.RecordError(fmt.Errorf("rate limited"))
	bad.SetStatus(codes.Error, "rate limited")
	bad.End()
	root.End()
	return root.SpanContext().TraceID().String()
}

type spanPage struct {
	Data []struct {
		Name    string `json:"name"`
		Context struct {
			TraceID string `json:"trace_id"`
			SpanID  string `json:"span_id"`
		} `json:"context"`
		SpanKind   string         `json:"span_kind"`
		ParentID   *string        `json:"parent_id"`
		StatusCode string         `json:"status_code"`
		Attributes map[string]any `json:"attributes"`
		Events     []struct {
			Name       string         `json:"name"`
			Attributes map[string]any `json:"attributes"`
		} `json:"events"`
	} `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

type tracePage struct {
	Data []struct {
		TraceID          string  `json:"trace_id"`
		Name             string  `json:"name"`
		NumSpans         int     `json:"num_spans"`
		ErrorCount       int     `json:"error_count"`
		TokenCountPrompt int     `json:"token_count_prompt"`
		TokenCountTotal  int     `json:"token_count_total"`
		SessionID        *string `json:"session_id"`
		UserID           *string `json:"user_id"`
		Input            string  `json:"input"`
		StatusCode       string  `json:"status_code"`
	} `json:"data"`
}

func TestOpenTelemetryExporters(t *testing.T) {
	srv := e2etest.Start(t, e2etest.Build(t))
	ctx := context.Background()
	host := strings.TrimPrefix(srv.HTTPURL, "http://")
	jt := &jsonTransport{}

	exporters := []struct {
		project string
		header  bool // project named by x-project-name rather than the resource
		new     func() (sdktrace.SpanExporter, error)
	}{
		{"otlp-http-protobuf", false, func() (sdktrace.SpanExporter, error) {
			return otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(host), otlptracehttp.WithInsecure(),
				otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
		}},
		{"otlp-http-json", false, func() (sdktrace.SpanExporter, error) {
			return otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(host), otlptracehttp.WithInsecure(),
				otlptracehttp.WithHTTPClient(&http.Client{Transport: jt}))
		}},
		{"otlp-grpc", false, func() (sdktrace.SpanExporter, error) {
			return otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(srv.GRPCAddr), otlptracegrpc.WithInsecure(),
				otlptracegrpc.WithCompressor("gzip"))
		}},
		{"by-header", true, func() (sdktrace.SpanExporter, error) {
			return otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(host), otlptracehttp.WithInsecure(),
				otlptracehttp.WithHeaders(map[string]string{"x-project-name": "by-header"}))
		}},
	}
	traceIDs := map[string][]string{}
	for _, ex := range exporters {
		exp, err := ex.new()
		if err != nil {
			t.Fatalf("%s: %v", ex.project, err)
		}
		resProject := ex.project
		if ex.header {
			resProject = "ignored-for-header"
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp),
			sdktrace.WithResource(resource.NewSchemaless(attribute.String("openinference.project.name", resProject))))
		for i := 0; i < 3; i++ {
			traceIDs[ex.project] = append(traceIDs[ex.project], emitAgentRun(ctx, tp, fmt.Sprintf("%s-session", ex.project)))
		}
		if err := tp.Shutdown(ctx); err != nil {
			t.Fatalf("%s: exporting: %v", ex.project, err)
		}
	}
	if !jt.sawJSON {
		t.Error("the JSON exporter's requests were not answered in JSON")
	}

	for _, ex := range exporters {
		t.Run(ex.project, func(t *testing.T) {
			var spans spanPage
			srv.GetJSON(t, "/v1/projects/"+ex.project+"/spans?limit=1000", &spans)
			if len(spans.Data) != 15 {
				t.Fatalf("project %s has %d spans, want 15 (3 traces of 5)", ex.project, len(spans.Data))
			}
			kinds := map[string]int{}
			for _, s := range spans.Data {
				kinds[s.SpanKind]++
				if s.Name == "llm.chat" && s.StatusCode != "ERROR" {
					a := s.Attributes
					checks := map[string]any{
						"llm.model_name":                       "gpt-4o-mini",
						"llm.input_messages.1.message.content": "What is our refund policy?",
						"llm.output_messages.0.message.tool_calls.0.tool_call.function.name":      "search_docs",
						"llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": `{"query":"refund policy"}`,
						"llm.token_count.prompt":                    float64(120),
						"llm.token_count.prompt_details.cache_read": float64(64),
						"llm.invocation_parameters":                 `{"temperature":0.2}`,
					}
					for k, want := range checks {
						if a[k] != want {
							t.Errorf("LLM span attribute %s = %#v, want %#v", k, a[k], want)
						}
					}
					if tags, _ := a["tag.tags"].([]any); len(tags) != 2 || tags[0] != "prod" {
						t.Errorf("tag.tags = %#v, want [prod eu]", a["tag.tags"])
					}
					if _, ok := a["openinference.span.kind"]; ok {
						t.Error("openinference.span.kind is reported among attributes; Phoenix reports it as span_kind only")
					}
				}
				if s.Name == "retrieval" && s.Attributes["retrieval.documents.0.document.score"] != 0.92 {
					t.Errorf("document score = %#v, want 0.92", s.Attributes["retrieval.documents.0.document.score"])
				}
				if s.StatusCode == "ERROR" && (len(s.Events) != 1 || s.Events[0].Name != "exception" || s.Events[0].Attributes["exception.message"] != "rate limited") {
					t.Errorf("error span events = %+v, want the exception", s.Events)
				}
			}
			if kinds["LLM"] != 6 || kinds["AGENT"] != 3 || kinds["TOOL"] != 3 || kinds["RETRIEVER"] != 3 {
				t.Errorf("kinds = %v", kinds)
			}

			var traces tracePage
			srv.GetJSON(t, "/v1/projects/"+ex.project+"/traces", &traces)
			if len(traces.Data) != 3 {
				t.Fatalf("%d traces, want 3", len(traces.Data))
			}
			for _, tr := range traces.Data {
				if tr.Name != "agent.run" || tr.NumSpans != 5 || tr.ErrorCount != 1 || tr.StatusCode != "ERROR" ||
					tr.TokenCountPrompt != 320 || tr.TokenCountTotal != 360 || tr.Input != "What is our refund policy?" ||
					tr.UserID == nil || *tr.UserID != "alice" || tr.SessionID == nil || *tr.SessionID != ex.project+"-session" {
					t.Errorf("trace roll-up = %+v", tr)
				}
			}
		})
	}
	var projects struct {
		Data []struct{ Name string } `json:"data"`
	}
	srv.GetJSON(t, "/v1/projects", &projects)
	names := map[string]bool{}
	for _, p := range projects.Data {
		names[p.Name] = true
	}
	if names["ignored-for-header"] {
		t.Error("the resource project was used although x-project-name was sent")
	}
	srv.Stop(t)
}

func TestRestartKeepsData(t *testing.T) {
	bin := e2etest.Build(t)
	srv := e2etest.Start(t, bin)
	ctx := context.Background()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(srv.GRPCAddr), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	id := emitAgentRun(ctx, tp, "s")
	tp.Shutdown(ctx)
	srv.Stop(t)

	again := e2etest.Start(t, bin, "--data-dir", srv.DataDir)
	var traces tracePage
	again.GetJSON(t, "/v1/projects/default/traces", &traces)
	if len(traces.Data) != 1 || traces.Data[0].TraceID != id || traces.Data[0].NumSpans != 5 {
		t.Errorf("after restart: %+v, want trace %s with 5 spans", traces.Data, id)
	}
	again.Stop(t)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
