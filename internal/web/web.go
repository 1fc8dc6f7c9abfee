// Package web serves Loupe's user interface: server-rendered HTML pages
// (html/template), a few plain JavaScript modules and one stylesheet, all
// embedded in the binary. Every page is useful before any script runs; the
// scripts add selection, expansion, copying and live refresh.
package web

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/loupe-dev/loupe/internal/costing"
	"github.com/loupe-dev/loupe/internal/ratelimited"
	"github.com/loupe-dev/loupe/internal/store"
)

// Config holds the UI's dependencies.
type Config struct {
	Store store.Reader
	Log   *slog.Logger
	// GRPCAddr is the OTLP/gRPC listen address, shown in the first-run
	// instructions (with the request's host when it listens on all interfaces).
	GRPCAddr string
	// PollInterval is how often live views look for new spans in the
	// database, which is what lets several servers share one; 0 means 1 s.
	PollInterval time.Duration
	// Costs is the price service the prices page edits; nil shows the
	// built-in prices, read-only.
	Costs *costing.Service
	// RetentionInterval is how often the retention sweeper runs, which the
	// storage page tells; 0 means its default.
	RetentionInterval time.Duration
}

// Handler serves the UI.
type Handler struct {
	store    store.Reader
	log      *slog.Logger
	errs     *ratelimited.Logger // failures that repeat with every request while the database is down
	grpcAddr string
	live     *broker
	now      func() time.Time
	caps     capabilities // in capabilities.go
	reports  reportDeps   // in reports.go

	toolUsage toolUsageCache // in toolusage.go
}

// New returns the UI handler. Its templates and static files were parsed
// when the program started.
func New(cfg Config) *Handler {
	poll := cfg.PollInterval
	if poll <= 0 {
		poll = time.Second
	}
	return &Handler{
		store:    cfg.Store,
		log:      cfg.Log,
		errs:     &ratelimited.Logger{Log: cfg.Log},
		grpcAddr: cfg.GRPCAddr,
		live:     newBroker(cfg.Store, cfg.Log, poll, maxSubscribers),
		now:      time.Now,
		caps:     capabilitiesOf(cfg.Store),
		reports:  reportDepsOf(cfg),
	}
}

// Notify tells live views that spans were committed in this process, so
// they refresh without waiting for the next poll. It never blocks.
func (h *Handler) Notify() { h.live.wake() }

// Routes registers the UI's routes on mux.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", h.home)
	mux.HandleFunc("GET /static/{version}/{file}", serveStatic)
	mux.HandleFunc("GET /events", h.events)
	mux.HandleFunc("GET /traces", h.gotoTrace)
	mux.HandleFunc("GET /traces/{trace_id}", h.traceRedirect)
	mux.HandleFunc("GET /projects/{name}", h.projectTraces)
	mux.HandleFunc("GET /projects/{name}/spans", h.projectSpans)
	mux.HandleFunc("GET /projects/{name}/tool-costs", h.toolCosts)
	mux.HandleFunc("GET /projects/{name}/sessions", h.projectSessions)
	mux.HandleFunc("GET /projects/{name}/sessions/{session_id}", h.session)
	mux.HandleFunc("GET /projects/{name}/traces/{trace_id}", h.trace)
	mux.HandleFunc("GET /projects/{name}/traces/{trace_id}/tree", h.treeFragment)
	mux.HandleFunc("GET /projects/{name}/traces/{trace_id}/export", h.exportTrace)
	mux.HandleFunc("GET /projects/{name}/spans/{span_id}", h.spanFragment)
	mux.HandleFunc("GET /projects/{name}/spans/{span_id}/value", h.spanValue)
	mux.HandleFunc("POST /projects/{name}/spans/{span_id}/annotations", h.annotateSpan)
	mux.HandleFunc("POST /projects/{name}/traces/{trace_id}/annotations", h.annotateTrace)
	mux.HandleFunc("GET /filter/check", h.checkFilter)
	h.reportRoutes(mux) // in reports.go
	mux.HandleFunc("GET /projects/", h.notFoundPage)
}
