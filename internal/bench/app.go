package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"golang.org/x/sync/semaphore"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/loupe-dev/loupe/internal/bench/agentgen"
)

// requestTimeout bounds one export request, as an application configures it.
const requestTimeout = 10 * time.Second

// app is one simulated application: its own tracer provider, batch span
// processor, exporter and connection, as separate processes would have.
type app struct {
	tp    *sdktrace.TracerProvider
	pool  []agentgen.Trace
	room  *semaphore.Weighted // spans the batch span processor can still queue
	close func() error        // releases the connection once the provider is shut down
}

// poolSize is how many distinct traces each app cycles through. Generating
// text costs more CPU than recording it; on a machine the generator shares
// with the server, a pool keeps the generator's share small.
const poolSize = 64

func newApp(cfg *Config, i int, st *stats, abort <-chan struct{}) (*app, error) {
	p := &probe{}
	exp, closeConn, err := newExporter(cfg, p)
	if err != nil {
		return nil, fmt.Errorf("app %d: %w", i, err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(
		attribute.String("service.name", fmt.Sprintf("bench-agent-%d", i)),
		attribute.String(agentgen.KeyProjectName, cfg.Project),
	))
	if err != nil {
		closeConn()
		return nil, fmt.Errorf("app %d: resource: %w", i, err)
	}
	// The processor blocks, rather than drops, when its queue is full, but
	// it cannot be told to stop waiting; room does the blocking instead, so
	// that a run against an overloaded server still ends on time.
	queue := 4 * cfg.Batch
	room := semaphore.NewWeighted(int64(queue))
	te := &timedExporter{next: exp, probe: p, stats: st, abort: abort, room: room}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithBatcher(te,
			sdktrace.WithMaxExportBatchSize(cfg.Batch),
			sdktrace.WithMaxQueueSize(queue),
			sdktrace.WithBlocking(),
			sdktrace.WithBatchTimeout(200*time.Millisecond),
			sdktrace.WithExportTimeout(30*time.Second),
		),
	)
	gen := agentgen.New(cfg.Shape, cfg.Seed+uint64(i)*0x9e3779b97f4a7c15, time.Now())
	pool := make([]agentgen.Trace, poolSize)
	for j := range pool {
		pool[j] = gen.Trace()
	}
	return &app{tp: tp, pool: pool, room: room, close: closeConn}, nil
}

// newExporter returns an OTLP exporter with its retries off, so that
// refusals reach timedExporter, and its requests watched by p.
func newExporter(cfg *Config, p *probe) (sdktrace.SpanExporter, func() error, error) {
	ctx := context.Background()
	if cfg.Protocol == "grpc" {
		conn, err := grpc.NewClient(cfg.GRPCAddr,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithUnaryInterceptor(p.interceptor))
		if err != nil {
			return nil, nil, fmt.Errorf("connect to %s: %w", cfg.GRPCAddr, err)
		}
		exp, err := otlptracegrpc.New(ctx,
			otlptracegrpc.WithGRPCConn(conn),
			otlptracegrpc.WithTimeout(requestTimeout),
			otlptracegrpc.WithHeaders(cfg.headers()),
			otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}))
		if err != nil {
			conn.Close()
			return nil, nil, fmt.Errorf("create OTLP/gRPC exporter: %w", err)
		}
		return exp, conn.Close, nil
	}
	endpoint, err := url.JoinPath(cfg.URL, "/v1/traces")
	if err != nil {
		return nil, nil, fmt.Errorf("--url %q: %w", cfg.URL, err)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	client := &http.Client{Transport: &roundTripper{next: transport, probe: p}, Timeout: requestTimeout}
	exp, err := otlptracehttp.New(ctx,
		otlptracehttp.WithEndpointURL(endpoint),
		otlptracehttp.WithHTTPClient(client),
		otlptracehttp.WithHeaders(cfg.headers()),
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}))
	if err != nil {
		return nil, nil, fmt.Errorf("create OTLP/HTTP exporter: %w", err)
	}
	closeIdle := func() error { transport.CloseIdleConnections(); return nil }
	return exp, closeIdle, nil
}

// headers are what every export request carries: the key, if any.
func (c *Config) headers() map[string]string {
	if c.APIKey == "" {
		return nil
	}
	return map[string]string{"Authorization": "Bearer " + c.APIKey}
}

// run records traces until ctx ends or the budget is spent.
func (a *app) run(ctx context.Context, budget *budget, pace *pacer, st *stats) {
	tracer := a.tp.Tracer(agentgen.ScopeName)
	for i := 0; ctx.Err() == nil && budget.take(); i++ {
		t := a.pool[i%len(a.pool)]
		if pace != nil && pace.wait(ctx, len(t.Spans)) != nil {
			return
		}
		if a.room.Acquire(ctx, int64(len(t.Spans))) != nil {
			return
		}
		// Send each trace as if it had just ended, whatever the pace.
		emit(ctx, tracer, t, time.Since(t.Spans[0].End))
		st.traces.Add(1)
		st.spansSent.Add(int64(len(t.Spans)))
	}
}
