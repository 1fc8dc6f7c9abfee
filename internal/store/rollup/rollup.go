// Package rollup works out, the same way for every storage backend, what a
// batch of newly stored spans changes in the roll-ups: its traces' counts,
// time range, user and root, and their sessions (Trace); the cost and usage
// sums of traces and sessions, the hourly sums per project by model, user
// and prompt template version, and the models seen (Plan). Backends read
// and write; the rules are here.
//
// # Each model call counted once
//
// A model call is an LLM or EMBEDDING span that reports tokens or a cost
// (IsCall). One request to a model often makes several such spans: litellm's
// instrumentation records the call it was asked for, with its own cost, and
// the OpenAI instrumentation records the request litellm then makes, inside
// it; a framework's LLM span wraps the SDK's span the same way. So:
//
//	A model call with another model call anywhere below it is a wrapper: its
//	usage is not counted. The calls with none below them are counted.
//
// Every span keeps its own tokens and cost; only the sums leave wrappers out.
// Spans between a wrapper and its call (a CHAIN, a retry loop) do not matter;
// a wrapper of two calls (a retry, a fallback) counts both calls and not
// itself; a call with tokens but without a price is counted as unpriced even
// when its wrapper has a cost, since the cost of what was counted is not
// known; a wrapper whose calls below report no usage is not a wrapper, as
// those spans are not model calls.
//
// Spans of a trace arrive in any order and in any batches, and the sums end
// the same. Each stored span keeps a State: counted, wrapper, or, for the
// other spans, whether a model call is known below it. A new span learns
// from its stored children whether a call is below it; a new call, or a new
// span with a call below it, walks up through its ancestors, marking them,
// until it meets a span already marked, a span not stored yet (which will
// learn from its children when it comes), or the root; a counted call met on
// the way becomes a wrapper and its usage leaves the sums. Marks only ever
// grow, so a span is walked through at most once.
// A parent cycle, which no instrumentation sends, ends the walks; a call in
// one is below itself, and may be left uncounted.
//
// A call is counted under its own user.id, else under its trace's user (the
// first user.id stored on the trace); calls counted before their trace had
// a user move to it when it gets one.
package rollup

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/loupe-dev/loupe/internal/span"
)

// IsCall reports whether sp is a model call: an LLM or embedding span that
// reports tokens or a cost.
func IsCall(sp *span.Span) bool {
	v := &sp.View
	return (v.Kind == span.KindLLM || v.Kind == span.KindEmbedding) &&
		(v.Tokens.Total > 0 || v.Cost.Status != span.CostNone)
}

// Cost sums the cost of model calls. Unpriced counts calls whose model has
// no price: their cost is unknown, not zero.
type Cost struct {
	Total, Prompt, Completion float64
	Unpriced                  int64
}

// Add adds one call's cost, or takes it away when sign is -1.
func (c *Cost) Add(cost *span.Cost, sign int64) {
	switch cost.Status {
	case span.CostPriced:
		f := float64(sign)
		c.Total += f * cost.Total
		c.Prompt += f * cost.Prompt
		c.Completion += f * cost.Completion
	case span.CostNoPrice:
		c.Unpriced += sign
	}
}

// Merge adds o.
func (c *Cost) Merge(o Cost) {
	c.Total += o.Total
	c.Prompt += o.Prompt
	c.Completion += o.Completion
	c.Unpriced += o.Unpriced
}

// Delta is what a batch changes in one trace's token and cost sums.
type Delta struct {
	Tokens span.TokenCounts
	Cost   Cost
}

// Add adds one call, or takes it away when sign is -1.
func (d *Delta) Add(sp *span.Span, sign int64) {
	t := sp.View.Tokens
	d.Tokens.Prompt += sign * t.Prompt
	d.Tokens.Completion += sign * t.Completion
	d.Tokens.Total += sign * t.Total
	d.Tokens.CacheRead += sign * t.CacheRead
	d.Tokens.CacheWrite += sign * t.CacheWrite
	d.Tokens.Reasoning += sign * t.Reasoning
	d.Tokens.AudioPrompt += sign * t.AudioPrompt
	d.Tokens.AudioCompletion += sign * t.AudioCompletion
	d.Cost.Add(&sp.View.Cost, sign)
}

// Dimensions of the usage roll-ups.
const (
	ByModel         = "model"
	ByUser          = "user"
	ByPromptVersion = "prompt_version"
)

// UsageKey names one row of the usage roll-ups.
type UsageKey struct {
	Project   int64
	Dimension string
	Key       string
	Hour      int64 // unix ns at the start of the hour
}

// ModelKey names one model seen.
type ModelKey struct{ Name, Provider string }

