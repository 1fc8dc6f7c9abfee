package api

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/loupe-dev/loupe/internal/ingest"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// outage is what PostgreSQL's driver says when the server is down: the
// user, database, host and port, which no client may see.
var outage = store.Unavailable(errors.New("failed to connect to `user=loupe database=prod`: 10.1.2.3:5432 (db.internal): dial error: dial tcp 10.1.2.3:5432: connect: connection refused"))

// downStore is a store whose database is unreachable.
type downStore struct{ store.Store }

func (downStore) Projects(context.Context, store.ProjectQuery) ([]store.Project, error) {
	return nil, outage
}
func (downStore) ProjectByName(context.Context, string) (store.Project, error) {
	return store.Project{}, outage
}
func (downStore) ProjectByID(context.Context, int64) (store.Project, error) {
	return store.Project{}, outage
}
func (downStore) CreateProject(context.Context, string, string) (store.Project, error) {
	return store.Project{}, outage
}
func (downStore) Trace(context.Context, string) (store.Trace, error) { return store.Trace{}, outage }
func (downStore) TraceByRowID(context.Context, int64) (store.Trace, error) {
	return store.Trace{}, outage
}
func (downStore) DeleteTrace(context.Context, string) error { return outage }

type downSubmitter struct{}

func (downSubmitter) Submit(context.Context, []span.Span) error { return outage }

// TestStorageUnavailable sends requests while the database is down: each
// is answered 503 with Retry-After and a message that says nothing of the
// database, and the log gets the detail once, not once per request.
func TestStorageUnavailable(t *testing.T) {
	var buf syncBuffer
	a := &API{Store: downStore{}, Ingest: downSubmitter{}, Log: slog.New(slog.NewTextHandler(&buf, nil))}
	mux := a.Handler()
	requests := []struct{ method, path, body string }{
		{"GET", "/v1/projects", ""},
		{"GET", "/v1/projects/default", ""},
		{"GET", "/v1/projects/default/spans", ""},
		{"GET", "/v1/projects/default/traces", ""},
		{"POST", "/v1/projects", `{"name":"new"}`},
		{"DELETE", "/v1/traces/" + strings.Repeat("ab", 16), ""},
	}
	for range 3 {
		for _, req := range requests {
			w := httptest.NewRecorder()
			hr := httptest.NewRequest(req.method, req.path, strings.NewReader(req.body))
			hr.Header.Set("Content-Type", "application/json")
			mux.ServeHTTP(w, hr)
			body := w.Body.String()
			if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "5" {
				t.Errorf("%s %s = %d, Retry-After %q; want 503, 5", req.method, req.path, w.Code, w.Header().Get("Retry-After"))
			}
			for _, secret := range []string{"10.1.2.3", "5432", "prod", "loupe", "db.internal", "connect"} {
				if strings.Contains(body, secret) {
					t.Errorf("%s %s answered %q, which tells %q", req.method, req.path, body, secret)
				}
			}
		}
	}
	logged := strings.Count(buf.String(), "\n")
	if logged != 1 || !strings.Contains(buf.String(), "10.1.2.3:5432") {
		t.Errorf("%d requests logged %d lines, want 1 with the detail:\n%s", 3*len(requests), logged, buf.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

type fullSubmitter struct{ err error }

func (f fullSubmitter) Submit(context.Context, []span.Span) error { return f.err }

// TestUploadRefusedAsRetryable checks that spans uploaded while the queue
// is full, the server stops, or the write fails are answered 503 with
// Retry-After, so that clients send them again.
func TestUploadRefusedAsRetryable(t *testing.T) {
	const upload = `{"data":[{"name":"s","context":{"trace_id":"5b8efff798038103d269b633813fc60c","span_id":"eee19b7ec3c1b174"},` +
		`"span_kind":"LLM","start_time":"2026-12-01T00:00:00+00:00","end_time":"2026-12-01T00:00:01+00:00","status_code":"OK"}]}`
	for _, tc := range []struct {
		err  error
		says string
	}{
		{ingest.ErrOverloaded, "Server is at capacity"},
		{ingest.ErrStopped, "Server is at capacity"},
		{errors.New("disk I/O error at /var/lib/loupe"), "storage is unavailable"},
	} {
		mux := (&API{Store: newTestStore(t), Ingest: fullSubmitter{tc.err}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler()
		req := httptest.NewRequest("POST", "/v1/projects/default/spans", strings.NewReader(upload))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), tc.says) {
			t.Errorf("upload failing with %v = %d %q (Retry-After %q), want 503 saying %q", tc.err, w.Code, w.Body, w.Header().Get("Retry-After"), tc.says)
		}
	}
}
