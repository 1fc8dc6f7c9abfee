package store

import (
	"context"

	"github.com/loupe-dev/loupe/internal/span"
)

// UsageDimension is what usage is grouped by.
type UsageDimension string

const (
	ByModel         UsageDimension = "model"
	ByUser          UsageDimension = "user"
	ByPromptVersion UsageDimension = "prompt_version"
)

// Usage is the tokens and cost of LLM spans in one group.
type Usage struct {
	Key              string // model name, user id or prompt version
	LLMSpans         int64
	PromptTokens     int64
	CompletionTokens int64
	TotalTokens      int64
	CacheReadTokens  int64
	ReasoningTokens  int64
	Cost             float64
	Unpriced         int64 // LLM spans whose model has no price
}

// UsagePoint is a project's usage in one time bucket.
type UsagePoint struct {
	Start int64 // unix ns
	Usage
}

// ModelUsage is a model seen on LLM spans, across projects.
type ModelUsage struct {
	ModelName   string
	Provider    string
	FirstSeen   int64
	LastSeen    int64
	SpanCount   int64
	TotalTokens int64
	Cost        float64
	Unpriced    int64
}

// RecomputeResult reports a cost recomputation.
type RecomputeResult struct {
	Scanned int64 // LLM spans of the models looked at
	Changed int64 // spans whose cost changed
}

// Coster reads and rewrites costs.
type Coster interface {
	// Usage sums a project's LLM usage in [start, end) by dimension, most
	// expensive first. It reads hourly roll-ups, so bounds round to hours.
	Usage(ctx context.Context, projectID int64, dim UsageDimension, start, end int64) ([]Usage, error)
	// UsageSeries is a project's LLM usage per bucket (a multiple of an hour).
	UsageSeries(ctx context.Context, projectID int64, start, end, bucket int64) ([]UsagePoint, error)
	// Models lists every model seen, most recently used first.
	Models(ctx context.Context) ([]ModelUsage, error)
	// RecomputeCosts prices again the LLM spans of the named models with
	// price (which sets span.View.Cost), moving trace, session and roll-up
	// totals by the difference. It works in bounded transactions, so ingest
	// goes on meanwhile; progress, when set, is called after each one.
	RecomputeCosts(ctx context.Context, models []string, price func(*span.Span), progress func(RecomputeResult)) (RecomputeResult, error)
}
