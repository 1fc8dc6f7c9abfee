package store

import (
	"cmp"
	"context"
	"slices"

	"github.com/loupe-dev/loupe/internal/span"
)

// UsageDimension is what usage is grouped by.
type UsageDimension string

const (
	ByModel         UsageDimension = "model"
	ByUser          UsageDimension = "user"
	ByPromptVersion UsageDimension = "prompt_version"
	// ByTool has no roll-up: see Coster.UsageByTool.
	ByTool UsageDimension = "tool"
)

// Usage is the tokens and cost of model calls in one group: the LLM and
// embedding spans counted by package rollup's rule, each call once.
type Usage struct {
	Key              string // model name, user id or prompt version
	LLMSpans         int64  // counted calls
	PromptTokens     int64
	CompletionTokens int64
	TotalTokens      int64
	CacheReadTokens  int64
	ReasoningTokens  int64
	Cost             float64
	Unpriced         int64 // calls whose model has no price
}

// ToolUsageSample caps the tool calls UsageByTool reads: the newest in
// range stand for all, so a busy month costs no more than a busy hour.
const ToolUsageSample = 20_000

// ToolUsage is the usage of the model calls inside the calls of one tool.
// Calls under nested tool calls count for each enclosing tool, so the rows of
// a project may sum to more than its usage.
type ToolUsage struct {
	Usage            // Key is the tool name
	Calls      int64 // TOOL spans of this name
	LatencyP50 int64 // ns
}

// ToolCall is one TOOL span with the usage of the model calls counted below
// it, as backends read it before GroupToolCalls.
type ToolCall struct {
	Name     string
	Duration int64 // ns
	Usage    Usage
}

// GroupToolCalls sums calls by tool name, most expensive first.
func GroupToolCalls(calls []ToolCall) []ToolUsage {
	byName := map[string]*ToolUsage{}
	latencies := map[string][]int64{}
	var out []ToolUsage
	for _, c := range calls {
		t := byName[c.Name]
		if t == nil {
			t = &ToolUsage{Usage: Usage{Key: c.Name}}
			byName[c.Name] = t
		}
		t.Calls++
		t.LLMSpans += c.Usage.LLMSpans
		t.PromptTokens += c.Usage.PromptTokens
		t.CompletionTokens += c.Usage.CompletionTokens
		t.TotalTokens += c.Usage.TotalTokens
		t.CacheReadTokens += c.Usage.CacheReadTokens
		t.ReasoningTokens += c.Usage.ReasoningTokens
		t.Cost += c.Usage.Cost
		t.Unpriced += c.Usage.Unpriced
		latencies[c.Name] = append(latencies[c.Name], c.Duration)
	}
	for name, t := range byName {
		lat := latencies[name]
		slices.Sort(lat)
		t.LatencyP50 = percentile(lat, 0.5)
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b ToolUsage) int {
		return cmp.Or(cmp.Compare(b.Cost, a.Cost), cmp.Compare(b.TotalTokens, a.TotalTokens),
			cmp.Compare(b.Calls, a.Calls), cmp.Compare(a.Key, b.Key))
	})
	return out
}

// UsagePoint is a project's usage in one time bucket.
type UsagePoint struct {
	Start int64 // unix ns
	Usage
}

// ModelUsage is a model seen on model calls, across projects, wrappers
// included: SpanCount, TotalTokens, Cost and Unpriced are over the calls
// counted under it, so a model seen only on wrappers has none.
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

// CountedCall is a model call counted below a wrapper span.
type CountedCall struct {
	SpanID, Name, ModelName string
	Depth                   int // 1 for a child of the wrapper
}

// CountedBelowDepth bounds how far below a wrapper CountedBelow looks.
const CountedBelowDepth = 64

// RecomputeResult reports a cost recomputation.
type RecomputeResult struct {
	Scanned int64 // model calls of the models looked at
	Changed int64 // spans whose cost changed
}

// Coster reads and rewrites costs.
type Coster interface {
	// Usage sums a project's model calls in [start, end) by dimension, most
	// expensive first. It reads hourly roll-ups, so bounds round to hours.
	Usage(ctx context.Context, projectID int64, dim UsageDimension, start, end int64) ([]Usage, error)
	// UsageSeries is a project's model calls per bucket (a multiple of an hour).
	UsageSeries(ctx context.Context, projectID int64, start, end, bucket int64) ([]UsagePoint, error)
	// UsageByTool sums the usage inside a project's tool calls that started
	// in [start, end): the counted model calls below each TOOL span, by tool
	// name (tool.name, else the span name). Children are often stored
	// before their parents, so this is read from the spans, not rolled up;
	// sampled reports that only the newest ToolUsageSample calls were read.
	UsageByTool(ctx context.Context, projectID int64, start, end int64) (tools []ToolUsage, sampled bool, err error)
	// ToolCallsWithModels reports whether a tool call of the project that
	// started in [start, end) is or holds a counted model call: when none
	// does, every tool UsageByTool lists has no model usage.
	ToolCallsWithModels(ctx context.Context, projectID int64, start, end int64) (bool, error)
	// Models lists every model seen, most recently used first.
	Models(ctx context.Context) ([]ModelUsage, error)
	// CountedBelow lists where the call of a wrapper span (by row id) is
	// counted: the counted calls below it, nearest first, at most limit,
	// no deeper than CountedBelowDepth.
	CountedBelow(ctx context.Context, spanRowID int64, limit int) ([]CountedCall, error)
	// RecomputeCosts prices again the LLM and embedding spans of the named
	// models with price (which sets span.View.Cost), moving trace, session
	// and roll-up totals by the difference for the counted calls (a
	// wrapper's own cost changes alone). It works in bounded transactions,
	// so ingest goes on meanwhile; progress, when set, is called after each
	// one.
	RecomputeCosts(ctx context.Context, models []string, price func(*span.Span), progress func(RecomputeResult)) (RecomputeResult, error)
}
