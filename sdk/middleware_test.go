package loupe

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

func TestMiddleware(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		wantName   string
		wantStatus codes.Code
		wantAttrs  map[string]any
	}{
		{
			name:       "matched route",
			path:       "/items/42",
			wantName:   "GET /items/{id}",
			wantStatus: codes.Unset,
			wantAttrs: map[string]any{
				"openinference.span.kind":   "CHAIN",
				"http.request.method":       "GET",
				"url.path":                  "/items/42",
				"http.route":                "/items/{id}",
				"http.response.status_code": int64(200),
				"user_agent.original":       "test-agent",
				"input.value":               "item 42",
				"input.mime_type":           "text/plain",
				"output.value":              `{"id":"42"}`,
				"output.mime_type":          "application/json",
			},
		},
		{
			name:       "server error",
			path:       "/fail",
			wantName:   "GET /fail",
			wantStatus: codes.Error,
			wantAttrs: map[string]any{
				"openinference.span.kind":   "CHAIN",
				"http.request.method":       "GET",
				"url.path":                  "/fail",
				"http.route":                "/fail",
				"http.response.status_code": int64(503),
				"user_agent.original":       "test-agent",
			},
		},
		{
			name:       "no route",
			path:       "/nowhere",
			wantName:   "GET",
			wantStatus: codes.Unset,
			wantAttrs: map[string]any{
				"openinference.span.kind":   "CHAIN",
				"http.request.method":       "GET",
				"url.path":                  "/nowhere",
				"http.response.status_code": int64(404),
				"user_agent.original":       "test-agent",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, _, rec := newTestTracer(t, TraceConfig{})
			mux := http.NewServeMux()
			mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
				span := tr.SpanFromContext(r.Context())
				span.SetInput("item " + r.PathValue("id"))
				span.SetOutput(map[string]string{"id": r.PathValue("id")})
				w.Write([]byte("ok"))
			})
			mux.HandleFunc("GET /fail", func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "down", http.StatusServiceUnavailable)
			})
			srv := httptest.NewServer(tr.Middleware(mux))
			defer srv.Close()

			req, _ := http.NewRequest(http.MethodGet, srv.URL+tt.path, nil)
			req.Header.Set("User-Agent", "test-agent")
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()

			span := onlySpan(t, rec)
			if got := resp.Header.Get("X-Trace-Id"); got != span.SpanContext().TraceID().String() {
				t.Errorf("X-Trace-Id = %q, want the span's trace ID %s", got, span.SpanContext().TraceID())
			}
			if span.Name() != tt.wantName {
				t.Errorf("span name = %q, want %q", span.Name(), tt.wantName)
			}
			if span.SpanKind() != trace.SpanKindServer {
				t.Errorf("span kind = %v, want server", span.SpanKind())
			}
			if span.Status().Code != tt.wantStatus {
				t.Errorf("status = %v, want %v", span.Status(), tt.wantStatus)
			}
			if diff := cmp.Diff(tt.wantAttrs, attrs(span.Attributes())); diff != "" {
				t.Errorf("attributes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMiddlewareJoinsIncomingTrace(t *testing.T) {
	tr, tp, rec := newTestTracer(t, TraceConfig{})
	// The propagator comes from the globals; Register installs this one.
	prop := propagation.TraceContext{}
	restore := setPropagator(prop)
	defer restore()

	handler := tr.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	ctx, parent := tp.Tracer("client").Start(context.Background(), "client call")
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	prop.Inject(ctx, propagation.HeaderCarrier(req.Header))
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, req)
	parent.End()

	server := rec.Ended()[0]
	if server.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Errorf("server span parent = %s, want %s", server.Parent().SpanID(), parent.SpanContext().SpanID())
	}
	if got, want := w.Header().Get(TraceIDHeader), parent.SpanContext().TraceID().String(); got != want {
		t.Errorf("X-Trace-Id = %q, want the caller's trace %s", got, want)
	}
}

func TestMiddlewareKeepsFlusher(t *testing.T) {
	tr, _, _ := newTestTracer(t, TraceConfig{})
	handler := tr.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := w.(http.Flusher)
		if !ok {
			t.Error("the wrapped writer is not an http.Flusher")
			return
		}
		w.Write([]byte("data: 1\n\n"))
		f.Flush()
	}))
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/events", nil))
	if !w.Flushed {
		t.Error("Flush did not reach the underlying writer")
	}
}

func TestMiddlewareRecordsPanics(t *testing.T) {
	tr, _, rec := newTestTracer(t, TraceConfig{})
	handler := tr.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("boom") }))
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("recovered %v, want the handler's panic", p)
			}
		}()
		handler.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/p", nil))
	}()
	span := onlySpan(t, rec)
	if span.Status().Code != codes.Error || span.Status().Description != "panic serving GET /p: boom" {
		t.Errorf("status = %+v", span.Status())
	}
}

func setPropagator(p propagation.TextMapPropagator) (restore func()) {
	prev := otel.GetTextMapPropagator()
	otel.SetTextMapPropagator(p)
	return func() { otel.SetTextMapPropagator(prev) }
}
