// Package store is the storage seam: the contract every backend (SQLite,
// PostgreSQL) meets, checked by the conformance suite in storetest.
//
// The contract:
//   - WriteSpans is durable on return: when it returns nil, every span it was
//     given is committed, and a crash after that loses none of them.
//   - Writes are idempotent: a span whose span_id is already stored is
//     skipped, and the roll-ups count it once.
//   - Roll-ups (trace, session, project) change in the same transaction as
//     the spans, whatever order the spans of a trace arrive in.
//   - A trace keeps the project of its first span.
//   - Returned values belong to the caller; the store keeps no reference.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store/rollup"
)

// ErrNotFound is returned (wrapped) when a named project, trace or span does not exist.
var ErrNotFound = errors.New("not found")

// Store is a storage backend.
type Store interface {
	Writer
	Reader
	Annotator
	Manager
	Coster
	Settings
	AnnotationConfigs
	Retention // in retention.go
	Searcher  // in search.go
	AuthStore // in auth.go
	WriteChecker
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	Close() error
}

// WriteChecker checks, cheaply, whether the store can write now: while
// writes fail, ingest runs it every few seconds to notice the recovery.
type WriteChecker interface {
	// CheckWritable commits a small write that changes nothing a reader
	// sees, durably, and returns its error, which wraps ErrUnavailable
	// while the database is unreachable or out of space.
	CheckWritable(ctx context.Context) error
}

// Writer stores spans.
type Writer interface {
	// WriteSpans commits spans in one transaction, durable on return, and
	// reports how many were new (the rest were already stored).
	WriteSpans(ctx context.Context, spans []span.Span) (WriteResult, error)
}

// SyncWriter is a Writer whose commits can be made durable separately, so
// that ingest writes its next batch while the last one reaches the disk.
type SyncWriter interface {
	Writer
	// CommitSpans is WriteSpans without waiting for the disk: after a crash
	// the batch may be missing, but never partly stored.
	CommitSpans(ctx context.Context, spans []span.Span) (WriteResult, error)
	// Sync returns once every commit made before it was called is durable.
	Sync(ctx context.Context) error
}

// WriteResult tells what a write changed.
type WriteResult struct {
	Inserted   int
	Duplicates int
	Projects   []int64 // projects that received spans
	// New are the spans that were stored, as opposed to already present.
	New []*span.Span
	// Uncounted are those of New whose model call is counted in another
	// span (package rollup): wrappers, and calls that take the place of a
	// wrapper counted before them. Counters kept as spans arrive skip them.
	Uncounted map[*span.Span]bool
}

// Reader answers the read paths of the REST API and the UI.
type Reader interface {
	Lister
	RESTReader
	UIReader         // the web UI's reads, in reader_ui.go
	AnnotationReader // header summaries of annotations, in reader_annotations.go
	MetricsReader    // the Metrics tab's series and reports, in reader_metrics.go
}

// Lister lists and finds projects, traces, sessions and spans: the reads
// the REST API and the UI share.
type Lister interface {
	Projects(ctx context.Context, q ProjectQuery) ([]Project, error)
	// ProjectByName finds a project by name.
	ProjectByName(ctx context.Context, name string) (Project, error)
	ProjectByID(ctx context.Context, id int64) (Project, error)
	Spans(ctx context.Context, q SpanQuery) ([]SpanRecord, error)
	Traces(ctx context.Context, q TraceQuery) ([]Trace, error)
	// Trace finds a trace by its hex trace ID.
	Trace(ctx context.Context, traceID string) (Trace, error)
	Sessions(ctx context.Context, q SessionQuery) ([]Session, error)
	// Session finds a session by its session.id value.
	Session(ctx context.Context, sessionID string) (Session, error)
}

// RESTReader holds the reads of the REST API beyond the shared ones: rows
// named by GlobalIDs, and long stretches of spans read in pieces.
type RESTReader interface {
	// TraceByRowID and SessionByRowID find rows named by GlobalIDs.
	TraceByRowID(ctx context.Context, rowID int64) (Trace, error)
	SessionByRowID(ctx context.Context, rowID int64) (Session, error)
	// ExistingSpanIDs returns those of ids that are stored, in any project.
	ExistingSpanIDs(ctx context.Context, ids []string) ([]string, error)
	// EachTreeSpan calls fn with the tree columns of every span of a trace,
	// in start order, as they are read, until fn returns an error, which it
	// returns: a trace of any size in memory of one span. ctx bounds the
	// whole read, fn's time included.
	EachTreeSpan(ctx context.Context, traceRowID int64, fn func(*TreeSpan) error) error
	// SpanKeys lists the keys of the spans q selects, in q's order, at most
	// q.Limit: the first step of reading a long stretch of spans, where
	// pages of keys can be many times larger than pages of spans, so that a
	// store sorts each stretch of its index once rather than once a page.
	// q.Search is not supported: a q with one is an invalid argument.
	SpanKeys(ctx context.Context, q SpanQuery) ([]SpanKey, error)
	// SpansByRowID reads the spans with these row ids, in the order given;
	// ids no longer stored are left out. Light records hold only RowID,
	// ParentID, StartTime, EndTime and AttributesJSON, with input.value and
	// output.value in it as empty strings when the span has them (EventsJSON
	// is "[]"): what a reader needs to learn the shape of many spans'
	// attributes, for less than reading them whole.
	SpansByRowID(ctx context.Context, rowIDs []int64, light bool) ([]SpanRecord, error)
}

