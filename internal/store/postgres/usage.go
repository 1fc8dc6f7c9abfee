package postgres

import (
	"cmp"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

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
	first, last                                  int64 // span start times, for models
}

func (u *usageSums) add(sp *span.Span) {
	if u.spans == 0 || sp.StartTime < u.first {
		u.first = sp.StartTime
	}
	u.last = max(u.last, sp.StartTime)
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

const usageUpsert = `INSERT INTO usage_rollups AS u (project_id, dimension, key, hour, llm_spans, prompt_tokens,
		completion_tokens, total_tokens, cache_read_tokens, reasoning_tokens, cost_total, unpriced_spans)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
	ON CONFLICT (project_id, dimension, key, hour) DO UPDATE SET
		llm_spans = u.llm_spans + excluded.llm_spans, prompt_tokens = u.prompt_tokens + excluded.prompt_tokens,
		completion_tokens = u.completion_tokens + excluded.completion_tokens, total_tokens = u.total_tokens + excluded.total_tokens,
		cache_read_tokens = u.cache_read_tokens + excluded.cache_read_tokens, reasoning_tokens = u.reasoning_tokens + excluded.reasoning_tokens,
		cost_total = u.cost_total + excluded.cost_total, unpriced_spans = u.unpriced_spans + excluded.unpriced_spans`

const modelUpsert = `INSERT INTO models AS m (model_name, provider, first_seen, last_seen, span_count, total_tokens, cost_total, unpriced_spans)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
	ON CONFLICT (model_name, provider) DO UPDATE SET
		first_seen = least(m.first_seen, excluded.first_seen), last_seen = greatest(m.last_seen, excluded.last_seen),
		span_count = m.span_count + excluded.span_count, total_tokens = m.total_tokens + excluded.total_tokens,
		cost_total = m.cost_total + excluded.cost_total, unpriced_spans = m.unpriced_spans + excluded.unpriced_spans`

// queueUsage queues the batch's LLM spans' additions to the hourly usage
// roll-ups and to the models seen. These rows are shared by every writer of
// a project, so they are upserted in key order.
func (w *batchWriter) queueUsage(b *pgx.Batch, inserted []insertedSpan) {
	rollups := map[usageKey]*usageSums{}
	models := map[modelKey]*usageSums{}
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
	for _, r := range inserted {
		sp := r.span
		if sp.View.Kind != span.KindLLM {
			continue
		}
		t := w.traces[sp.TraceID]
		hour := sp.StartTime - sp.StartTime%int64(time.Hour)
		user := sp.View.UserID
		if user == "" {
			user = t.userID
		}
		bump(usageKey{t.projectID, "model", text(sp.View.ModelName), hour}, sp)
		bump(usageKey{t.projectID, "user", text(user), hour}, sp)
		bump(usageKey{t.projectID, "prompt_version", text(sp.View.PromptTemplate.Version), hour}, sp)
		if sp.View.ModelName != "" {
			mk := modelKey{text(sp.View.ModelName), text(sp.View.Provider)}
			m := models[mk]
			if m == nil {
				m = &usageSums{}
				models[mk] = m
			}
			m.add(sp)
		}
	}
	keys := make([]usageKey, 0, len(rollups))
	for k := range rollups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y usageKey) int {
		return cmp.Or(cmp.Compare(x.project, y.project), cmp.Compare(x.dimension, y.dimension),
			cmp.Compare(x.key, y.key), cmp.Compare(x.hour, y.hour))
	})
	for _, k := range keys {
		u := rollups[k]
		b.Queue(usageUpsert, k.project, k.dimension, k.key, k.hour, u.spans, u.prompt, u.completion, u.total,
			u.cacheRead, u.reason, u.cost.total, u.cost.unpriced)
	}
	mkeys := make([]modelKey, 0, len(models))
	for k := range models {
		mkeys = append(mkeys, k)
	}
	slices.SortFunc(mkeys, func(x, y modelKey) int {
		return cmp.Or(cmp.Compare(x.name, y.name), cmp.Compare(x.provider, y.provider))
	})
	for _, k := range mkeys {
		m := models[k]
		b.Queue(modelUpsert, k.name, k.provider, m.first, m.last, m.spans, m.total, m.cost.total, m.cost.unpriced)
	}
}
