package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
)

//go:embed templates
var templateFS embed.FS

// pageNames are the templates/pages/*.html files; each defines "title" and
// "content" and is rendered inside the layout.
var pageNames = []string{"home", "firstrun", "traces", "spans", "sessions", "session", "trace", "notfound", "error", "unavailable"}

// fragments are partials also served alone, to scripts that swap them in.
var fragments = []string{"tree_rows", "span_detail", "annotations_block"}

// templates are parsed once, when the program starts: a missing or broken
// template stops it there rather than on the first request that needs it.
var templates = mustParseTemplates()

func mustParseTemplates() map[string]*template.Template {
	base := template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials/*.html"))
	for _, name := range fragments {
		if base.Lookup(name) == nil {
			panic(fmt.Sprintf("web: fragment template %q is not defined", name))
		}
	}
	out := map[string]*template.Template{"": base}
	for _, name := range pageNames {
		t := template.Must(template.Must(base.Clone()).ParseFS(templateFS, "templates/pages/"+name+".html"))
		for _, def := range []string{"title", "content"} {
			if t.Lookup(def) == nil {
				panic(fmt.Sprintf("web: page %q does not define %q", name, def))
			}
		}
		out[name] = t
	}
	return out
}

// render writes a full page. The page is rendered to a buffer first, so a
// template error becomes a clean 500 rather than half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	var buf bytes.Buffer
	if err := templates[page].ExecuteTemplate(&buf, "layout", data); err != nil {
		h.log.Error("render page", "page", page, "path", r.URL.Path, "err", err)
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	writeHTML(w, status, buf.Bytes())
}

// renderFragment writes one partial template, for scripts to insert.
func (h *Handler) renderFragment(w http.ResponseWriter, r *http.Request, name string, data any) {
	var buf bytes.Buffer
	if err := templates[""].ExecuteTemplate(&buf, name, data); err != nil {
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
