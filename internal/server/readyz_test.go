package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/loupe-dev/loupe/internal/ingest"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// pingStore is a store whose Ping answers ping; nothing else is called.
type pingStore struct {
	store.Store
	ping error
}

func (s pingStore) Ping(context.Context) error { return s.ping }

// checkWriter is a store whose writes and checks fail with err.
type checkWriter struct{ err error }

func (w *checkWriter) WriteSpans(context.Context, []span.Span) (store.WriteResult, error) {
	return store.WriteResult{}, w.err
}

func (w *checkWriter) CheckWritable(context.Context) error { return w.err }

// TestReadyz checks what /readyz answers in each state: the reason, and
// none of the failure's detail.
func TestReadyz(t *testing.T) {
	detail := "dial tcp 10.1.2.3:5432: connect: connection refused (user=loupe database=prod)"
	tests := []struct {
		name   string
		ping   error
		write  error
		status int
		body   string
	}{
		{"ready", nil, nil, 200, `{"status":"ready"}`},
		{"database unreachable", store.Unavailable(errors.New(detail)), nil, 503,
			`{"status":"not ready","reason":"database unavailable"}`},
		{"disk full", nil, store.Unavailable(errors.New("database or disk is full (13) " + detail)), 503,
			`{"status":"not ready","reason":"writes are failing: storage unavailable","since":"`},
		{"writes failing otherwise", nil, errors.New("constraint failed " + detail), 503,
			`{"status":"not ready","reason":"writes are failing","since":"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := &checkWriter{err: tc.write}
			s := &Server{store: pingStore{ping: tc.ping}, pipeline: ingest.New(ingest.Config{}, w, slog.New(slog.DiscardHandler), ingest.Hooks{}, nil)}
			s.pipeline.CheckWritable(context.Background())
			rec := httptest.NewRecorder()
			s.readyz(rec, httptest.NewRequest("GET", "/readyz", nil))
			body := strings.TrimSpace(rec.Body.String())
			if rec.Code != tc.status || !strings.HasPrefix(body, tc.body) {
				t.Errorf("GET /readyz = %d %s, want %d %s…", rec.Code, body, tc.status, tc.body)
			}
			if strings.Contains(body, "10.1.2.3") || strings.Contains(body, "prod") || strings.Contains(body, "full") {
				t.Errorf("GET /readyz tells the failure's detail: %s", body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}

			// Writes working again make it ready.
			w.err = nil
			s.pipeline.CheckWritable(context.Background())
			s.store = pingStore{}
			rec = httptest.NewRecorder()
			s.readyz(rec, httptest.NewRequest("GET", "/readyz", nil))
			if rec.Code != http.StatusOK {
				t.Errorf("GET /readyz once writes work = %d %s", rec.Code, rec.Body)
			}
		})
	}
}
