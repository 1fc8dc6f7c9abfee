package loupe

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	oi "github.com/loupe-dev/loupe/sdk/openinference"
)

const (
	// DefaultEndpoint is where Register exports when nothing says otherwise.
	DefaultEndpoint = "http://localhost:6006"
	// DefaultProjectName is the project of spans that name none.
	DefaultProjectName = "default"
	defaultGRPCPort    = 4317
	// The OpenTelemetry default of 128 attributes cuts a long conversation
	// short without a word; the OpenInference helpers raise it the same way.
	defaultAttributeCountLimit = 10000
)

// ShutdownFunc flushes the spans still queued and stops the exporter, and
// reports spans that could not be exported. Call it before the program
// exits, or the last spans are lost.
type ShutdownFunc func(context.Context) error

// Register sets up a tracer provider that exports OpenInference spans to
// Loupe, configured like Phoenix's register helpers:
//
//   - PHOENIX_COLLECTOR_ENDPOINT: the collector (default http://localhost:6006).
//     OTLP/HTTP goes to {endpoint}/v1/traces; OTLP/gRPC to port 4317 of that
//     host (PHOENIX_GRPC_PORT), chosen with WithProtocol or by an endpoint
//     with no path on port 4317.
//   - PHOENIX_PROJECT or PHOENIX_PROJECT_NAME: the project (default
//     "default"), recorded as the resource attribute openinference.project.name.
//   - PHOENIX_API_KEY: sent as "Authorization: Bearer <key>".
//   - PHOENIX_CLIENT_HEADERS: more headers, as "k1=v1,k2=v2" (values may be
//     URL-encoded).
//
// Options override the environment. Spans are exported by a batch processor
// unless WithBatch(false); the context attributes (WithSession, …) are copied
// onto every span; the span attribute count limit is raised to 10,000 unless
// OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT or OTEL_ATTRIBUTE_COUNT_LIMIT is set (value
// length stays unlimited unless OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT says
// otherwise). Register prints nothing unless WithVerbose.
//
// The provider also becomes the OpenTelemetry global, with W3C trace-context
// and baggage propagation, unless WithGlobal(false).
func Register(ctx context.Context, opts ...Option) (*sdktrace.TracerProvider, ShutdownFunc, error) {
	cfg := config{batch: true, global: true}
	for _, opt := range opts {
		opt(&cfg)
	}
	project := resolveProject(cfg, os.Getenv)

	exporter := cfg.exporter
	var target exportTarget
	if exporter == nil {
		var err error
		target, err = resolveTarget(cfg, os.Getenv)
		if err != nil {
			return nil, nil, err
		}
		exporter, err = newExporter(ctx, target)
		if err != nil {
			return nil, nil, err
		}
	}

	res := resource.Default()
	if cfg.resource != nil {
		merged, err := resource.Merge(res, cfg.resource)
		if err != nil {
			return nil, nil, fmt.Errorf("merging the resource: %w", err)
		}
		res = merged
	}
	res, err := resource.Merge(res, resource.NewSchemaless(attribute.String(oi.ProjectName, project)))
	if err != nil {
		return nil, nil, fmt.Errorf("adding the project to the resource: %w", err)
	}

	exporting := sdktrace.NewBatchSpanProcessor(exporter)
	if !cfg.batch {
		exporting = sdktrace.NewSimpleSpanProcessor(exporter)
	}
	tpOpts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(res),
		sdktrace.WithRawSpanLimits(spanLimits(os.Getenv)),
		sdktrace.WithSpanProcessor(NewContextProcessor()),
		sdktrace.WithSpanProcessor(exporting),
	}
	for _, p := range cfg.processors {
		tpOpts = append(tpOpts, sdktrace.WithSpanProcessor(p))
	}
	if cfg.sampler != nil {
		tpOpts = append(tpOpts, sdktrace.WithSampler(cfg.sampler))
	}
	tp := sdktrace.NewTracerProvider(tpOpts...)

	if cfg.global {
		otel.SetTracerProvider(tp)
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	}
	if cfg.verbose != nil {
		printConfig(cfg, project, target)
	}
	shutdown := func(ctx context.Context) error {
		// Shutdown alone hands export failures to the OpenTelemetry error
		// handler; flushing first lets the caller learn that spans were lost.
		return errors.Join(tp.ForceFlush(ctx), tp.Shutdown(ctx))
	}
	return tp, shutdown, nil
}

// exportTarget is where and how spans are exported.
type exportTarget struct {
	endpoint string // full URL
	protocol Protocol
	headers  map[string]string
}

func resolveProject(cfg config, getenv func(string) string) string {
	for _, name := range []string{cfg.project, getenv("PHOENIX_PROJECT"), getenv("PHOENIX_PROJECT_NAME")} {
		if name != "" {
			return name
		}
	}
	return DefaultProjectName
}

