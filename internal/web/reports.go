package web

import (
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"time"

	"github.com/loupe-dev/loupe/internal/costing"
	"github.com/loupe-dev/loupe/internal/retention"
)

// The report pages: a project's Metrics tab and prompt versions, the model
// prices and the storage page. They read aggregates rather than lists, and
// the last two change settings through forms.

// reportPages are the templates/pages/*.html files of the report pages.
// Their shared partials are in templates/reports.
var reportPages = []string{"metrics", "prompts", "prices", "storage", "badrequest"}

// reportFuncs are the template functions only the report pages use.
var reportFuncs = template.FuncMap{
	"coord":     coord,
	"compact":   func(n int64) string { return compactCount(float64(n)) },
	"inList":    slices.Contains[[]string],
	"pctShare":  share,
	"rateItems": rateItems,
	"host":      host,
	"join":      joinNames,
	"bytes64":   bytesSize,
	"perSpan":   func(total, spans int64) int64 { return total / spans },
	"fraction":  func(pct float64) float64 { return pct / 100 },
	"plural":    plural,
}

// The report pages are parsed at start-up like the others, with their own
// partials and functions, so a broken one stops the program there.
func init() {
	base := templates[""]
	for _, name := range reportPages {
		t := template.Must(template.Must(base.Clone()).Funcs(reportFuncs).ParseFS(templateFS,
			"templates/reports/*.html", "templates/pages/"+name+".html"))
		for _, def := range []string{"title", "content"} {
			if t.Lookup(def) == nil {
				panic(fmt.Sprintf("web: page %q does not define %q", name, def))
			}
		}
		templates[name] = t
	}
}

// reportDeps are what the report pages need beyond the store.
type reportDeps struct {
	costs      *costing.Service // nil: prices are shown, not edited
	sweepEvery time.Duration
}

func reportDepsOf(cfg Config) reportDeps {
	d := reportDeps{costs: cfg.Costs, sweepEvery: cfg.RetentionInterval}
	if d.sweepEvery <= 0 {
		d.sweepEvery = retention.DefaultInterval
	}
	return d
}

// badRequest is a 4xx page saying what was wrong with the address or the form.
type badRequest struct {
	frame
	Status  int
	Message string
	Back    string
	BackFor string
}

func (h *Handler) badRequest(w http.ResponseWriter, r *http.Request, status int, project, msg, back, backFor string) {
	page := badRequest{frame: h.frame(r.Context(), r, "Bad request", project), Status: status, Message: msg,
		Back: back, BackFor: backFor}
	if page.Back == "" {
		page.Back, page.BackFor = "/", "All projects"
	}
	h.render(w, r, status, "badrequest", page)
}
