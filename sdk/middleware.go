package loupe

import (
	"fmt"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// TraceIDHeader is the response header in which Middleware returns the trace
// ID, so that a bug report can quote it and Loupe can open the trace.
const TraceIDHeader = "X-Trace-Id"

// Middleware wraps next so that every request runs in a server span and the
// response carries the trace ID in the X-Trace-Id header.
//
// The span is an OpenInference CHAIN, so that the request is the root of its
// trace in Loupe's trace list; handlers set its input and output with
// t.SpanFromContext(r.Context()).SetInput/SetOutput. It is named
// "METHOD /route" once a http.ServeMux inside next has matched a pattern,
// and "METHOD" otherwise. An incoming traceparent header (through the global
// propagator) makes the span a child of the caller's. Responses with a 5xx
// status mark the span as failed.
//
// The header is set even when the sampler drops the trace: the ID still
// correlates logs, but the trace will not be found in Loupe.
func (t *Tracer) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := otel.GetTextMapPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		attrs := []attribute.KeyValue{semconv.HTTPRequestMethodKey.String(r.Method), semconv.URLPath(r.URL.Path)}
		if ua := r.UserAgent(); ua != "" {
			attrs = append(attrs, semconv.UserAgentOriginal(ua))
		}
		ctx, span := t.StartChain(ctx, r.Method, nil, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
		defer span.End()
		if sc := span.SpanContext(); sc.HasTraceID() {
			w.Header().Set(TraceIDHeader, sc.TraceID().String())
		}
		defer func() {
			if p := recover(); p != nil {
				span.RecordError(fmt.Errorf("panic serving %s %s: %v", r.Method, r.URL.Path, p))
				panic(p)
			}
		}()

		rec := &statusRecorder{ResponseWriter: w}
		r = r.WithContext(ctx)
		next.ServeHTTP(rec, r)

		// ServeMux records the matched pattern on the request it was given.
		if route := routeOf(r.Pattern); route != "" {
			span.SetName(r.Method + " " + route)
			span.SetAttributes(semconv.HTTPRoute(route))
		}
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		span.SetAttributes(semconv.HTTPResponseStatusCode(status))
		if status >= 500 {
			span.Span.SetStatus(codes.Error, http.StatusText(status))
		}
	})
}

// routeOf strips the method from a ServeMux pattern such as "GET /items/{id}".
func routeOf(pattern string) string {
	if i := strings.IndexByte(pattern, ' '); i >= 0 {
		return strings.TrimSpace(pattern[i+1:])
	}
	return pattern
}

// statusRecorder remembers the status code. Unwrap lets
// http.ResponseController reach the underlying writer's optional interfaces.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	// 1xx responses (103 Early Hints) come before the real status.
	if r.status == 0 && code >= 200 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Flush keeps streaming handlers (server-sent events) working when they
// assert http.Flusher directly.
func (r *statusRecorder) Flush() {
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
