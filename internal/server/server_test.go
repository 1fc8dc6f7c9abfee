package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// newTestServer starts nothing: it opens a fresh SQLite store and returns
// the server with its handler, for requests made in process.
func newTestServer(t *testing.T, options ...func(*Config)) (*Server, http.Handler) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.HTTPAddr, cfg.GRPCAddr = "127.0.0.1:0", "127.0.0.1:0"
	for _, o := range options {
		o(&cfg)
	}
	s, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.httpLn.Close()
		s.grpcLn.Close()
		s.store.Close()
	})
	return s, s.http.Handler
}

// TestCrossSiteWritesAreRefused sends, to every kind of state-changing
// route of each surface, what a page on another site can make a visitor's
// browser send: all are refused before they change anything, while the
// same requests from a client that is not a browser go through.
func TestCrossSiteWritesAreRefused(t *testing.T) {
	_, h := newTestServer(t)
	writes := []struct{ method, path, ctype, body string }{
		{"POST", "/v1/projects", "text/plain", `{"name":"evil"}`},
		{"POST", "/v1/projects", "application/json", `{"name":"evil"}`},
		{"PUT", "/v1/projects/default", "application/json", `{"description":"evil"}`},
		{"DELETE", "/v1/projects/default", "", ""},
		{"POST", "/v1/span_annotations", "text/plain", `{"data":[]}`},
		{"POST", "/v1/trace_annotations?sync=true", "text/plain", `{"data":[]}`},
		{"POST", "/v1/span_notes", "text/plain", `{"data":[]}`},
		{"POST", "/v1/traces/transfer", "text/plain", `{"trace_ids":[],"project_name":"x"}`},
		{"DELETE", "/v1/traces/5b8efff798038103d269b633813fc60c", "", ""},
		{"DELETE", "/v1/sessions/s1", "", ""},
		{"POST", "/v1/sessions/delete", "text/plain", `{"session_ids":["s1"]}`},
		{"POST", "/v1/model_prices/recompute", "text/plain", ""},
		{"PUT", "/v1/model_prices", "text/plain", `{"prices":[]}`},
		{"POST", "/v1/projects/default/spans", "text/plain", `{"data":[]}`},
		{"POST", "/v1/traces", "application/json", `{}`},
		{"POST", "/prices", "application/x-www-form-urlencoded", "model=x&input=1"},
		{"POST", "/prices/recompute", "application/x-www-form-urlencoded", ""},
		{"POST", "/storage/retention", "application/x-www-form-urlencoded", "max_days=1"},
		{"POST", "/projects/default/spans/eee19b7ec3c1b174/annotations", "application/x-www-form-urlencoded", "name=q&label=x"},
	}
	browsers := []struct {
		name   string
		header []string
	}{
		{"fetch metadata", []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}},
		{"same site, other origin", []string{"Sec-Fetch-Site", "same-site", "Origin", "http://localhost:3000"}},
		{"origin only", []string{"Origin", "https://evil.example"}},
	}
	for _, wr := range writes {
		for _, b := range browsers {
			req := httptest.NewRequest(wr.method, wr.path, strings.NewReader(wr.body))
			if wr.ctype != "" {
				req.Header.Set("Content-Type", wr.ctype)
			}
			for i := 0; i < len(b.header); i += 2 {
				req.Header.Set(b.header[i], b.header[i+1])
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "page on another site") {
				t.Errorf("%s %s from another site (%s) = %d %q, want 403", wr.method, wr.path, b.name, rec.Code, rec.Body)
			}
		}
	}
	// The server's own pages write.
	req := httptest.NewRequest("POST", "/v1/projects", strings.NewReader(`{"name":"mine"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", "http://example.com")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("same-origin POST /v1/projects = %d %q, want 200", rec.Code, rec.Body)
	}
	// So do clients that are not browsers, with JSON sent as JSON.
	for _, tc := range []struct {
		ctype string
		want  int
	}{{"text/plain", http.StatusUnsupportedMediaType}, {"", http.StatusUnsupportedMediaType}, {"application/json; charset=utf-8", http.StatusOK}} {
		req := httptest.NewRequest("POST", "/v1/projects", strings.NewReader(`{"name":"client `+tc.ctype+`"}`))
		if tc.ctype != "" {
			req.Header.Set("Content-Type", tc.ctype)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("POST /v1/projects as %q = %d %q, want %d", tc.ctype, rec.Code, rec.Body, tc.want)
		}
		if tc.want == http.StatusUnsupportedMediaType && !strings.Contains(rec.Body.String(), "Content-Type: application/json") {
			t.Errorf("415 body %q does not say what to send", rec.Body)
		}
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/projects", nil))
	if strings.Contains(rec.Body.String(), "evil") {
		t.Errorf("a refused request changed the projects: %s", rec.Body)
	}
}

// TestBodyDeadline checks that a body trickled in is cut off at its
// deadline, and that the deadline does not end an answer that takes
// longer once the body is in.
func TestBodyDeadline(t *testing.T) {
	const deadline = 200 * time.Millisecond
	srv := httptest.NewServer(withBodyDeadline(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, "read: "+err.Error(), http.StatusRequestTimeout)
			return
		}
		// An answer that outlasts the body's deadline, as an export does.
		select {
		case <-time.After(3 * deadline):
			fmt.Fprint(w, "done")
		case <-r.Context().Done():
		}
	}), deadline))
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nx")
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a trickled body: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(body), "timeout") {
		t.Errorf("trickled body = %d %q, want 408 after the deadline", resp.StatusCode, body)
	}

	resp, err = http.Post(srv.URL, "text/plain", strings.NewReader("whole"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "done" {
		t.Errorf("long answer after the body = %d %q, want 200 done", resp.StatusCode, body)
	}
}
