package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// watchedStore notes whether each read the API makes has a deadline.
type watchedStore struct {
	store.Store
	mu         sync.Mutex
	reads      int
	noDeadline []string
}

func (w *watchedStore) saw(ctx context.Context, what string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.reads++
	if _, ok := ctx.Deadline(); !ok {
		w.noDeadline = append(w.noDeadline, what)
	}
}

func (w *watchedStore) ProjectByName(ctx context.Context, name string) (store.Project, error) {
	w.saw(ctx, "ProjectByName")
	return w.Store.ProjectByName(ctx, name)
}

func (w *watchedStore) Spans(ctx context.Context, q store.SpanQuery) ([]store.SpanRecord, error) {
	w.saw(ctx, "Spans")
	return w.Store.Spans(ctx, q)
}

func (w *watchedStore) Traces(ctx context.Context, q store.TraceQuery) ([]store.Trace, error) {
	w.saw(ctx, "Traces")
	return w.Store.Traces(ctx, q)
}

func (w *watchedStore) EachTreeSpan(ctx context.Context, traceRowID int64, fn func(*store.TreeSpan) error) error {
	w.saw(ctx, "EachTreeSpan")
	return w.Store.EachTreeSpan(ctx, traceRowID, fn)
}

func (w *watchedStore) SpanKeys(ctx context.Context, q store.SpanQuery) ([]store.SpanKey, error) {
	w.saw(ctx, "SpanKeys")
	return w.Store.SpanKeys(ctx, q)
}

func (w *watchedStore) SpansByRowID(ctx context.Context, ids []int64, light bool) ([]store.SpanRecord, error) {
	w.saw(ctx, "SpansByRowID")
	return w.Store.SpansByRowID(ctx, ids, light)
}

func (w *watchedStore) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.reads, w.noDeadline = 0, nil
}

// newWatchedAPI is an API over a watched SQLite store holding spans.
func newWatchedAPI(t *testing.T, configure func(*API), spans ...span.Span) (http.Handler, *watchedStore) {
	t.Helper()
	st := newTestStore(t)
	if len(spans) > 0 {
		if _, err := st.WriteSpans(context.Background(), spans); err != nil {
			t.Fatal(err)
		}
	}
	ws := &watchedStore{Store: st}
	a := &API{Store: ws, Ingest: directSubmitter{st}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if configure != nil {
		configure(a)
	}
	return a.Handler(), ws
}

// TestReadDeadlines checks that every store query of the REST reads gets
// the API's deadline, and that one that runs out of it is answered 503,
// saying so, before any of the answer is written.
func TestReadDeadlines(t *testing.T) {
	spans := spanQuerySpans()
	h, ws := newWatchedAPI(t, func(a *API) { a.QueryTimeout = time.Hour }, spans...)
	for _, req := range []struct{ method, path, body string }{
		{"GET", "/v1/projects/agent/spans?filter=span_kind%20%3D%3D%20%27LLM%27", ""},
		{"GET", "/v1/projects/agent/traces?include_spans=true", ""},
		{"POST", "/v1/spans?project_name=agent", `{"queries":[{},{"explode":{"key":"retrieval.documents"}}],"limit":100000000}`},
	} {
		ws.reset()
		w := postSpanQuery(t, h, req.method, req.path, req.body, nil)
		if w.Code != 200 {
			t.Fatalf("%s %s: status %d: %s", req.method, req.path, w.Code, w.Body)
		}
		if ws.reads == 0 || len(ws.noDeadline) > 0 {
			t.Errorf("%s %s: %d store reads, these without a deadline: %v", req.method, req.path, ws.reads, ws.noDeadline)
		}
	}

	expired, _ := newWatchedAPI(t, func(a *API) { a.QueryTimeout = time.Nanosecond }, spans...)
	const msg = "the query took longer than 1ns; narrow the time range or the filter"
	for _, req := range []struct{ method, path, body string }{
		{"GET", "/v1/projects/agent/spans?filter=cumulative_llm_token_count_total%20%3E%200", ""},
		{"GET", "/v1/projects/agent/traces?include_spans=true", ""},
		{"POST", "/v1/spans?project_name=agent", `{"queries":[{"filter":{"condition":"cumulative_llm_token_count_total > 0"}}],"limit":100000000}`},
	} {
		w := postSpanQuery(t, expired, req.method, req.path, req.body, nil)
		if w.Code != http.StatusServiceUnavailable || strings.TrimSpace(w.Body.String()) != msg {
			t.Errorf("%s %s past its deadline = %d %q, want 503 %q", req.method, req.path, w.Code, w.Body, msg)
		}
	}
}

// TestFilterTooComplex sends filters over the size limits: each is a 422
// saying which limit, before anything is read.
func TestFilterTooComplex(t *testing.T) {
	h, ws := newWatchedAPI(t, nil, spanQuerySpans()...)
	chain := "metadata" + strings.Repeat("['k']", 100_000) + " == 'x'"
	long := "'" + strings.Repeat("refund ", 500_000/7) + "' in input.value"
	terms := "metadata" + strings.Repeat("['k']", 2_500) + " == 'x'"
	for _, tc := range []struct {
		filter, want string
	}{
		{chain, "the filter is too long: 500015 bytes, at most 131072"},
		{long, "the filter is too long: 500013 bytes, at most 131072"},
		{terms, "the filter is too complex: more than 5000 terms (names, values, operators and subscripts)"},
	} {
		ws.reset()
		cond, _ := json.Marshal(tc.filter)
		w := postSpanQuery(t, h, "POST", "/v1/spans?project_name=agent", `{"queries":[{"filter":{"condition":`+string(cond)+`}}]}`, nil)
		if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("span query with a %d-byte filter = %d %.200s, want 422 with %q", len(tc.filter), w.Code, w.Body, tc.want)
		}
		if ws.reads != 0 {
			t.Errorf("a span query with a filter over the limits made %d store reads", ws.reads)
		}
		req := httptest.NewRequest("GET", "/v1/projects/agent/spans", nil)
		req.URL.RawQuery = "filter=" + strings.ReplaceAll(strings.ReplaceAll(tc.filter, "'", "%27"), " ", "%20")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("span list with a %d-byte filter = %d %.200s, want 422 with %q", len(tc.filter), rec.Code, rec.Body, tc.want)
		}
	}
}
