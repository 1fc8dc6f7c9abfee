// Package api serves Loupe's REST API, compatible with Arize Phoenix's v1
// routes: the {"data": …, "next_cursor": …} envelope, GlobalIDs, and
// plain-text error bodies.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/loupe-dev/loupe/internal/auth"
	"github.com/loupe-dev/loupe/internal/costing"
	"github.com/loupe-dev/loupe/internal/ingest"
	"github.com/loupe-dev/loupe/internal/ratelimited"
	"github.com/loupe-dev/loupe/internal/store"
)

// PhoenixVersion is the Phoenix server version Loupe answers as, on
// /arize_phoenix_version and in every response's x-phoenix-server-version:
// clients gate features on it (arize-phoenix-client 3.5 refuses the trace
// list's error and latency filters below 20.8.0), so Loupe implements the
// tracing surface of this version and answers what it does not implement
// with an error that says so, never by ignoring it.
const PhoenixVersion = "20.26.1"

// Store is the storage the REST API serves: its reads, and the changes
// it makes to annotations, projects, traces and retention policies.
type Store interface {
	store.Lister
	store.RESTReader
	store.Annotator
	store.Manager
	store.Retention
	store.AnnotationConfigs
	SpanByID(ctx context.Context, spanID string) (store.SpanRecord, error)
	Usage(ctx context.Context, projectID int64, dim store.UsageDimension, start, end int64) ([]store.Usage, error)
	UsageByTool(ctx context.Context, projectID int64, start, end int64) (tools []store.ToolUsage, sampled bool, err error)
	Models(ctx context.Context) ([]store.ModelUsage, error)
}

// API holds the handlers' dependencies.
type API struct {
	Store  Store
	Ingest Submitter        // where uploaded spans go
	Costs  *costing.Service // prices
	// Auth manages users and keys; nil when authentication is off.
	Auth    *auth.Service
	Log     *slog.Logger
	Pending Pending // asynchronous annotations waiting for their targets

	// errs logs failed requests, which repeat with every request while the
	// database is down, at most once an interval; set up by Handler.
	errs ratelimited.Logger
	// QueryTimeout bounds the database queries of a read (0: none): those of
	// a list or detail route together, and each page of a streamed answer
	// on its own.
	QueryTimeout time.Duration
}

// RetryAfterSeconds is how long a client is asked to wait when the
// database is unavailable: about as long as the server takes to notice
// that it is back.
const RetryAfterSeconds = 5

// Error is an API error with the status it is answered with.
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

func errorf(status int, format string, args ...any) error {
	return &Error{Status: status, Msg: fmt.Sprintf(format, args...)}
}

// handlerFunc returns the value to send as JSON, or an error.
type handlerFunc func(r *http.Request) (any, error)

// wrap writes a handler's value as JSON, or its error as plain text with
// the mapped status. Only unexpected (500) errors are logged.
func (a *API) wrap(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := r
		if r.Method == http.MethodGet {
			ctx, cancel := a.queryContext(r.Context())
			defer cancel()
			req = r.WithContext(ctx)
		}
		v, err := h(req)
		if err != nil {
			a.writeError(w, r, a.timedOut(r, req.Context(), err))
			return
		}
		status := http.StatusOK
		switch x := v.(type) {
		case noContent:
			w.WriteHeader(http.StatusNoContent)
			return
		case accepted:
			status, v = http.StatusAccepted, x.v
		case created201:
			status, v = http.StatusCreated, x.v
		}
		var buf bytes.Buffer
		if err := json.NewEncoder(&buf).Encode(v); err != nil {
			a.writeError(w, r, fmt.Errorf("encode response: %w", err))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(buf.Bytes())
	})
}

func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var apiErr *Error
	var upErr *uploadError
	var limitErr *auth.LimitError
	switch {
	case errors.As(err, &upErr):
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(upErr.status)
		json.NewEncoder(w).Encode(upErr.body)
		return
	case errors.As(err, &apiErr):
	case errors.As(err, &limitErr):
		w.Header().Set("Retry-After", strconv.Itoa(limitErr.RetryAfterSeconds()))
		apiErr = &Error{http.StatusTooManyRequests, limitErr.Error()}
	case errors.Is(err, auth.ErrUnauthenticated):
		auth.Unauthorized(w, err)
		return
	case errors.Is(err, auth.ErrForbidden):
		apiErr = &Error{http.StatusForbidden, err.Error()}
	case errors.Is(err, store.ErrConflict):
		apiErr = &Error{http.StatusConflict, err.Error()}
	case errors.Is(err, ingest.ErrOverloaded), errors.Is(err, ingest.ErrStopped):
		// Phoenix's words for a full span queue, which its clients know.
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfterSeconds))
		apiErr = &Error{http.StatusServiceUnavailable, "Server is at capacity and cannot process more requests"}
	case errors.Is(err, store.ErrUnavailable):
		// The detail (hosts, users, files) is for the log, not the client.
		a.errs.Warn("api request: storage unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfterSeconds))
		apiErr = &Error{http.StatusServiceUnavailable, "storage is unavailable; retry later"}
	case errors.Is(err, store.ErrNotFound):
		apiErr = &Error{http.StatusNotFound, err.Error()}
	case errors.Is(err, store.ErrInvalidArgument):
		apiErr = &Error{http.StatusUnprocessableEntity, err.Error()}
	case errors.Is(err, context.Canceled):
		return
	default:
		a.errs.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		apiErr = &Error{http.StatusInternalServerError, "internal server error"}
	}
	if apiErr.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+auth.Realm+`"`)
	}
	http.Error(w, apiErr.Msg, apiErr.Status)
}

// page is the envelope of list responses.
type page struct {
	Data       any     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

// single is the envelope of one-object responses.
type single struct {
	Data any `json:"data"`
}