func resolveTarget(cfg config, getenv func(string) string) (exportTarget, error) {
	grpcPort := defaultGRPCPort
	if s := getenv("PHOENIX_GRPC_PORT"); s != "" {
		p, err := strconv.Atoi(s)
		if err != nil || p <= 0 || p > 65535 {
			return exportTarget{}, fmt.Errorf("reading PHOENIX_GRPC_PORT: %q is not a port", s)
		}
		grpcPort = p
	}

	raw, explicit := cfg.endpoint, cfg.endpoint != ""
	if !explicit {
		raw = getenv("PHOENIX_COLLECTOR_ENDPOINT")
	}
	if raw == "" {
		raw = DefaultEndpoint
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return exportTarget{}, fmt.Errorf("reading the collector endpoint: %q is not an http:// or https:// URL", raw)
	}

	protocol := cfg.protocol
	if protocol == "" {
		protocol = ProtocolHTTP
		if strings.Trim(u.Path, "/") == "" && u.Port() == strconv.Itoa(grpcPort) {
			protocol = ProtocolGRPC
		}
	}
	switch protocol {
	case ProtocolHTTP:
		if !strings.HasSuffix(u.Path, "/v1/traces") {
			u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
		}
	case ProtocolGRPC:
		u.Path = ""
		// A Phoenix collector endpoint is the HTTP base URL; gRPC listens on
		// its own port of the same host. An endpoint given in code with a
		// port is taken at its word.
		if !explicit || u.Port() == "" {
			u.Host = net.JoinHostPort(u.Hostname(), strconv.Itoa(grpcPort))
		}
	default:
		return exportTarget{}, fmt.Errorf("unknown OTLP protocol %q (want %q or %q)", protocol, ProtocolHTTP, ProtocolGRPC)
	}

	headers := map[string]string{}
	if cfg.headers != nil {
		for k, v := range cfg.headers {
			headers[strings.ToLower(k)] = v
		}
	} else if headers, err = parseHeaders(getenv("PHOENIX_CLIENT_HEADERS")); err != nil {
		return exportTarget{}, fmt.Errorf("reading PHOENIX_CLIENT_HEADERS: %w", err)
	}
	apiKey := cfg.apiKey
	if apiKey == "" {
		apiKey = getenv("PHOENIX_API_KEY")
	}
	if apiKey != "" {
		headers["authorization"] = "Bearer " + apiKey
	}
	return exportTarget{endpoint: u.String(), protocol: protocol, headers: headers}, nil
}

// parseHeaders reads the W3C-baggage-like list of OTEL_EXPORTER_OTLP_HEADERS:
// "k1=v1,k2=v2", with URL-encoded keys and values. Keys are lower-cased.
func parseHeaders(s string) (map[string]string, error) {
	headers := map[string]string{}
	for entry := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(entry) == "" {
			continue
		}
		k, v, ok := strings.Cut(entry, "=")
		if !ok {
			return nil, fmt.Errorf("entry %q is not key=value", entry)
		}
		key, errK := url.PathUnescape(strings.TrimSpace(k))
		value, errV := url.PathUnescape(strings.TrimSpace(v))
		if errK != nil || errV != nil || key == "" {
			return nil, fmt.Errorf("entry %q is not a valid key=value pair", entry)
		}
		headers[strings.ToLower(key)] = value
	}
	return headers, nil
}

func spanLimits(getenv func(string) string) sdktrace.SpanLimits {
	limits := sdktrace.NewSpanLimits()
	if getenv("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT") == "" && getenv("OTEL_ATTRIBUTE_COUNT_LIMIT") == "" {
		limits.AttributeCountLimit = defaultAttributeCountLimit
	}
	return limits
}

func newExporter(ctx context.Context, t exportTarget) (sdktrace.SpanExporter, error) {
	var (
		exp sdktrace.SpanExporter
		err error
	)
	if t.protocol == ProtocolGRPC {
		exp, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpointURL(t.endpoint), otlptracegrpc.WithHeaders(t.headers))
	} else {
		exp, err = otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(t.endpoint), otlptracehttp.WithHeaders(t.headers))
	}
	if err != nil {
		return nil, fmt.Errorf("creating the OTLP %s exporter for %s: %w", t.protocol, t.endpoint, err)
	}
	return exp, nil
}

func printConfig(cfg config, project string, t exportTarget) {
	w := cfg.verbose
	fmt.Fprintln(w, "Loupe tracing")
	fmt.Fprintf(w, "  project:   %s\n", project)
	if cfg.exporter != nil {
		fmt.Fprintf(w, "  exporter:  %T\n", cfg.exporter)
	} else {
		fmt.Fprintf(w, "  endpoint:  %s (OTLP %s)\n", t.endpoint, t.protocol)
		for _, k := range slices.Sorted(maps.Keys(t.headers)) {
			fmt.Fprintf(w, "  header:    %s: ****\n", k)
		}
	}
	processor := "batch"
	if !cfg.batch {
		processor = "simple (synchronous export)"
	}
	fmt.Fprintf(w, "  processor: %s\n", processor)
	fmt.Fprintf(w, "  global:    %t\n", cfg.global)
}
