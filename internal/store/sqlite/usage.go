package sqlite

import (
	"fmt"
	"time"

	"github.com/loupe-dev/loupe/internal/span"
)

// costSums accumulates the cost of LLM spans.
type costSums struct {
	total, prompt, completion float64
	unpriced                  int64
}

func (c *costSums) add(cost *span.Cost) {
	switch cost.Status {
	case span.CostPriced:
		c.total += cost.Total
		c.prompt += cost.Prompt
		c.completion += cost.Completion
	case span.CostNoPrice:
		c.unpriced++
	}
}

// usageKey names one row of usage_rollups.
type usageKey struct {
	project   int64
	dimension string
	key       string
	hour      int64
}

type usageSums struct {
	spans                                        int64
	prompt, completion, total, cacheRead, reason int64
	cost                                         costSums
}

func (u *usageSums) add(sp *span.Span) {
	u.spans++
	t := sp.View.Tokens
	u.prompt += t.Prompt
	u.completion += t.Completion
	u.total += t.Total
	u.cacheRead += t.CacheRead
	u.reason += t.Reasoning
	u.cost.add(&sp.View.Cost)
}

type modelKey struct{ name, provider string }

// storeUsage adds this batch's LLM spans to the hourly usage roll-ups and
// the models seen.
func (w *batchWriter) storeUsage(inserted []*span.Span, traces map[string]*traceState) error {
	rollups := map[usageKey]*usageSums{}
	models := map[modelKey]*usageSums{}
	firstSeen := map[modelKey]int64{}
	lastSeen := map[modelKey]int64{}
	bump := func(k usageKey, sp *span.Span) {
		if k.key == "" {
			return
		}
		u := rollups[k]
		if u == nil {
			u = &usageSums{}
			rollups[k] = u
		}
		u.add(sp)
	}
	for _, sp := range inserted {
		if sp.View.Kind != span.KindLLM {
			continue
		}
		t := traces[sp.TraceID]
		hour := sp.StartTime - sp.StartTime%int64(time.Hour)
		user := sp.View.UserID
		if user == "" {
			user = t.userID
		}
		bump(usageKey{t.projectID, "model", sp.View.ModelName, hour}, sp)
		bump(usageKey{t.projectID, "user", user, hour}, sp)
		bump(usageKey{t.projectID, "prompt_version", sp.View.PromptTemplate.Version, hour}, sp)
		if sp.View.ModelName != "" {
			mk := modelKey{sp.View.ModelName, sp.View.Provider}
			m := models[mk]
			if m == nil {
				m = &usageSums{}
				models[mk] = m
			}
			m.add(sp)
			lastSeen[mk] = max(lastSeen[mk], sp.StartTime)
			if f, ok := firstSeen[mk]; !ok || sp.StartTime < f {
				firstSeen[mk] = sp.StartTime
			}
		}
	}
	for k, u := range rollups {
		err := w.exec(`INSERT INTO usage_rollups (project_id, dimension, key, hour, llm_spans, prompt_tokens, completion_tokens,
				total_tokens, cache_read_tokens, reasoning_tokens, cost_total, unpriced_spans)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (project_id, dimension, key, hour) DO UPDATE SET
				llm_spans = llm_spans + excluded.llm_spans, prompt_tokens = prompt_tokens + excluded.prompt_tokens,
				completion_tokens = completion_tokens + excluded.completion_tokens, total_tokens = total_tokens + excluded.total_tokens,
				cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens, reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens,
				cost_total = cost_total + excluded.cost_total, unpriced_spans = unpriced_spans + excluded.unpriced_spans`,
			k.project, k.dimension, k.key, k.hour, u.spans, u.prompt, u.completion, u.total, u.cacheRead, u.reason, u.cost.total, u.cost.unpriced)
		if err != nil {
			return fmt.Errorf("update usage roll-up: %w", err)
		}
	}
	for k, u := range models {
		err := w.exec(`INSERT INTO models (model_name, provider, first_seen, last_seen, span_count, total_tokens, cost_total, unpriced_spans)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (model_name, provider) DO UPDATE SET
				first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen),
				span_count = span_count + excluded.span_count, total_tokens = total_tokens + excluded.total_tokens,
				cost_total = cost_total + excluded.cost_total, unpriced_spans = unpriced_spans + excluded.unpriced_spans`,
			k.name, k.provider, firstSeen[k], lastSeen[k], u.spans, u.total, u.cost.total, u.cost.unpriced)
		if err != nil {
			return fmt.Errorf("update model %q: %w", k.name, err)
		}
	}
	return nil
}
