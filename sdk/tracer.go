package loupe

import (
	"context"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	oi "github.com/loupe-dev/loupe/sdk/openinference"
)

// Version is the version of this SDK, recorded as the instrumentation scope
// version of the spans it starts.
const Version = "0.1.0"

// ScopeName is the instrumentation scope name of the spans a Tracer starts.
const ScopeName = "github.com/loupe-dev/loupe/sdk"

// Tracer starts OpenInference spans. It wraps an OpenTelemetry tracer and
// masks what it writes according to its TraceConfig. It is safe for
// concurrent use.
type Tracer struct {
	tracer trace.Tracer
	config TraceConfig
}

// TracerOption configures a Tracer.
type TracerOption func(*Tracer)

// WithTraceConfig sets the masking configuration. Without it the Tracer reads
// TraceConfigFromEnv once, when it is built.
func WithTraceConfig(cfg TraceConfig) TracerOption {
	return func(t *Tracer) { t.config = cfg }
}

// NewTracer returns a Tracer whose spans come from tp.
func NewTracer(tp trace.TracerProvider, opts ...TracerOption) *Tracer {
	t := &Tracer{
		tracer: tp.Tracer(ScopeName, trace.WithInstrumentationVersion(Version)),
		config: TraceConfigFromEnv(),
	}
	for _, opt := range opts {
		opt(t)
	}
	return t
}

// The global provider delegates to whatever is registered later, so the
// default tracer can be built before Register runs.
var defaultTracer = sync.OnceValue(func() *Tracer { return NewTracer(otel.GetTracerProvider()) })

// Default returns a Tracer on the global tracer provider (otel.GetTracerProvider),
// which Register sets unless told not to.
func Default() *Tracer { return defaultTracer() }

// SpanFromContext returns the current span of ctx, for example the server
// span of the HTTP middleware, so that a handler can set its input and
// output. Without a span in ctx it returns a span that records nothing.
func (t *Tracer) SpanFromContext(ctx context.Context) *Span {
	return &Span{Span: trace.SpanFromContext(ctx), config: &t.config}
}

// start begins a span of the given OpenInference kind. The attributes are
// masked and passed at start so that samplers see what the exporter will.
func (t *Tracer) start(ctx context.Context, name, kind string, attrs []attribute.KeyValue, opts []trace.SpanStartOption) (context.Context, *Span) {
	kvs := make([]attribute.KeyValue, 0, len(attrs)+1)
	kvs = append(kvs, attribute.String(oi.SpanKind, kind))
	kvs = append(kvs, attrs...)
	// Full slice expression: appending must not write into the caller's array.
	opts = append(opts[:len(opts):len(opts)], trace.WithAttributes(t.config.maskAll(kvs)...))
	ctx, span := t.tracer.Start(ctx, name, opts...)
	return ctx, &Span{Span: span, config: &t.config}
}
