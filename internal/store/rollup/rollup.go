// Package rollup works out, the same way for every storage backend, what a
// batch of newly stored spans adds to the cost and usage roll-ups: hourly
// sums per project by model, user and prompt template version, and the
// models seen. Backends only write the sums.
package rollup

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/loupe-dev/loupe/internal/span"
)

// Cost sums the cost of LLM spans. Unpriced counts spans whose model has no
// price: their cost is unknown, not zero.
type Cost struct {
	Total, Prompt, Completion float64
	Unpriced                  int64
}

// Add adds one span's cost.
func (c *Cost) Add(cost *span.Cost) {
	switch cost.Status {
	case span.CostPriced:
		c.Total += cost.Total
		c.Prompt += cost.Prompt
		c.Completion += cost.Completion
	case span.CostNoPrice:
		c.Unpriced++
	}
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

// Usage sums LLM spans' tokens and cost.
type Usage struct {
	Spans                                           int64
	Prompt, Completion, Total, CacheRead, Reasoning int64
	Cost                                            Cost
	First, Last                                     int64 // earliest and latest span start
}

// Add adds one span.
func (u *Usage) Add(sp *span.Span) {
	if u.Spans == 0 || sp.StartTime < u.First {
		u.First = sp.StartTime
	}
	u.Last = max(u.Last, sp.StartTime)
	u.Spans++
	t := sp.View.Tokens
	u.Prompt += t.Prompt
	u.Completion += t.Completion
	u.Total += t.Total
	u.CacheRead += t.CacheRead
	u.Reasoning += t.Reasoning
	u.Cost.Add(&sp.View.Cost)
}

// Trace tells the project of a span's trace (a trace keeps its first
// project) and the user to count the span under when it names none.
type Trace func(sp *span.Span) (project int64, user string)

// Batch sums a batch's LLM spans by roll-up row and by model. clean, when
// set, adjusts the text of keys to what the backend can store.
func Batch(spans []*span.Span, trace Trace, clean func(string) string) (map[UsageKey]*Usage, map[ModelKey]*Usage) {
	if clean == nil {
		clean = func(s string) string { return s }
	}
	rollups := map[UsageKey]*Usage{}
	models := map[ModelKey]*Usage{}
	add := func(m map[UsageKey]*Usage, k UsageKey, sp *span.Span) {
		if k.Key == "" {
			return
		}
		u := m[k]
		if u == nil {
			u = &Usage{}
			m[k] = u
		}
		u.Add(sp)
	}
	for _, sp := range spans {
		if sp.View.Kind != span.KindLLM {
			continue
		}
		project, user := trace(sp)
		if sp.View.UserID != "" {
			user = sp.View.UserID
		}
		hour := sp.StartTime - sp.StartTime%int64(time.Hour)
		add(rollups, UsageKey{project, ByModel, clean(sp.View.ModelName), hour}, sp)
		add(rollups, UsageKey{project, ByUser, clean(user), hour}, sp)
		add(rollups, UsageKey{project, ByPromptVersion, clean(sp.View.PromptTemplate.Version), hour}, sp)
		if sp.View.ModelName != "" {
			k := ModelKey{clean(sp.View.ModelName), clean(sp.View.Provider)}
			u := models[k]
			if u == nil {
				u = &Usage{}
				models[k] = u
			}
			u.Add(sp)
		}
	}
	return rollups, models
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
