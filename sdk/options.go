package loupe

import (
	"io"

	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Protocol is the OTLP transport Register exports with.
type Protocol string

const (
	// ProtocolHTTP is OTLP/HTTP with protobuf bodies, to {endpoint}/v1/traces.
	ProtocolHTTP Protocol = "http/protobuf"
	// ProtocolGRPC is OTLP/gRPC, on port 4317 (PHOENIX_GRPC_PORT) of the
	// collector host unless the endpoint option names a port.
	ProtocolGRPC Protocol = "grpc"
)

// Option configures Register. Options override the environment.
type Option func(*config)

type config struct {
	endpoint   string
	protocol   Protocol
	project    string
	apiKey     string
	headers    map[string]string
	batch      bool
	global     bool
	sampler    sdktrace.Sampler
	resource   *resource.Resource
	exporter   sdktrace.SpanExporter
	processors []sdktrace.SpanProcessor
	verbose    io.Writer
}

// WithEndpoint sets the collector URL, overriding PHOENIX_COLLECTOR_ENDPOINT.
// A base URL such as http://localhost:6006 gets /v1/traces appended for
// OTLP/HTTP. Without WithProtocol, a URL with no path on port 4317 selects
// gRPC.
func WithEndpoint(url string) Option {
	return func(c *config) { c.endpoint = url }
}

// WithProtocol chooses the transport instead of inferring it from the
// endpoint.
func WithProtocol(p Protocol) Option {
	return func(c *config) { c.protocol = p }
}

// WithProjectName sets the project the spans go to, overriding
// PHOENIX_PROJECT and PHOENIX_PROJECT_NAME.
func WithProjectName(name string) Option {
	return func(c *config) { c.project = name }
}

// WithAPIKey sets the key sent as "Authorization: Bearer <key>", overriding
// PHOENIX_API_KEY.
func WithAPIKey(key string) Option {
	return func(c *config) { c.apiKey = key }
}

// WithHeaders sets the headers sent with every export, replacing
// PHOENIX_CLIENT_HEADERS. Keys are lower-cased.
func WithHeaders(headers map[string]string) Option {
	return func(c *config) { c.headers = headers }
}

// WithBatch chooses between the batch span processor (true, the default),
// which exports in the background, and the simple one (false), which exports
// each span synchronously when it ends: slower, but nothing is left queued,
// which suits scripts and tests.
func WithBatch(batch bool) Option {
	return func(c *config) { c.batch = batch }
}

// WithGlobal chooses whether Register installs the tracer provider and the
// W3C trace-context and baggage propagators as the OpenTelemetry globals
// (true, the default, as Phoenix's helpers do).
func WithGlobal(global bool) Option {
	return func(c *config) { c.global = global }
}

// WithSampler sets the sampler. Without it the OpenTelemetry defaults apply,
// including OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG.
func WithSampler(s sdktrace.Sampler) Option {
	return func(c *config) { c.sampler = s }
}

// WithResource adds resource attributes (service.name, …) to the defaults;
// the project name is added on top.
func WithResource(r *resource.Resource) Option {
	return func(c *config) { c.resource = r }
}

// WithExporter replaces the OTLP exporter, for example with a stdout or
// in-memory exporter; the endpoint options and variables are then unused.
func WithExporter(e sdktrace.SpanExporter) Option {
	return func(c *config) { c.exporter = e }
}

// WithSpanProcessor adds a span processor after the exporting one.
func WithSpanProcessor(p sdktrace.SpanProcessor) Option {
	return func(c *config) { c.processors = append(c.processors, p) }
}

// WithVerbose prints the resolved configuration (header values masked) to w.
// Register prints nothing without it.
func WithVerbose(w io.Writer) Option {
	return func(c *config) { c.verbose = w }
}
