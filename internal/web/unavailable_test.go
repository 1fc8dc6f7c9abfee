package web

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/loupe-dev/loupe/internal/store"
)

// outage is what PostgreSQL's driver says when the server is down: the
// user, database, host and port, which no page may show.
var outage = store.Unavailable(errors.New("failed to connect to `user=loupe database=prod`: 10.1.2.3:5432 (db.internal): dial error: dial tcp 10.1.2.3:5432: connect: connection refused"))

// downStore is a store whose database is unreachable.
type downStore struct{ Store }

func (downStore) Projects(context.Context, store.ProjectQuery) ([]store.Project, error) {
	return nil, outage
}
func (downStore) ProjectByName(context.Context, string) (store.Project, error) {
	return store.Project{}, outage
}
func (downStore) TraceInfo(context.Context, string) (store.Trace, error) {
	return store.Trace{}, outage
}
func (downStore) SpanByID(context.Context, string) (store.SpanRecord, error) {
	return store.SpanRecord{}, outage
}

// TestStorageUnavailablePage opens pages while the database is down: each
// is a 503 page with Retry-After that says the storage is unavailable and
// nothing of the database, and the log gets the detail once.
func TestStorageUnavailablePage(t *testing.T) {
	var mu sync.Mutex
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logged}, nil))
	h := New(Config{Store: downStore{}, Log: log})
	mux := h.Handler()
	for range 3 {
		for _, path := range []string{"/", "/projects/default", "/projects/default/spans", "/traces/" + strings.Repeat("ab", 16)} {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			body := rec.Body.String()
			if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "5" {
				t.Errorf("GET %s = %d, Retry-After %q; want 503, 5", path, rec.Code, rec.Header().Get("Retry-After"))
			}
			if !strings.Contains(body, "Storage unavailable") {
				t.Errorf("GET %s does not say the storage is unavailable:\n%s", path, body)
			}
			for _, secret := range []string{"10.1.2.3", ":5432", "database=prod", "db.internal", "refused"} {
				if strings.Contains(body, secret) {
					t.Errorf("GET %s shows %q", path, secret)
				}
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if n := strings.Count(logged.String(), "ui request: storage unavailable"); n != 1 {
		t.Errorf("12 failed pages logged %d lines about it, want 1:\n%s", n, logged.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
