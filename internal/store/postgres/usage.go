package postgres

import (
	"github.com/jackc/pgx/v5"

	"github.com/loupe-dev/loupe/internal/span"
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
	spans := make([]*span.Span, len(inserted))
	for i, r := range inserted {
		spans[i] = r.span
	}
	rollups, models := rollup.Batch(spans, func(sp *span.Span) (int64, string) {
		t := w.traces[sp.TraceID]
		return t.projectID, t.userID
	}, text)
	for _, k := range rollup.UsageKeys(rollups) {
		u := rollups[k]
		b.Queue(usageUpsert, k.Project, k.Dimension, k.Key, k.Hour, u.Spans, u.Prompt, u.Completion, u.Total,
			u.CacheRead, u.Reasoning, u.Cost.Total, u.Cost.Unpriced)
	}
	for _, k := range rollup.ModelKeys(models) {
		m := models[k]
		b.Queue(modelUpsert, k.Name, k.Provider, m.First, m.Last, m.Spans, m.Total, m.Cost.Total, m.Cost.Unpriced)
	}
}
