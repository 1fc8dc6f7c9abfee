package route

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// named answers with its name and the path value "id", if any.
func named(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(name + r.PathValue("id")))
	})
}

// TestMountedTables mounts two tables on one mux: each request reaches the
// most specific route of either, through that table's middleware only,
// and the mux answers what no route takes.
func TestMountedTables(t *testing.T) {
	tagged := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("[" + r.Pattern + "]"))
			next.ServeHTTP(w, r)
		})
	}
	a := NewTable([]Route{
		Handle("GET /items/{id}", named("a")),
		Handle("POST /items", named("a-add")),
	}, tagged)
	b := NewTable([]Route{
		Handle("GET /items/new", named("b")),
		HandleFunc("DELETE /items/{id}", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("b-del")) }),
	})
	mux := http.NewServeMux()
	a.Mount(mux)
	b.Mount(mux)
	for _, tc := range []struct {
		method, path string
		code         int
		body         string
	}{
		{"GET", "/items/7", 200, "[GET /items/{id}]a7"},
		{"HEAD", "/items/7", 200, "[GET /items/{id}]a7"},
		{"GET", "/items/new", 200, "b"},
		{"DELETE", "/items/7", 200, "b-del"},
		{"POST", "/items", 200, "[POST /items]a-add"},
		{"PUT", "/items/7", 405, "Method Not Allowed\n"},
		{"GET", "/other", 404, "404 page not found\n"},
	} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.code || rec.Body.String() != tc.body {
			t.Errorf("%s %s = %d %q, want %d %q", tc.method, tc.path, rec.Code, rec.Body, tc.code, tc.body)
		}
	}
}

// TestRoutesListed checks that a table lists its routes, in order, and
// serves each at its own pattern.
func TestRoutesListed(t *testing.T) {
	routes := []Route{Handle("GET /{$}", named("home")), Handle("POST /items", named("add")), Handle("GET /items/", named("rest"))}
	tab := NewTable(routes)
	got := tab.Routes()
	if len(got) != len(routes) {
		t.Fatalf("Routes() lists %d routes, want %d", len(got), len(routes))
	}
	mux := http.NewServeMux()
	tab.Mount(mux)
	for i, rt := range got {
		if rt.Pattern() != routes[i].Pattern() {
			t.Errorf("route %d is %q, want %q", i, rt.Pattern(), routes[i].Pattern())
		}
		req := httptest.NewRequest(rt.Method, rt.SamplePath(), nil)
		if _, pattern := mux.Handler(req); pattern != rt.Pattern() {
			t.Errorf("%s %s is served by %q, want %q", rt.Method, rt.Path, pattern, rt.Pattern())
		}
	}
}

func TestSamplePath(t *testing.T) {
	for pattern, want := range map[string]string{
		"GET /{$}":                        "/",
		"GET /items/":                     "/items/",
		"GET /static/{version}/{file}":    "/static/version/file",
		"DELETE /v1/items/{id}/notes":     "/v1/items/id/notes",
		"GET /files/{path...}":            "/files/path",
		"GET /projects/{name}/traces/{$}": "/projects/name/traces/",
	} {
		if got := Handle(pattern, nil).SamplePath(); got != want {
			t.Errorf("SamplePath of %q = %q, want %q", pattern, got, want)
		}
	}
}

func TestHandleWantsAMethod(t *testing.T) {
	for _, p := range []string{"/items", "GET items", " /items"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Handle(%q) took a pattern without a method and a path", p)
				}
			}()
			Handle(p, named(""))
		}()
	}
}
