package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"sync"
)

//go:embed templates
var templateFS embed.FS

// The templates, by file under templates/: what each page is parsed with.
// A file named nowhere here is never parsed, which a test catches.
var (
	// shared are parsed into every page: the layout the pages render in,
	// and the partials they share.
	shared = []string{
		"layout.html",
		"partials/annotations.html",
		"partials/common.html",
		"partials/cost.html",
		"partials/filterbar.html",
		"partials/lists.html",
		"partials/snippets.html",
		"partials/span_detail.html",
		"partials/tree.html",
	}
	// pages are the pages, templates/pages/NAME.html by NAME, each with
	// the partials only it needs. Each defines "title" and "content" and
	// is rendered inside the layout.
	pages = map[string][]string{
		"home":        nil,
		"firstrun":    nil,
		"traces":      nil,
		"spans":       nil,
		"errors":      {"reports/charts.html"},
		"sessions":    nil,
		"session":     nil,
		"trace":       nil,
		"notfound":    nil,
		"error":       nil,
		"unavailable": nil,
		"badrequest":  nil,
		"metrics":     {"reports/charts.html"},
		"prompts":     {"reports/charts.html"},
		"prices":      {"reports/charts.html"},
		"storage":     {"reports/charts.html"},
		"annconfigs":  nil,
		"login":       nil,
		"password":    nil,
		"settings":    {"reports/charts.html"},
	}
	// fragments are shared templates also served alone, to scripts that
	// swap them in.
	fragments = []string{"tree_rows", "trace_search", "span_detail", "annotations_block", "tool_panel", "annotation_choices"}
)

// templateSet is the templates parsed: each page's, and the shared ones
// that fragments are rendered from.
type templateSet struct {
	shared *template.Template
	pages  map[string]*template.Template
}

// parsedTemplates parses the templates once, for every Handler: they are
// the same for all, and cloning the shared ones into each page is most of
// the time a handler takes to make.
var parsedTemplates = sync.OnceValue(parseTemplates)

// parseTemplates parses every page with its partials. The templates are
// built in, so a missing or broken one is a bug: it panics, which stops
// the server as it starts rather than on the first request that needs it.
func parseTemplates() templateSet {
	base := template.Must(template.New("").Funcs(funcs).Funcs(reportFuncs).ParseFS(templateFS, inDir(shared)...))
	for _, name := range fragments {
		if base.Lookup(name) == nil {
			panic(fmt.Sprintf("web: fragment template %q is not defined", name))
		}
	}
	set := templateSet{shared: base, pages: make(map[string]*template.Template, len(pages))}
	for name, partials := range pages {
		files := append(inDir(partials), "templates/pages/"+name+".html")
		t := template.Must(template.Must(base.Clone()).ParseFS(templateFS, files...))
		for _, def := range []string{"title", "content"} {
			if t.Lookup(def) == nil {
				panic(fmt.Sprintf("web: page %q does not define %q", name, def))
			}
		}
		set.pages[name] = t
	}
	return set
}

// inDir names files of the templates directory as templateFS does.
func inDir(files []string) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = "templates/" + f
	}
	return out
}

// render writes a full page. The page is rendered to a buffer first, so a
// template error becomes a clean 500 rather than half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	var buf bytes.Buffer
	if err := h.templates.pages[page].ExecuteTemplate(&buf, "layout", data); err != nil {
		h.log.Error("render page", "page", page, "path", r.URL.Path, "err", err)
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	writeHTML(w, status, buf.Bytes())
}

// renderFragment writes one partial template, for scripts to insert.
func (h *Handler) renderFragment(w http.ResponseWriter, r *http.Request, name string, data any) {
	var buf bytes.Buffer
	if err := h.templates.shared.ExecuteTemplate(&buf, name, data); err != nil {
		h.log.Error("render fragment", "fragment", name, "path", r.URL.Path, "err", err)
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	writeHTML(w, http.StatusOK, buf.Bytes())
}

func writeHTML(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	// Images in chat messages come from wherever the application sent them;
	// everything else is ours.
	h.Set("Content-Security-Policy", "default-src 'self'; img-src * data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
	w.WriteHeader(status)
	w.Write(body)
}
