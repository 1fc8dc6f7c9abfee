package sqlite

import (
	"fmt"
	"math"

	"github.com/loupe-dev/loupe/internal/store/rollup"
)

// storeUsage moves the hourly usage roll-ups and the models seen by what
// the batch changed in them; a row a wrapped call leaves empty is deleted.
func (w *batchWriter) storeUsage() error {
	sums := w.plan.Sums
	for _, k := range rollup.UsageKeys(sums.Rows) {
		u := sums.Rows[k]
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
		if u.Shrinks() {
			if err := w.exec(`DELETE FROM usage_rollups WHERE project_id = ? AND dimension = ? AND key = ? AND hour = ? AND llm_spans <= 0`,
				k.Project, k.Dimension, k.Key, k.Hour); err != nil {
				return fmt.Errorf("update usage roll-up: %w", err)
			}
		}
	}
	for _, k := range rollup.ModelKeys(sums.Models) {
		u := sums.Models[k]
		if u.First == math.MaxInt64 {
			// Calls taken away, none seen: the model's row is there.
			err := w.exec(`UPDATE models SET span_count = span_count + ?, total_tokens = total_tokens + ?,
					cost_total = cost_total + ?, unpriced_spans = unpriced_spans + ?
				WHERE model_name = ? AND provider = ?`, u.Spans, u.Total, u.Cost.Total, u.Cost.Unpriced, k.Name, k.Provider)
			if err != nil {
				return fmt.Errorf("update model %q: %w", k.Name, err)
			}
			continue
		}
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
