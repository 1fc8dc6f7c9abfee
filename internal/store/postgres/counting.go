package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/rollup"
)

// planRollups finds which of the batch's spans are new, adds them to their
// traces in the order they were sent, then works out what they change in
// the roll-ups (package rollup), reading the stored spans it depends on.
// The traces are locked, so what it reads stays true until the commit.
func (w *batchWriter) planRollups(ctx context.Context) error {
	stored, err := w.storedSpans(ctx)
	if err != nil {
		return err
	}
	w.fresh = w.fresh[:0]
	for _, sp := range w.b.spans {
		if !stored[rollup.KeyOf(sp)] {
			w.fresh = append(w.fresh, sp)
		}
	}
	for _, sp := range w.fresh {
		w.traces[sp.TraceID].batch.Add(sp)
	}
	info := func(traceID string) rollup.TraceInfo {
		t := w.traces[traceID]
		ti := rollup.TraceInfo{Project: t.projectID, Fresh: !t.hadSpans, UserBefore: t.oldUser, User: t.oldUser}
		if ti.User == "" {
			ti.User = t.batch.UserID
		}
		return ti
	}
	if w.plan, err = rollup.NewPlan(w.fresh, info, &storedTree{ctx: ctx, w: w}, text); err != nil {
		return fmt.Errorf("count model calls: %w", err)
	}
	for id, d := range w.plan.Traces {
		w.traces[id].batch.Calls = *d
	}
	return nil
}

// storedSpans finds the spans of the batch stored before it, in the traces
// that had spans.
func (w *batchWriter) storedSpans(ctx context.Context) (map[rollup.Key]bool, error) {
	var keys []rollup.Key
	for _, sp := range w.b.spans {
		if w.traces[sp.TraceID].hadSpans {
			keys = append(keys, rollup.KeyOf(sp))
		}
	}
	out := map[rollup.Key]bool{}
	if len(keys) == 0 {
		return out, nil
	}
	r := &storedTree{ctx: ctx, w: w}
	traceRows, spanIDs := r.pairs(keys)
	rows, err := w.tx.Query(ctx, `SELECT s.trace_rowid, s.span_id FROM unnest($1::bigint[], $2::text[]) AS b(t, id)
		JOIN spans s ON s.trace_rowid = b.t AND s.span_id = b.id`, traceRows, spanIDs)
	if err != nil {
		return nil, fmt.Errorf("find spans stored before: %w", err)
	}
	byRowID := r.rowIDs()
	var traceRowID int64
	var spanID string
	_, err = pgx.ForEachRow(rows, []any{&traceRowID, &spanID}, func() error {
		out[rollup.Key{TraceID: byRowID[traceRowID], SpanID: spanID}] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find spans stored before: %w", err)
	}
	return out, nil
}

// markSpans sets the stored spans the batch made wrappers, or found a
// model call below, to their new state.
func (w *batchWriter) markSpans(ctx context.Context) error {
	b := &pgx.Batch{}
	for _, set := range []struct {
		keys  []rollup.Key
		state rollup.State
	}{{w.plan.Wrapped, rollup.Wrapper}, {w.plan.Marked, rollup.Above}} {
		for _, k := range set.keys {
			b.Queue(`UPDATE spans SET call_state = $1 WHERE trace_rowid = $2 AND span_id = $3`,
				int16(set.state), w.traces[k.TraceID].id, text(k.SpanID))
		}
	}
	if b.Len() == 0 {
		return nil
	}
	if err := w.tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("count model calls: %w", err)
	}
	return nil
}

// storedTree reads the batch's traces as stored before it, for the rule.
type storedTree struct {
	ctx context.Context
	w   *batchWriter
}

// pairs are the trace row ids and span ids of keys, as unnest takes them.
func (r *storedTree) pairs(keys []rollup.Key) ([]int64, []string) {
	traceRows, spanIDs := make([]int64, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		traceRows[i], spanIDs[i] = r.w.traces[k.TraceID].id, text(k.SpanID)
	}
	return traceRows, spanIDs
}

func (r *storedTree) rowIDs() map[int64]string {
	m := make(map[int64]string, len(r.w.traces))
	for id, t := range r.w.traces {
		m[t.id] = id
	}
	return m
}

// Below finds, by spans_trace_parent, the spans with a child that is a
// model call or has one below it.
func (r *storedTree) Below(keys []rollup.Key) (map[rollup.Key]bool, error) {
	traceRows, spanIDs := r.pairs(keys)
	rows, err := r.w.tx.Query(r.ctx, `SELECT b.t, b.id FROM unnest($1::bigint[], $2::text[]) AS b(t, id)
		WHERE EXISTS (SELECT 1 FROM spans c WHERE c.trace_rowid = b.t AND c.parent_id = b.id AND c.call_state IS NOT NULL)`,
		traceRows, spanIDs)
	if err != nil {
		return nil, err
	}
	out := map[rollup.Key]bool{}
	byRowID := r.rowIDs()
	var traceRowID int64
	var spanID string
	_, err = pgx.ForEachRow(rows, []any{&traceRowID, &spanID}, func() error {
		out[rollup.Key{TraceID: byRowID[traceRowID], SpanID: spanID}] = true
		return nil
	})
	return out, err
}