// InRowIDOrder lists the spans of byID in the order of rowIDs, leaving
// out the ids it does not hold (deleted meanwhile): what SpansByRowID
// returns, whatever order a backend read them in.
func InRowIDOrder(byID map[int64]SpanRecord, rowIDs []int64) []SpanRecord {
	out := make([]SpanRecord, 0, len(byID))
	for _, id := range rowIDs {
		if r, ok := byID[id]; ok {
			out = append(out, r)
		}
	}
	return out
}

// SpanKey is where a span falls in start-time order.
type SpanKey struct {
	RowID     int64
	StartTime int64
}

// Project is a project with its roll-ups.
type Project struct {
	ID           int64
	Name         string
	Description  string
	CreatedAt    int64 // unix ns
	UpdatedAt    int64
	LastSpanTime int64 // 0 when it has no spans
}

// ProjectQuery lists projects by id, newest first unless Ascending.
type ProjectQuery struct {
	NameContains string // case-insensitive
	AfterID      int64  // keyset cursor: only ids <= AfterID when > 0
	Limit        int
}

// SpanRecord is a stored span: the span as received (its attributes
// including input.value and output.value) plus its row identity.
type SpanRecord struct {
	RowID     int64
	ProjectID int64
	span.Span
	// AttributesJSON is the flat attribute object as stored, with input and
	// output values merged back, for readers that pass it through.
	AttributesJSON json.RawMessage
	EventsJSON     json.RawMessage // JSON array, never nil
	// Counting is the span's part in counting model calls: counted, a
	// wrapper whose call is counted below it, or neither.
	Counting rollup.State
}

// SpanQuery selects spans of one project. Zero values mean "no condition".
// Order is row id descending (newest received first), as Phoenix's REST API pages.
type SpanQuery struct {
	ProjectID   int64
	Cursor      int64 // only row ids <= Cursor
	Limit       int
	StartTime   int64 // span start >= StartTime (unix ns)
	EndTime     int64 // span start < EndTime
	TraceIDs    []string
	SpanIDs     []string
	Names       []string
	Kinds       []string
	StatusCodes []string
	RootsOnly   bool
	Attributes  []AttributeMatch
	// Filter is a checked filter-language expression; backends compile it
	// to their SQL dialect.
	Filter query.Expr
	// OrderByStartTime orders by span start descending, then row id
	// descending, as Phoenix's SpanQuery does. The cursor is then the pair
	// (CursorStartTime, Cursor): spans that start before CursorStartTime, or
	// at it with a row id <= Cursor.
	OrderByStartTime bool
	CursorStartTime  int64
	// Ascending reverses the order, row ids or start times oldest first,
	// and the cursor then keeps what is at or after it (>=).
	Ascending bool
	// Search keeps the spans whose text contains every word and "quoted
	// phrase" of it, through the full-text index (see Searcher); one with
	// no word at all (blank, punctuation) matches nothing.
	Search string
	// MaxRowID keeps the spans with row ids <= MaxRowID when > 0: a reader
	// that goes over the same spans twice pins both passes to the spans
	// stored when it began.
	MaxRowID int64
	// HasAttribute keeps the spans that may hold a value at this dotted
	// attribute path: those with an attribute of that key, of a key below it
	// (HasAttribute + "." + …, as a list is flattened), or of a key above it
	// (a JSON-string attribute such as metadata, or an object value, may hold
	// the rest of the path). The caller checks the value itself; this only
	// saves it reading the spans that cannot have one.
	HasAttribute string
}

// AttributeKeysAbove are the keys above an attribute path that may hold a
// value at it: "a" and "a.b" for "a.b.c".
func AttributeKeysAbove(path string) []string {
	var out []string
	for i := range len(path) {
		if path[i] == '.' {
			out = append(out, path[:i])
		}
	}
	return out
}

// AttributeMatch is an equality condition on one attribute, as Phoenix's
// attribute[] parameter: Value is a JSON scalar (string, number, bool).
type AttributeMatch struct {
	Key   string
	Value any // string, int64, float64 or bool
}

