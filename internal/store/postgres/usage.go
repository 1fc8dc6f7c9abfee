package postgres

import (
	"math"

	"github.com/jackc/pgx/v5"

	"github.com/loupe-dev/loupe/internal/store/rollup"
)

const usageUpsert = `INSERT INTO usage_rollups AS u (project_id, dimension, key, hour, llm_spans, prompt_tokens,
		completion_tokens, total_tokens, cache_read_tokens, reasoning_tokens, cost_total, unpriced_spans)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
	ON CONFLICT (project_id, dimension, key, hour) DO UPDATE SET
		llm_spans = u.llm_spans + excluded.llm_spans, prompt_tokens = u.prompt_tokens + excluded.prompt_tokens,
		completion_tokens = u.completion_tokens + excluded.completion_tokens, total_tokens = u.total_tokens + excluded.total_tokens,
		cache_read_tokens = u.cache_read_tokens + excluded.cache_read_tokens, reasoning_tokens = u.reasoning_tokens + excluded.reasoning_tokens,
		cost_total = u.cost_total + excluded.cost_total, unpriced_spans = u.unpriced_spans + excluded.unpriced_spans`

// usageEmptied deletes a row a wrapped call left without calls.
const usageEmptied = `DELETE FROM usage_rollups WHERE project_id = $1 AND dimension = $2 AND key = $3 AND hour = $4 AND llm_spans <= 0`

const modelUpsert = `INSERT INTO models AS m (model_name, provider, first_seen, last_seen, span_count, total_tokens, cost_total, unpriced_spans)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
	ON CONFLICT (model_name, provider) DO UPDATE SET
		first_seen = least(m.first_seen, excluded.first_seen), last_seen = greatest(m.last_seen, excluded.last_seen),
		span_count = m.span_count + excluded.span_count, total_tokens = m.total_tokens + excluded.total_tokens,
		cost_total = m.cost_total + excluded.cost_total, unpriced_spans = m.unpriced_spans + excluded.unpriced_spans`

// modelUnseen takes calls away from a model without a new sighting.
const modelUnseen = `UPDATE models SET span_count = span_count + $3, total_tokens = total_tokens + $4,
		cost_total = cost_total + $5, unpriced_spans = unpriced_spans + $6
	WHERE model_name = $1 AND provider = $2`

// queueUsage queues what the batch changes in the hourly usage roll-ups and
// the models seen. These rows are shared by every writer of a project, so
// they are written in key order.
func (w *batchWriter) queueUsage(b *pgx.Batch) {
	sums := w.plan.Sums
	for _, k := range rollup.UsageKeys(sums.Rows) {
		u := sums.Rows[k]
		b.Queue(usageUpsert, k.Project, k.Dimension, k.Key, k.Hour, u.Spans, u.Prompt, u.Completion, u.Total,
			u.CacheRead, u.Reasoning, u.Cost.Total, u.Cost.Unpriced)
		if u.Shrinks() {
			b.Queue(usageEmptied, k.Project, k.Dimension, k.Key, k.Hour)
		}
	}
	for _, k := range rollup.ModelKeys(sums.Models) {
		m := sums.Models[k]
		if m.First == math.MaxInt64 {
			b.Queue(modelUnseen, k.Name, k.Provider, m.Spans, m.Total, m.Cost.Total, m.Cost.Unpriced)
			continue
		}
		b.Queue(modelUpsert, k.Name, k.Provider, m.First, m.Last, m.Spans, m.Total, m.Cost.Total, m.Cost.Unpriced)
	}
}
