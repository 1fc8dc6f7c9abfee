// Package reliability_test holds Loupe to its promises against what goes
// wrong in the field: real OpenTelemetry exporters, with their default
// retry settings, sending through overload, a database restart and a full
// disk, and requests built to crash or exhaust the server. Each test
// starts the real binary.
package reliability_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/loupe-dev/loupe/e2e/e2etest"
)

func TestMain(m *testing.M) { e2etest.Main(m) }

// fleet is a number of applications, each with its own tracer provider,
// batch span processor and OTLP exporter as an application sets them up
// by default: retries on, with the exporter's own back-off and budget.
type fleet struct {
	providers []*sdktrace.TracerProvider
	produced  int
}

// newFleet starts n applications sending to srv over protocol ("http" or
// "grpc"), naming project in their resource.
func newFleet(t *testing.T, srv *e2etest.Server, protocol, project string, n int) *fleet {
	t.Helper()
	f := &fleet{}
	res := resource.NewSchemaless(attribute.String("openinference.project.name", project),
		attribute.String("service.name", "reliability"))
	for range n {
		var exp sdktrace.SpanExporter
		var err error
		switch protocol {
		case "http":
			u, _ := url.Parse(srv.HTTPURL)
			exp, err = otlptracehttp.New(context.Background(), otlptracehttp.WithEndpoint(u.Host), otlptracehttp.WithInsecure())
		case "grpc":
			exp, err = otlptracegrpc.New(context.Background(), otlptracegrpc.WithEndpoint(srv.GRPCAddr), otlptracegrpc.WithInsecure())
		default:
			t.Fatalf("unknown protocol %q", protocol)
		}
		if err != nil {
			t.Fatal(err)
		}
		f.providers = append(f.providers, sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res)))
	}
	return f
}

// produce has every application make spans agent-shaped traces of
// spansPerTrace spans, spans in all, spread evenly, pausing between
// traces so that production lasts about over.
func (f *fleet) produce(spans int, over time.Duration) {
	const spansPerTrace = 4
	per := spans / len(f.providers) / spansPerTrace
	var wg sync.WaitGroup
	for i, tp := range f.providers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := tp.Tracer("reliability")
			pause := over / time.Duration(max(per, 1))
			for j := range per {
				ctx, root := tr.Start(context.Background(), "agent.run")
				root.SetAttributes(attribute.String("openinference.span.kind", "AGENT"),
					attribute.String("input.value", fmt.Sprintf("question %d of app %d", j, i)))
				for k := range spansPerTrace - 1 {
					_, sp := tr.Start(ctx, "llm.chat")
					sp.SetAttributes(attribute.String("openinference.span.kind", "LLM"),
						attribute.String("llm.model_name", "gpt-4o-mini"),
						attribute.Int("llm.token_count.prompt", 100+k),
						attribute.String("output.value", strings.Repeat("an answer ", 20)))
					sp.End()
				}
				root.End()
				if pause > 0 {
					time.Sleep(pause)
				}
			}
		}()
	}
	wg.Wait()
	f.produced += per * spansPerTrace * len(f.providers)
}

// shutdown flushes every application, as a process does when it exits,
// giving the exporters time for their retries.
func (f *fleet) shutdown(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for _, tp := range f.providers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := tp.Shutdown(ctx); err != nil {
				t.Errorf("shutdown: %v", err)
			}
		}()
	}
	wg.Wait()
}

// storedSpans counts the distinct spans stored in project, paging through
// the REST API as a client would.
func storedSpans(t *testing.T, srv *e2etest.Server, project string) int {
	t.Helper()
	seen := map[string]bool{}
	cursor := ""
	for {
		var page struct {
			Data []struct {
				Context struct {
					SpanID string `json:"span_id"`
				} `json:"context"`
			} `json:"data"`
			NextCursor *string `json:"next_cursor"`
		}
		path := "/v1/projects/" + project + "/spans?limit=1000"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		srv.GetJSON(t, path, &page)
		for _, s := range page.Data {
			seen[s.Context.SpanID] = true
		}
		if page.NextCursor == nil || *page.NextCursor == "" {
			return len(seen)
		}
		cursor = *page.NextCursor
	}
}