// Trace is a trace with its roll-ups.
type Trace struct {
	RowID         int64
	ProjectID     int64
	TraceID       string
	SessionRowID  int64 // 0 when none
	SessionID     string
	StartTime     int64
	EndTime       int64
	RootSpanID    string // empty until the root span arrives
	RootName      string
	RootKind      string
	RootStatus    string
	SpanCount     int64
	ErrorCount    int64
	LLMSpanCount  int64
	Tokens        span.TokenCounts // sums over counted model calls (package rollup)
	Cost          CostTotals       // sums over counted model calls
	UserID        string
	InputPreview  string
	OutputPreview string
	Spans         []SpanRecord // filled when asked for
}

// TraceSort names the orders the trace list offers.
type TraceSort string

const (
	SortStartTime TraceSort = "start_time"
	SortLatency   TraceSort = "latency_ms"
)

// Session is a session (the traces sharing a session.id) with its roll-ups.
type Session struct {
	RowID      int64
	ProjectID  int64
	SessionID  string
	StartTime  int64
	EndTime    int64
	TraceCount int64
	Tokens     span.TokenCounts // Prompt, Completion and Total are kept
	Cost       CostTotals       // Prompt and Completion are not kept per session
	UserID     string
	FirstInput string // root input of the earliest trace (a preview)
	LastOutput string // root output of the latest trace (a preview)
}

// SessionQuery lists a project's sessions by row id.
type SessionQuery struct {
	ProjectID int64
	Cursor    int64 // row id of the first session of the page
	Limit     int
	Ascending bool
	// Sessions overlapping [StartTime, EndTime) when set.
	StartTime int64
	EndTime   int64
	// Filter is a checked session filter (query.CheckSessions); backends
	// compile it with query.CompileSessions.
	Filter query.Expr
}

// TraceQuery selects traces of one project.
type TraceQuery struct {
	ProjectID  int64
	StartTime  int64 // trace start >= StartTime
	EndTime    int64 // trace start < EndTime
	Sort       TraceSort
	Ascending  bool
	Cursor     int64 // row id of the first trace of the page
	Limit      int
	SessionIDs []string
	WithSpans  bool
	// AfterRowID, when > 0, keeps the traces that come after the trace
	// (AfterValue, AfterRowID) in the page's order, that trace left out:
	// AfterValue is its start time, or its latency (end - start) when
	// sorting by latency. Phoenix's REST cursor names the last trace of a
	// page this way, so a page holds the same traces whether or not the
	// one its cursor names is still stored.
	AfterRowID int64
	AfterValue int64
	// Errors keeps the traces with a span whose status is ERROR, or those
	// without one.
	Errors ErrorFilter
	// MinLatency and MaxLatency, when not nil, bound end - start (ns),
	// inclusively.
	MinLatency, MaxLatency *int64
	// Filter is a checked trace filter (query.CheckTraces); backends
	// compile it with query.CompileTraces.
	Filter query.Expr
}

// ErrorFilter selects traces by whether they hold an error.
type ErrorFilter uint8

const (
	AnyErrors  ErrorFilter = iota // no condition
	ErrorsOnly                    // a span of the trace has status ERROR
	NoErrors                      // no span of the trace has
)

// ErrInvalidArgument is returned (wrapped) when a query asks for something
// malformed; the message says what.
var ErrInvalidArgument = errors.New("invalid argument")

// ErrConflict is returned (wrapped) when a write would duplicate something unique.
var ErrConflict = errors.New("conflict")

// ErrUnavailable is returned (wrapped) when the database cannot serve now
// but may later: unreachable or restarting, busy, out of disk space. Callers
// answer it as retryable and keep the wrapped detail out of what clients see.
var ErrUnavailable = errors.New("storage unavailable")

// Unavailable marks err, a failure that may pass, as ErrUnavailable; the
// result still wraps err, whose detail is for the log. A nil err stays nil.
func Unavailable(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// Manager changes what is stored: projects, and deletes and moves of traces
// and sessions. Roll-ups stay consistent with what remains.
type Manager interface {
	CreateProject(ctx context.Context, name, description string) (Project, error)
	UpdateProject(ctx context.Context, id int64, description string) (Project, error)
	// DeleteProject deletes a project with its traces, spans, sessions and annotations.
	DeleteProject(ctx context.Context, id int64) error
	// DeleteTrace deletes a trace with its spans and annotations.
	DeleteTrace(ctx context.Context, traceID string) error
	// TransferTraces moves traces (hex ids) and their sessions to another
	// project and reports how many moved.
	TransferTraces(ctx context.Context, traceIDs []string, toProject int64) (int, error)
	// DeleteSession deletes a session with its traces.
	DeleteSession(ctx context.Context, sessionID string) error
	// DeleteSpan deletes one span, by row id, and not its children, which
	// stay in the trace as orphans. Its trace's roll-ups are recomputed
	// from the spans left, and a trace left with none is deleted.
	DeleteSpan(ctx context.Context, rowID int64) error
}

// CostTotals sums the cost of counted model calls (package rollup).
// Unpriced counts the calls whose model has no price: their cost is
// unknown, not zero.
type CostTotals struct {
	Total      float64
	Prompt     float64
	Completion float64
	Unpriced   int64
}
