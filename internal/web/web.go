// Package web serves Loupe's user interface: server-rendered HTML pages
// (html/template), a few plain JavaScript modules and one stylesheet, all
// embedded in the binary. Every page is useful before any script runs; the
// scripts add selection, expansion, copying and live refresh.
package web

import (
	"context"
	"log/slog"
	"time"

	"github.com/loupe-dev/loupe/internal/auth"
	"github.com/loupe-dev/loupe/internal/costing"
	"github.com/loupe-dev/loupe/internal/ratelimited"
	"github.com/loupe-dev/loupe/internal/sso"
	"github.com/loupe-dev/loupe/internal/store"
)

// Store is the storage the UI uses: the reads of its pages, and the
// annotations and retention policies its forms write.
type Store interface {
	store.Lister
	store.UIReader
	store.AnnotationReader
	store.MetricsReader
	store.ErrorGroupReader

	// The newest failure of each error group, by row id.
	SpansByRowID(ctx context.Context, rowIDs []int64, light bool) ([]store.SpanRecord, error)

	// The annotations of spans and traces, and their forms.
	Annotations(ctx context.Context, q store.AnnotationQuery) ([]store.Annotation, error)
	UpsertAnnotations(ctx context.Context, anns []store.Annotation) ([]int64, error)
	store.AnnotationConfigs // what the annotation forms offer and accept

	// The cost panels, the prices page and a wrapper's counted calls.
	Usage(ctx context.Context, projectID int64, dim store.UsageDimension, start, end int64) ([]store.Usage, error)
	UsageByTool(ctx context.Context, projectID int64, start, end int64) (tools []store.ToolUsage, sampled bool, err error)
	ToolCallsWithModels(ctx context.Context, projectID int64, start, end int64) (bool, error)
	Models(ctx context.Context) ([]store.ModelUsage, error)
	CountedBelow(ctx context.Context, spanRowID int64, limit int) ([]store.CountedCall, error)

	// The spans not yet searchable, told under a search.
	SearchLag(ctx context.Context, projectID int64) (int64, error)

	// The storage page and its retention forms.
	StorageReport(ctx context.Context, q store.StorageQuery) (store.StorageReport, error)
	RetentionPolicies(ctx context.Context) (map[int64]store.RetentionPolicy, error)
	SetRetentionPolicy(ctx context.Context, projectID int64, p store.RetentionPolicy) error
	DeleteRetentionPolicy(ctx context.Context, projectID int64) error
}

// Config holds the UI's dependencies.
type Config struct {
	Store Store
	Log   *slog.Logger
	// GRPCAddr is the OTLP/gRPC listen address, shown in the first-run
	// instructions (with the request's host when it listens on all interfaces).
	GRPCAddr string
	// GRPCTLS says OTLP/gRPC is served over TLS.
	GRPCTLS bool
	// PollInterval is how often live views look for new spans in the
	// database, which is what lets several servers share one; 0 means 1 s.
	PollInterval time.Duration
	// Costs is the price service the prices page edits; nil shows the
	// built-in prices, read-only.
	Costs *costing.Service
	// RetentionInterval is how often the retention sweeper runs, which the
	// storage page tells; 0 means its default.
	RetentionInterval time.Duration
	// QueryTimeout bounds the database queries of one page (0: none); a page
	// whose queries run out of time is answered 503.
	QueryTimeout time.Duration
	// Auth logs people in; nil when authentication is off.
	Auth *auth.Service
	// SSO logs people in through identity providers; nil for none.
	SSO *sso.Service
}

// Handler serves the UI.
type Handler struct {
	store    Store
	log      *slog.Logger
	errs     *ratelimited.Logger // failures that repeat with every request while the database is down
	grpcAddr string
	grpcTLS  bool
	timeout  time.Duration // QueryTimeout
	live     *broker
	now      func() time.Time
	reports  reportDeps    // in reports.go
	auth     *auth.Service // nil when authentication is off (login.go)
	sso      *sso.Service  // nil without identity providers

	templates   templateSet    // in templates.go
	toolUsage   toolUsageCache // in toolusage.go
	suggestions suggestCache   // in suggest.go
}

// New returns the UI handler, its templates parsed. (Its static files
// were hashed when the program started.)
func New(cfg Config) *Handler {
	poll := cfg.PollInterval
	if poll <= 0 {
		poll = time.Second
	}
	return &Handler{
		store:     cfg.Store,
		log:       cfg.Log,
		errs:      &ratelimited.Logger{Log: cfg.Log},
		grpcAddr:  cfg.GRPCAddr,
		grpcTLS:   cfg.GRPCTLS,
		timeout:   cfg.QueryTimeout,
		live:      newBroker(cfg.Store, cfg.Log, poll, maxSubscribers),
		now:       time.Now,
		reports:   reportDepsOf(cfg),
		templates: parsedTemplates(),
		auth:      cfg.Auth,
		sso:       cfg.SSO,
	}
}

// Notify tells live views that spans were committed in this process, so
// they refresh without waiting for the next poll. It never blocks.
func (h *Handler) Notify() { h.live.wake() }
