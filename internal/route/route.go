// Package route serves a surface of Loupe's HTTP listener (the OTLP
// receiver, the REST API, the UI) from a table of its routes: the table
// is the one place a surface's routes are written, the server mounts the
// tables side by side, and tests list every route of every surface.
package route

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Route is one route of a surface.
type Route struct {
	Method  string // GET routes answer HEAD as well
	Path    string // an http.ServeMux path pattern, wildcards and all
	Handler http.Handler
}

// Pattern is the route's http.ServeMux pattern, as Handle took it.
func (r Route) Pattern() string { return r.Method + " " + r.Path }

// SamplePath is a path the route serves: its path with each wildcard
// given its own name ({id} is "id", {rest...} is "rest") and {$} dropped.
func (r Route) SamplePath() string {
	var b strings.Builder
	rest := r.Path
	for {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			return b.String() + rest
		}
		end := strings.IndexByte(rest[open:], '}') + open
		b.WriteString(rest[:open])
		name := strings.TrimSuffix(rest[open+1:end], "...")
		if name != "$" {
			b.WriteString(name)
		}
		rest = rest[end+1:]
	}
}

// Handle makes the route of a pattern such as "GET /v1/projects/{id}". The
// pattern names its method: a table says what each route takes.
func Handle(pattern string, h http.Handler) Route {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok || method == "" || !strings.HasPrefix(path, "/") {
		panic(fmt.Sprintf("route: %q is not a method and a path", pattern))
	}
	return Route{Method: method, Path: path, Handler: h}
}

// HandleFunc is Handle of a function.
func HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) Route {
	return Handle(pattern, http.HandlerFunc(h))
}

// Middleware wraps the handler of each route of a table.
type Middleware func(http.Handler) http.Handler

// Table serves a surface's routes through the surface's middleware.
type Table struct {
	routes []Route
	mux    *http.ServeMux
}

// NewTable serves routes, each through middleware, the first outermost.
// Middleware sees a request once its route is found, with its pattern and
// path values set. NewTable panics, as http.ServeMux does, on a malformed
// pattern or two that conflict.
func NewTable(routes []Route, middleware ...Middleware) *Table {
	mux := http.NewServeMux()
	for _, rt := range routes {
		h := rt.Handler
		for _, m := range slices.Backward(middleware) {
			h = m(h)
		}
		mux.Handle(rt.Pattern(), h)
	}
	return &Table{routes: routes, mux: mux}
}

func (t *Table) ServeHTTP(w http.ResponseWriter, r *http.Request) { t.mux.ServeHTTP(w, r) }

// Routes lists the routes of the table, in its order.
func (t *Table) Routes() []Route { return slices.Clone(t.routes) }

// Mount registers every pattern of t on mux, to be served by t. Tables
// mounted on one mux then route as if their routes were all its own: a
// request goes to the most specific pattern of any table, and one that
// no pattern takes gets the mux's 404, or 405 when only its method is
// wrong.
func (t *Table) Mount(mux *http.ServeMux) {
	for _, rt := range t.routes {
		mux.Handle(rt.Pattern(), t)
	}
}
