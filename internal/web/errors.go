package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/loupe-dev/loupe/internal/store"
)

// retryAfterSeconds is how long a browser is asked to wait when the
// database is unavailable.
const retryAfterSeconds = 5

// notFound is what a 404 page says: what was not found, and where to go.
type notFound struct {
	frame
	What    string // "Trace", "Project", …
	In      string // the project the missing thing was looked for in
	ID      string
	Hint    string
	Back    string // URL of the way back
	BackFor string // its label
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request, nf notFound) {
	nf.frame = h.frame(r.Context(), r, nf.What+" not found", nf.In)
	if nf.Back == "" {
		nf.Back, nf.BackFor = "/", "All projects"
	}
	h.render(w, r, http.StatusNotFound, "notfound", nf)
}

func (h *Handler) notFoundPage(w http.ResponseWriter, r *http.Request) {
	h.notFound(w, r, notFound{What: "Page", ID: r.URL.Path, Hint: "There is no page at this address."})
}

// unknownPath answers an address no route knows: the 404 page for a
// browser, plain text for an API client that mistyped a path.
func (h *Handler) unknownPath(w http.ResponseWriter, r *http.Request) {
	if !strings.Contains(r.Header.Get("Accept"), "text/html") {
		http.NotFound(w, r)
		return
	}
	h.notFoundPage(w, r)
}

// fail answers a store error: not found becomes nf's 404 page, a query
// that ran out of time or a database that is down a 503 page saying so, a
// gone client nothing, anything else a logged 500. The pages name no
// cause beyond that; the log has it.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error, nf notFound) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		h.notFound(w, r, nf)
	case errors.Is(r.Context().Err(), context.DeadlineExceeded):
		h.errs.Warn("ui query ran out of time", "path", r.URL.Path, "timeout", h.timeout, "err", err)
		r = r.WithContext(context.WithoutCancel(r.Context()))
		h.badRequest(w, r, http.StatusServiceUnavailable, r.PathValue("name"),
			fmt.Sprintf("The query took longer than %s; narrow the time range or the filter.", h.timeout), "", "")
	case errors.Is(err, context.Canceled):
	case errors.Is(err, store.ErrUnavailable):
		h.errs.Warn("ui request: storage unavailable", "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
		f := h.frame(context.WithoutCancel(r.Context()), r, "Storage unavailable", "")
		h.render(w, r, http.StatusServiceUnavailable, "unavailable", f)
	default:
		h.errs.Error("ui request failed", "path", r.URL.Path, "err", err)
		f := h.frame(context.WithoutCancel(r.Context()), r, "Something went wrong", "")
		h.render(w, r, http.StatusInternalServerError, "error", f)
	}
}

// bounded gives the database queries of one page the server's query
// timeout; the stores cancel a query in the database when its context ends.
func (h *Handler) bounded(page http.HandlerFunc) http.Handler {
	if h.timeout <= 0 {
		return page
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
		defer cancel()
		page(w, r.WithContext(ctx))
	})
}
