package sqlite

import (
	"fmt"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store/rollup"
)

// storeUsage adds this batch's LLM spans to the hourly usage roll-ups and
// the models seen.
func (w *batchWriter) storeUsage(inserted []*span.Span, traces map[string]*traceState) error {
	rollups, models := rollup.Batch(inserted, func(sp *span.Span) (int64, string) {
		t := traces[sp.TraceID]
		return t.projectID, t.batch.userID.String
	}, nil)
	for _, k := range rollup.UsageKeys(rollups) {
		u := rollups[k]
		err := w.exec(`INSERT INTO usage_rollups (project_id, dimension, key, hour, llm_spans, prompt_tokens, completion_tokens,
				total_tokens, cache_read_tokens, reasoning_tokens, cost_total, unpriced_spans)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (project_id, dimension, key, hour) DO UPDATE SET
				llm_spans = llm_spans + excluded.llm_spans, prompt_tokens = prompt_tokens + excluded.prompt_tokens,
				completion_tokens = completion_tokens + excluded.completion_tokens, total_tokens = total_tokens + excluded.total_tokens,
				cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens, reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens,
				cost_total = cost_total + excluded.cost_total, unpriced_spans = unpriced_spans + excluded.unpriced_spans`,
			k.Project, k.Dimension, k.Key, k.Hour, u.Spans, u.Prompt, u.Completion, u.Total, u.CacheRead, u.Reasoning, u.Cost.Total, u.Cost.Unpriced)
		if err != nil {
			return fmt.Errorf("update usage roll-up: %w", err)
		}
	}
	for _, k := range rollup.ModelKeys(models) {
		u := models[k]
		err := w.exec(`INSERT INTO models (model_name, provider, first_seen, last_seen, span_count, total_tokens, cost_total, unpriced_spans)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (model_name, provider) DO UPDATE SET
				first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen),
				span_count = span_count + excluded.span_count, total_tokens = total_tokens + excluded.total_tokens,
				cost_total = cost_total + excluded.cost_total, unpriced_spans = unpriced_spans + excluded.unpriced_spans`,
			k.Name, k.Provider, u.First, u.Last, u.Spans, u.Total, u.Cost.Total, u.Cost.Unpriced)
		if err != nil {
			return fmt.Errorf("update model %q: %w", k.Name, err)
		}
	}
	return nil
}