// Stored reads spans by their (trace_rowid, span_id) key.
func (r *storedTree) Stored(keys []rollup.Key) (map[rollup.Key]rollup.Node, error) {
	traceRows, spanIDs := r.pairs(keys)
	rows, err := r.w.tx.Query(r.ctx, `SELECT s.trace_rowid, s.span_id, coalesce(s.parent_id, ''), coalesce(s.call_state, 0)
		FROM unnest($1::bigint[], $2::text[]) AS b(t, id) JOIN spans s ON s.trace_rowid = b.t AND s.span_id = b.id`,
		traceRows, spanIDs)
	if err != nil {
		return nil, err
	}
	out := map[rollup.Key]rollup.Node{}
	byRowID := r.rowIDs()
	var traceRowID int64
	var spanID, parentID string
	var state int16
	_, err = pgx.ForEachRow(rows, []any{&traceRowID, &spanID, &parentID, &state}, func() error {
		out[rollup.Key{TraceID: byRowID[traceRowID], SpanID: spanID}] = rollup.Node{ParentID: parentID, State: rollup.State(state)}
		return nil
	})
	return out, err
}

// callColumns are what the sums need of a stored call (scanCalls), of
// spans aliased s.
const callColumns = `s.trace_rowid, s.span_id, s.span_kind, s.start_time, coalesce(s.model_name, ''), coalesce(s.provider, ''),
	coalesce(s.user_id, ''), coalesce(s.attributes->>'llm.prompt_template.version', ''),
	coalesce(s.prompt_tokens, 0), coalesce(s.completion_tokens, 0), coalesce(s.total_tokens, 0),
	coalesce(s.cache_read_tokens, 0), coalesce(s.cache_write_tokens, 0), coalesce(s.reasoning_tokens, 0),
	coalesce(s.cost_status, ''), coalesce(s.cost_total, 0), coalesce(s.cost_prompt, 0), coalesce(s.cost_completion, 0)`

func (r *storedTree) scanCalls(rows pgx.Rows, err error) ([]*span.Span, error) {
	if err != nil {
		return nil, err
	}
	byRowID := r.rowIDs()
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*span.Span, error) {
		sp := &span.Span{}
		v := &sp.View
		var traceRowID int64
		var kind, status string
		err := row.Scan(&traceRowID, &sp.SpanID, &kind, &sp.StartTime, &v.ModelName, &v.Provider, &v.UserID, &v.PromptTemplate.Version,
			&v.Tokens.Prompt, &v.Tokens.Completion, &v.Tokens.Total, &v.Tokens.CacheRead, &v.Tokens.CacheWrite, &v.Tokens.Reasoning,
			&status, &v.Cost.Total, &v.Cost.Prompt, &v.Cost.Completion)
		sp.TraceID, v.Kind, v.Cost.Status = byRowID[traceRowID], span.Kind(kind), span.CostStatus(status)
		return sp, err
	})
}

// Calls reads stored calls, and locks them: a cost recompute that
// reprices one meanwhile waits, or deadlocks and is run again, rather than
// moving the sums by the cost of a call no longer counted.
func (r *storedTree) Calls(keys []rollup.Key) ([]*span.Span, error) {
	traceRows, spanIDs := r.pairs(keys)
	return r.scanCalls(r.w.tx.Query(r.ctx, `SELECT `+callColumns+`
		FROM unnest($1::bigint[], $2::text[]) AS b(t, id) JOIN spans s ON s.trace_rowid = b.t AND s.span_id = b.id
		ORDER BY s.id FOR UPDATE OF s`, traceRows, spanIDs))
}

// UserlessCalls reads a trace's spans: once in a trace's life, when it
// gains a user.
func (r *storedTree) UserlessCalls(traceID string) ([]*span.Span, error) {
	return r.scanCalls(r.w.tx.Query(r.ctx, `SELECT `+callColumns+` FROM spans s
		WHERE s.trace_rowid = $1 AND s.call_state = 1 AND s.user_id IS NULL`, r.w.traces[traceID].id))
}

// CountedBelow walks down from a span through the spans with a call below
// them (spans_trace_parent), to the counted calls.
func (s *Store) CountedBelow(ctx context.Context, spanRowID int64, limit int) ([]store.CountedCall, error) {
	rows, err := s.pool.Query(ctx, `WITH RECURSIVE below(trace_rowid, span_id, state, depth) AS (
			SELECT trace_rowid, span_id, call_state, 0 FROM spans WHERE id = $1
			UNION
			SELECT c.trace_rowid, c.span_id, c.call_state, b.depth + 1 FROM below b
				JOIN spans c ON c.trace_rowid = b.trace_rowid AND c.parent_id = b.span_id
			WHERE b.state IN (2, 3) AND b.depth < $2)
		SELECT c.span_id, c.name, coalesce(c.model_name, ''), b.depth FROM below b
			JOIN spans c ON c.trace_rowid = b.trace_rowid AND c.span_id = b.span_id
		WHERE b.state = 1 AND b.depth > 0 ORDER BY b.depth, c.start_time, c.id LIMIT $3`, spanRowID, store.CountedBelowDepth, limit)
	if err != nil {
		return nil, fmt.Errorf("calls below span %d: %w", spanRowID, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.CountedCall, error) {
		var c store.CountedCall
		err := row.Scan(&c.SpanID, &c.Name, &c.ModelName, &c.Depth)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("calls below span %d: %w", spanRowID, err)
	}
	return out, nil
}