// Usage sums model calls' tokens and cost. Sums of a batch may be
// negative, when calls counted before become wrappers.
type Usage struct {
	Spans                                           int64
	Prompt, Completion, Total, CacheRead, Reasoning int64
	Cost                                            Cost
	// First and Last are the earliest and latest start of a call or wrapper
	// seen; math.MaxInt64 and math.MinInt64 when none was, so that they
	// leave a stored row's as they are.
	First, Last int64
}

func newUsage() *Usage { return &Usage{First: math.MaxInt64, Last: math.MinInt64} }

// Add adds one call, or takes it away when sign is -1.
func (u *Usage) Add(sp *span.Span, sign int64) {
	if sign > 0 {
		u.seen(sp)
	}
	u.Spans += sign
	t := sp.View.Tokens
	u.Prompt += sign * t.Prompt
	u.Completion += sign * t.Completion
	u.Total += sign * t.Total
	u.CacheRead += sign * t.CacheRead
	u.Reasoning += sign * t.Reasoning
	u.Cost.Add(&sp.View.Cost, sign)
}

func (u *Usage) seen(sp *span.Span) {
	u.First = min(u.First, sp.StartTime)
	u.Last = max(u.Last, sp.StartTime)
}

// Shrinks reports whether the sums take calls away: the row may be left
// empty.
func (u *Usage) Shrinks() bool { return u.Spans < 0 }

// Sums are what a batch changes in the usage roll-ups and the models seen.
type Sums struct {
	Rows   map[UsageKey]*Usage
	Models map[ModelKey]*Usage
	clean  func(string) string
}

// NewSums returns empty sums. clean, when set, adjusts the text of keys to
// what the backend can store.
func NewSums(clean func(string) string) *Sums {
	if clean == nil {
		clean = func(s string) string { return s }
	}
	return &Sums{Rows: map[UsageKey]*Usage{}, Models: map[ModelKey]*Usage{}, clean: clean}
}

func hourOf(ns int64) int64 { return ns - ns%int64(time.Hour) }

func (s *Sums) row(k UsageKey) *Usage {
	u := s.Rows[k]
	if u == nil {
		u = newUsage()
		s.Rows[k] = u
	}
	return u
}

func (s *Sums) model(sp *span.Span) *Usage {
	k := ModelKey{s.clean(sp.View.ModelName), s.clean(sp.View.Provider)}
	u := s.Models[k]
	if u == nil {
		u = newUsage()
		s.Models[k] = u
	}
	return u
}

// Add counts a call of project under its model, user and prompt version, or
// takes it away when sign is -1. user is the call's user.id, else its
// trace's user.
func (s *Sums) Add(sp *span.Span, project int64, user string, sign int64) {
	hour := hourOf(sp.StartTime)
	for _, k := range [...]UsageKey{
		{project, ByModel, s.clean(sp.View.ModelName), hour},
		{project, ByUser, s.clean(user), hour},
		{project, ByPromptVersion, s.clean(sp.View.PromptTemplate.Version), hour},
	} {
		if k.Key != "" {
			s.row(k).Add(sp, sign)
		}
	}
	if sp.View.ModelName != "" {
		s.model(sp).Add(sp, sign)
	}
}

// AddUser counts a call under user alone: a call counted before its trace
// had a user, and so under none.
func (s *Sums) AddUser(sp *span.Span, project int64, user string) {
	if user = s.clean(user); user != "" {
		s.row(UsageKey{project, ByUser, user, hourOf(sp.StartTime)}).Add(sp, 1)
	}
}

// Seen records the model of a wrapper as seen, without usage: the models
// seen are the ones whose prices matter to the spans' own costs.
func (s *Sums) Seen(sp *span.Span) {
	if sp.View.ModelName != "" {
		s.model(sp).seen(sp)
	}
}

// UsageKeys returns the keys in a fixed order, so that concurrent writers
// lock shared rows in the same order.
func UsageKeys(m map[UsageKey]*Usage) []UsageKey {
	return slices.SortedFunc(maps.Keys(m), func(x, y UsageKey) int {
		return cmp.Or(cmp.Compare(x.Project, y.Project), cmp.Compare(x.Dimension, y.Dimension),
			cmp.Compare(x.Key, y.Key), cmp.Compare(x.Hour, y.Hour))
	})
}

// ModelKeys returns the keys in a fixed order.
func ModelKeys(m map[ModelKey]*Usage) []ModelKey {
	return slices.SortedFunc(maps.Keys(m), func(x, y ModelKey) int {
		return cmp.Or(cmp.Compare(x.Name, y.Name), cmp.Compare(x.Provider, y.Provider))
	})
}
