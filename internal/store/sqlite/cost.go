package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

const usageColumns = `sum(llm_spans), sum(prompt_tokens), sum(completion_tokens), sum(total_tokens),
	sum(cache_read_tokens), sum(reasoning_tokens), sum(cost_total), sum(unpriced_spans)`

func scanUsage(rows *sql.Rows, dest ...any) (store.Usage, error) {
	var u store.Usage
	err := rows.Scan(append(dest, &u.LLMSpans, &u.PromptTokens, &u.CompletionTokens, &u.TotalTokens,
		&u.CacheReadTokens, &u.ReasoningTokens, &u.Cost, &u.Unpriced)...)
	return u, err
}

func hourFloor(ns int64) int64 { return ns - ns%int64(time.Hour) }

// Usage sums a project's usage by dimension.
func (s *Store) Usage(ctx context.Context, projectID int64, dim store.UsageDimension, start, end int64) ([]store.Usage, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT key, `+usageColumns+` FROM usage_rollups
		WHERE project_id = ? AND dimension = ? AND hour >= ? AND hour < ?
		GROUP BY key ORDER BY sum(cost_total) DESC, sum(total_tokens) DESC, key`, projectID, string(dim), hourFloor(start), end)
	if err != nil {
		return nil, fmt.Errorf("usage by %s: %w", dim, err)
	}
	defer rows.Close()
	var out []store.Usage
	for rows.Next() {
		var key string
		u, err := scanUsage(rows, &key)
		if err != nil {
			return nil, err
		}
		u.Key = key
		out = append(out, u)
	}
	return out, rows.Err()
}

// UsageSeries buckets a project's usage in time.
func (s *Store) UsageSeries(ctx context.Context, projectID int64, start, end, bucket int64) ([]store.UsagePoint, error) {
	if bucket < int64(time.Hour) {
		bucket = int64(time.Hour)
	}
	// Every counted call that names its model is under the model dimension once.
	rows, err := s.read.QueryContext(ctx, `SELECT (hour - ?1) / ?2 * ?2 + ?1 AS b, `+usageColumns+` FROM usage_rollups
		WHERE project_id = ?3 AND dimension = 'model' AND hour >= ?1 AND hour < ?4
		GROUP BY b ORDER BY b`, hourFloor(start), bucket, projectID, end)
	if err != nil {
		return nil, fmt.Errorf("usage series: %w", err)
	}
	defer rows.Close()
	var out []store.UsagePoint
	for rows.Next() {
		var p store.UsagePoint
		u, err := scanUsage(rows, &p.Start)
		if err != nil {
			return nil, err
		}
		p.Usage = u
		out = append(out, p)
	}
	return out, rows.Err()
}

// usageByToolQuery reads, for each of the newest tool calls in range (one
// more than the sample, to tell when it is cut), its name, duration and the
// usage of the model calls counted below it. The walk carries each call's name and
// times and the spans' usage, so the sums are one GROUP BY over it with no
// join back to spans; UNION, not UNION ALL, ends it on a parent cycle a
// client may send. The seed's LIMIT is in a subquery: at the top of a
// recursive CTE, SQLite would apply it to the whole walk.
var usageByToolQuery = `WITH RECURSIVE below(tool, tool_start, name, dur,
		trace_rowid, span_id, state, prompt, completion, total, cache_read, reasoning, cost, cost_status) AS (
		SELECT * FROM (SELECT id, start_time, coalesce(nullif(json_extract(loupe_json(attributes), '$."tool.name"'), ''), name), end_time - start_time,
				trace_rowid, span_id, call_state, prompt_tokens, completion_tokens, total_tokens, cache_read_tokens,
				reasoning_tokens, cost_total, cost_status
			FROM spans WHERE id IN (SELECT id FROM spans INDEXED BY ` + startIndex + `
				WHERE project_id = ?1 AND span_kind = 'TOOL' AND start_time >= ?2 AND start_time < ?3
				AND ` + startBucket("") + ` BETWEEN (?2 >> 30) AND (?3 >> 30)` + startOrder("", "DESC") + ` LIMIT ?4))
		UNION
		SELECT b.tool, b.tool_start, b.name, b.dur, s.trace_rowid, s.span_id, s.call_state, s.prompt_tokens, s.completion_tokens,
			s.total_tokens, s.cache_read_tokens, s.reasoning_tokens, s.cost_total, s.cost_status
		FROM below b JOIN spans s ON s.trace_rowid = b.trace_rowid AND s.parent_id = b.span_id
	)
	SELECT name, dur, count(*) FILTER (WHERE state = 1),
		coalesce(sum(prompt) FILTER (WHERE state = 1), 0), coalesce(sum(completion) FILTER (WHERE state = 1), 0),
		coalesce(sum(total) FILTER (WHERE state = 1), 0), coalesce(sum(cache_read) FILTER (WHERE state = 1), 0),
		coalesce(sum(reasoning) FILTER (WHERE state = 1), 0), coalesce(sum(cost) FILTER (WHERE state = 1), 0),
		count(*) FILTER (WHERE state = 1 AND cost_status = 'no_price')
	FROM below GROUP BY tool, tool_start, name, dur ORDER BY tool_start DESC, tool DESC`

// UsageByTool sums the model calls counted below a project's tool calls.
func (s *Store) UsageByTool(ctx context.Context, projectID int64, start, end int64) ([]store.ToolUsage, bool, error) {
	rows, err := s.read.QueryContext(ctx, usageByToolQuery, projectID, start, end, store.ToolUsageSample+1)
	if err != nil {
		return nil, false, fmt.Errorf("usage by tool: %w", err)
	}
	defer rows.Close()
	var calls []store.ToolCall
	for rows.Next() {
		var c store.ToolCall
		u, err := scanUsage(rows, &c.Name, &c.Duration)
		if err != nil {
			return nil, false, fmt.Errorf("usage by tool: %w", err)
		}
		c.Usage = u
		calls = append(calls, c)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("usage by tool: %w", err)
	}
	sampled := len(calls) > store.ToolUsageSample
	if sampled {
		calls = calls[:store.ToolUsageSample]
	}
	return store.GroupToolCalls(calls), sampled, nil
}

// ToolCallsWithModels reports whether a tool call in range is or holds a
// counted model call, on the index of those calls alone (migration 0019).
func (s *Store) ToolCallsWithModels(ctx context.Context, projectID int64, start, end int64) (bool, error) {
	var found bool
	if err := s.read.QueryRowContext(ctx, toolCallsWithModelsQuery, projectID, start, end).Scan(&found); err != nil {
		return false, fmt.Errorf("tool calls with model calls: %w", err)
	}
	return found, nil
}

const toolCallsWithModelsQuery = `SELECT EXISTS (SELECT 1 FROM spans INDEXED BY spans_tool_model_calls
	WHERE project_id = ? AND span_kind = 'TOOL' AND call_state IS NOT NULL AND start_time >= ? AND start_time < ?)`

// Models lists the models seen on LLM spans.
func (s *Store) Models(ctx context.Context) ([]store.ModelUsage, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT model_name, provider, first_seen, last_seen, span_count, total_tokens, cost_total, unpriced_spans
		FROM models ORDER BY last_seen DESC`)
	if err != nil {
		return nil, fmt.Errorf("list models: %w", err)
	}
	defer rows.Close()
	var out []store.ModelUsage
	for rows.Next() {
		var m store.ModelUsage
		if err := rows.Scan(&m.ModelName, &m.Provider, &m.FirstSeen, &m.LastSeen, &m.SpanCount, &m.TotalTokens, &m.Cost, &m.Unpriced); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// recomputeChunk is how many span row ids one recompute transaction covers.
const recomputeChunk = 5000

// RecomputeCosts prices the named models' spans again, chunk by chunk of row ids.
func (s *Store) RecomputeCosts(ctx context.Context, models []string, price func(*span.Span), progress func(store.RecomputeResult)) (store.RecomputeResult, error) {
	var res store.RecomputeResult
	if len(models) == 0 {
		return res, nil
	}
	var maxID int64
	if err := s.read.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM spans`).Scan(&maxID); err != nil {
		return res, fmt.Errorf("recompute costs: %w", err)
	}
	for lo := int64(0); lo < maxID; lo += recomputeChunk {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		err := s.inWriteTx(ctx, "recompute costs", func(tx *sql.Tx) error {
			return recomputeRange(ctx, tx, lo, lo+recomputeChunk, models, price, &res)
		})
		if err != nil {
			return res, err
		}
		if progress != nil {
			progress(res)
		}
	}
	return res, nil
}

// costChange is one span's cost before and after recomputing.
type costChange struct {
	spanRow, traceRow, projectID, session int64
	start                                 int64
	model, provider, user, version        string
	tokens                                int64
	counted                               bool // in the roll-ups; a wrapper's cost is its own alone
	before, after                         span.Cost
}

func recomputeRange(ctx context.Context, tx *sql.Tx, lo, hi int64, models []string, price func(*span.Span), res *store.RecomputeResult) error {
	args := []any{lo, hi}
	for _, m := range models {
		args = append(args, m)
	}
	rows, err := tx.QueryContext(ctx, `SELECT s.id, s.trace_rowid, s.project_id, coalesce(t.session_rowid, 0), s.start_time,
			s.span_kind, coalesce(s.call_state, 0) = 1, s.model_name, coalesce(s.provider, ''), coalesce(s.user_id, t.user_id, ''),
			coalesce(json_extract(loupe_json(s.attributes), '$."llm.prompt_template.version"'), ''),
			coalesce(s.prompt_tokens, 0), coalesce(s.completion_tokens, 0), coalesce(s.total_tokens, 0),
			coalesce(s.cache_read_tokens, 0), coalesce(s.cache_write_tokens, 0), coalesce(s.reasoning_tokens, 0),
			CASE WHEN instr(loupe_json(s.attributes), '"llm.cost.') > 0 THEN loupe_json(s.attributes) ELSE '' END,
			coalesce(s.cost_status, ''), coalesce(s.cost_total, 0), coalesce(s.cost_prompt, 0), coalesce(s.cost_completion, 0)
		FROM spans s JOIN traces t ON t.id = s.trace_rowid
		WHERE s.id >= ? AND s.id < ? AND s.span_kind IN ('LLM', 'EMBEDDING') AND s.model_name IN (`+placeholders(len(models))+`)`, args...)
	if err != nil {
		return fmt.Errorf("read spans to reprice: %w", err)
	}
	var changes []costChange
	for rows.Next() {
		var c costChange
		var attrs, kind string
		sp := span.Span{}
		v := &sp.View
		if err := rows.Scan(&c.spanRow, &c.traceRow, &c.projectID, &c.session, &c.start, &kind, &c.counted, &c.model, &c.provider, &c.user, &c.version,
			&v.Tokens.Prompt, &v.Tokens.Completion, &v.Tokens.Total, &v.Tokens.CacheRead, &v.Tokens.CacheWrite, &v.Tokens.Reasoning,
			&attrs, &c.before.Status, &c.before.Total, &c.before.Prompt, &c.before.Completion); err != nil {
			rows.Close()
			return err
		}
		v.Kind, v.ModelName, v.Provider = span.Kind(kind), c.model, c.provider
		if attrs != "" {
			sp.Attributes = clientCostAttributes(attrs)
		}
		price(&sp)
		res.Scanned++
		c.after = v.Cost
		c.tokens = v.Tokens.Total
		if c.after.Status != c.before.Status || c.after.Total != c.before.Total ||
			c.after.Prompt != c.before.Prompt || c.after.Completion != c.before.Completion {
			changes = append(changes, c)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, c := range changes {
		if err := applyCostChange(ctx, tx, c); err != nil {
			return err
		}
		res.Changed++
	}
	return nil
}

// clientCostAttributes reads the llm.cost.* attributes out of a stored
// attribute object; other attributes do not affect a span's price.
func clientCostAttributes(attrs string) span.Attributes {
	var m map[string]json.RawMessage
	if json.Unmarshal([]byte(attrs), &m) != nil {
		return nil
	}
	var out span.Attributes
	for k, raw := range m {
		if !strings.HasPrefix(k, "llm.cost.") {
			continue
		}
		var f float64
		if json.Unmarshal(raw, &f) == nil {
			out = append(out, span.Attr{Key: k, Value: span.DoubleValue(f)})
		}
	}
	return out
}

func unpriced(c span.Cost) int64 {
	if c.Status == span.CostNoPrice {
		return 1
	}
	return 0
}

func applyCostChange(ctx context.Context, tx *sql.Tx, c costChange) error {
	a := c.after
	var status, details, source, entry any
	var total, prompt, completion any
	if a.Status != span.CostNone {
		status = string(a.Status)
	}
	if a.Status == span.CostPriced {
		total, prompt, completion = a.Total, a.Prompt, a.Completion
		details, source, entry = nullString(a.Details), nullString(a.Source), nullString(a.Entry)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE spans SET cost_status = ?, cost_total = ?, cost_prompt = ?, cost_completion = ?,
			cost_details = ?, cost_source = ?, cost_entry = ? WHERE id = ?`,
		status, total, prompt, completion, details, source, entry, c.spanRow); err != nil {
		return fmt.Errorf("update span cost: %w", err)
	}
	if a.Status == span.CostPriced {
		// The span's minute may hold a dearer span now (migration 0023).
		if _, err := tx.ExecContext(ctx, `UPDATE span_minutes SET max_cost = max(max_cost, ?)
				WHERE project_id = ? AND minute = ?`, a.Total, c.projectID, floorMinute(c.start)); err != nil {
			return fmt.Errorf("update span minute cost: %w", err)
		}
	}
	if !c.counted {
		return nil
	}
	dTotal := a.Total - c.before.Total
	dPrompt := a.Prompt - c.before.Prompt
	dCompletion := a.Completion - c.before.Completion
	dUnpriced := unpriced(a) - unpriced(c.before)
	if _, err := tx.ExecContext(ctx, `UPDATE traces SET cost_total = cost_total + ?, cost_prompt = cost_prompt + ?,
			cost_completion = cost_completion + ?, unpriced_spans = unpriced_spans + ? WHERE id = ?`,
		dTotal, dPrompt, dCompletion, dUnpriced, c.traceRow); err != nil {
		return fmt.Errorf("update trace cost: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE trace_minutes SET cost_total = cost_total + ?, unpriced_spans = unpriced_spans + ?
			FROM (SELECT project_id AS p, start_time - ((start_time % ?3) + ?3) % ?3 AS m FROM traces WHERE id = ?4) AS t
			WHERE project_id = t.p AND minute = t.m`, dTotal, dUnpriced, minuteNs, c.traceRow); err != nil {
		return fmt.Errorf("update trace minute cost: %w", err)
	}
	if c.session != 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE sessions SET cost_total = cost_total + ?, unpriced_spans = unpriced_spans + ? WHERE id = ?`,
			dTotal, dUnpriced, c.session); err != nil {
			return fmt.Errorf("update session cost: %w", err)
		}
	}
	hour := hourFloor(c.start)
	for _, k := range [][2]string{{"model", c.model}, {"user", c.user}, {"prompt_version", c.version}} {
		if k[1] == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE usage_rollups SET cost_total = cost_total + ?, unpriced_spans = unpriced_spans + ?
				WHERE project_id = ? AND dimension = ? AND key = ? AND hour = ?`, dTotal, dUnpriced, c.projectID, k[0], k[1], hour); err != nil {
			return fmt.Errorf("update usage roll-up: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE models SET cost_total = cost_total + ?, unpriced_spans = unpriced_spans + ?
			WHERE model_name = ? AND provider = ?`, dTotal, dUnpriced, c.model, c.provider); err != nil {
		return fmt.Errorf("update model cost: %w", err)
	}
	return nil
}
