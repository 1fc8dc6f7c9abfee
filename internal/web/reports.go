package web

import (
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

// reportFuncs are the template functions of the report pages.
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
	"plural":    pluralOf,
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
