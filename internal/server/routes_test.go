package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRoutesListed checks that Routes lists the routes of every surface,
// each once, and that a request for each reaches that route and no other
// through the listener's mux.
func TestRoutesListed(t *testing.T) {
	s, _ := newTestServer(t)
	mux := s.routes()
	listed := map[string]bool{}
	for _, rt := range s.Routes() {
		if listed[rt.Pattern()] {
			t.Errorf("%s is listed twice", rt.Pattern())
		}
		listed[rt.Pattern()] = true
		req := httptest.NewRequest(rt.Method, rt.SamplePath(), nil)
		if _, pattern := mux.Handler(req); pattern != rt.Pattern() {
			t.Errorf("%s %s reaches %q, want %q", rt.Method, rt.SamplePath(), pattern, rt.Pattern())
		}
	}
	// One route of each surface.
	for _, p := range []string{"POST /v1/traces", "GET /v1/projects", "GET /projects/{name}", "GET /readyz"} {
		if !listed[p] {
			t.Errorf("%s is not listed", p)
		}
	}
}

// TestEveryWriteRefusesOtherSites sends to every route that takes writes
// what a page on another site can make a browser send: all are refused.
func TestEveryWriteRefusesOtherSites(t *testing.T) {
	s, h := newTestServer(t)
	writes := 0
	for _, rt := range s.Routes() {
		switch rt.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			continue
		}
		writes++
		req := httptest.NewRequest(rt.Method, rt.SamplePath(), strings.NewReader("{}"))
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.Header.Set("Origin", "https://evil.example")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "page on another site") {
			t.Errorf("%s from another site = %d %q, want 403", rt.Pattern(), rec.Code, rec.Body)
		}
	}
	if writes == 0 {
		t.Error("no route takes writes")
	}
}
