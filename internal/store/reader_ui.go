package store

import (
	"context"
	"slices"

	"github.com/loupe-dev/loupe/internal/query"
)

// UIReader holds the reads the web UI needs beyond the REST ones: bounded
// summaries for page headers, light-weight rows for lists and trace trees,
// and single spans with everything they carry.
type UIReader interface {
	// ProjectStats summarises the traces of a project that started in
	// [start, end). Counts and token sums are exact; latency percentiles are
	// computed over at most StatsLatencySample traces, the newest in range.
	ProjectStats(ctx context.Context, projectID, start, end int64) (ProjectStats, error)
	// TraceInfo finds a trace by its hex id, without its spans.
	TraceInfo(ctx context.Context, traceID string) (Trace, error)
	// TraceTree returns the tree columns of every span of a trace (by trace
	// row id), in start order: enough to draw the tree and the waterfall of
	// a trace of any size without reading attributes.
	TraceTree(ctx context.Context, traceRowID int64) ([]TreeSpan, error)
	// EachSpanText calls fn with the text of every span of a trace (by
	// trace row id), in start order, for SearchTrace; it stops at the first
	// error fn returns. s is reused between calls.
	EachSpanText(ctx context.Context, traceRowID int64, fn func(s *SpanText) error) error
	// SpanByID finds one span, with all its attributes and events.
	SpanByID(ctx context.Context, spanID string) (SpanRecord, error)
	// SpanList lists a project's spans in start-time order, or ranked by
	// cost or tokens, as light rows with short input and output previews.
	SpanList(ctx context.Context, q SpanListQuery) ([]SpanRow, error)
	// SessionTraces lists the traces of a session (by session row id), oldest first.
	SessionTraces(ctx context.Context, sessionRowID int64, limit int) ([]Trace, error)
	// SessionLatencies summarises the trace latencies of each given session.
	SessionLatencies(ctx context.Context, sessionRowIDs []int64) (map[int64]LatencySummary, error)
}

// StatsLatencySample bounds the traces ProjectStats reads for percentiles, so
// that a header over a busy month costs the same as one over an hour.
const StatsLatencySample = 10_000

// ProjectStats summarises a project's traces over a time range.
type ProjectStats struct {
	Traces      int64
	ErrorTraces int64 // traces with at least one error span
	Spans       int64
	Tokens      TokenSums
	Cost        float64 // USD over priced counted model calls
	Latency     LatencySummary
}

// TokenSums are token totals over counted model calls (package rollup).
type TokenSums struct {
	Prompt, Completion, Total int64
}

// LatencySummary holds latency percentiles in nanoseconds over Sample traces;
// Sampled is true when Sample is less than all the traces the summary is about.
type LatencySummary struct {
	P50, P99 int64
	Sample   int64
	Sampled  bool
}

// TreeSpan is the part of a span a trace tree draws.
type TreeSpan struct {
	RowID     int64
	SpanID    string
	ParentID  string // empty for a root
	Name      string
	Kind      string
	Status    string
	StartTime int64
	EndTime   int64
}

// SpanRow is a span as a list shows it.
type SpanRow struct {
	RowID         int64
	TraceID       string
	SpanID        string
	ParentID      string
	Name          string
	Kind          string
	Status        string
	StartTime     int64
	EndTime       int64
	Tokens        TokenSums
	Model         string  // llm.model_name
	Cost          float64 // USD, as priced at ingest or sent
	CostStatus    string  // "", "priced" or "no_price" (span.CostStatus)
	UserID        string
	SessionID     string
	InputPreview  string // the first SpanPreviewLength characters
	OutputPreview string
}

// SpanPreviewLength bounds SpanRow previews, in characters.
const SpanPreviewLength = 300

// SpanListQuery selects a page of a project's spans. Pages are keyset ranges
// on (sort key, row id); Cursor is the row id of the first span of the page.
type SpanListQuery struct {
	// Sort is the order: by start time (the zero value), cost or tokens.
	// Sorted by cost or tokens, only the spans with some are listed: a
	// ranking of what a project spends, on an index of those spans alone.
	Sort      SpanSort
	ProjectID int64
	StartTime int64 // span start >= StartTime when set
	EndTime   int64 // span start < EndTime when set
	RootsOnly bool
	Kinds     []string
	ErrorOnly bool
	// Filter is a checked span filter; ranked by cost or tokens, the
	// filtered list keeps the ranking.
	Filter    query.Expr
	Ascending bool
	Cursor    int64
	Limit     int
}

// SpanSort names the orders of the Spans list.
type SpanSort string

const (
	SpanSortStart  SpanSort = ""
	SpanSortCost   SpanSort = "cost"   // cost_total > 0
	SpanSortTokens SpanSort = "tokens" // total_tokens > 0
)

// SummarizeLatencies computes a LatencySummary from latencies (in any order,
// sorted in place) that sample total traces. Percentiles interpolate between
// ranks, as PostgreSQL's percentile_cont does.
func SummarizeLatencies(latencies []int64, total int64) LatencySummary {
	slices.Sort(latencies)
	n := int64(len(latencies))
	return LatencySummary{
		P50:     percentile(latencies, 0.5),
		P99:     percentile(latencies, 0.99),
		Sample:  n,
		Sampled: n < total,
	}
}

func percentile(sorted []int64, p float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	pos := p * float64(len(sorted)-1)
	lo := int(pos)
	if lo+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	frac := pos - float64(lo)
	return sorted[lo] + int64(frac*float64(sorted[lo+1]-sorted[lo]))
}
