package web

import (
	"context"
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

// deadlineReader notes the store reads a page makes without a deadline.
type deadlineReader struct {
	Store
	mu         sync.Mutex
	reads      int
	noDeadline int
}

func (d *deadlineReader) note(ctx context.Context) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.reads++
	if _, ok := ctx.Deadline(); !ok {
		d.noDeadline++
	}
}

func (d *deadlineReader) ProjectByName(ctx context.Context, name string) (store.Project, error) {
	d.note(ctx)
	return d.Store.ProjectByName(ctx, name)
}

func (d *deadlineReader) SpanList(ctx context.Context, q store.SpanListQuery) ([]store.SpanRow, error) {
	d.note(ctx)
	return d.Store.SpanList(ctx, q)
}

func (d *deadlineReader) Spans(ctx context.Context, q store.SpanQuery) ([]store.SpanRecord, error) {
	d.note(ctx)
	return d.Store.Spans(ctx, q)
}

// TestQueryTimeout opens UI pages under a query timeout: their store reads
// carry it, and a page whose reads run out of it is a 503 saying so.
func TestQueryTimeout(t *testing.T) {
	e := newEnv(t)
	now := time.Now()
	e.write(span.Span{Project: "p", TraceID: traceIDn(1), SpanID: traceIDn(1)[16:], Name: "req",
		StartTime: now.Add(-time.Minute).UnixNano(), EndTime: now.Add(-time.Minute).UnixNano() + 1e6})
	open := func(timeout time.Duration, path string) (*httptest.ResponseRecorder, *deadlineReader) {
		dr := &deadlineReader{Store: e.store}
		h := New(Config{Store: dr, Log: slog.New(slog.NewTextHandler(testWriter{t}, nil)), QueryTimeout: timeout})
		mux := h.Handler()
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec, dr
	}
	const filtered = "/projects/p/spans?filter=cumulative_llm_token_count_total+%3E+0"
	rec, dr := open(time.Hour, filtered)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s = %d", filtered, rec.Code)
	}
	if dr.reads == 0 || dr.noDeadline > 0 {
		t.Errorf("%d store reads, %d of them without a deadline", dr.reads, dr.noDeadline)
	}
	rec, _ = open(time.Nanosecond, filtered)
	const msg = "The query took longer than 1ns; narrow the time range or the filter."
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), msg) {
		t.Errorf("GET %s past its deadline = %d, want 503 saying %q\n%.2000s", filtered, rec.Code, msg, rec.Body)
	}
}
