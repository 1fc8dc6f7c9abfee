package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/rollup"
)

// planRollups works out what the batch changes in the roll-ups (package
// rollup), reading the stored spans it depends on, and adds its traces'
// share to their batch sums. The traces stored before are read already.
func (w *batchWriter) planRollups(traces map[string]*traceState) error {
	info := func(traceID string) rollup.TraceInfo {
		t := traces[traceID]
		ti := rollup.TraceInfo{Project: t.projectID, Fresh: t.id == 0}
		if t.id != 0 {
			ti.UserBefore = t.stored.userID.String
		}
		ti.User = ti.UserBefore
		if ti.User == "" {
			ti.User = t.batch.UserID
		}
		return ti
	}
	p, err := rollup.NewPlan(w.unique, info, &storedTree{w: w, traces: traces}, nil)
	if err != nil {
		return fmt.Errorf("count model calls: %w", err)
	}
	w.plan = p
	for id, d := range p.Traces {
		traces[id].batch.Calls = *d
	}
	return nil
}

// markSpans sets the stored spans the batch made wrappers, or found a
// model call below, to their new state.
func (w *batchWriter) markSpans(traces map[string]*traceState) error {
	for _, set := range []struct {
		keys  []rollup.Key
		state rollup.State
	}{{w.plan.Wrapped, rollup.Wrapper}, {w.plan.Marked, rollup.Above}} {
		for _, k := range set.keys {
			if err := w.exec(`UPDATE spans SET call_state = ? WHERE trace_rowid = ? AND span_id = ?`,
				int64(set.state), traces[k.TraceID].id, k.SpanID); err != nil {
				return fmt.Errorf("count model calls: %w", err)
			}
		}
	}
	return nil
}

// callState is a state as the call_state column stores it.
func callState(s rollup.State) any {
	if s == rollup.Unknown {
		return nil
	}
	return int64(s)
}

// storedTree reads the batch's traces as stored before it, for the rule.
type storedTree struct {
	w      *batchWriter
	traces map[string]*traceState
}

// pairs are the (trace row id, span id) of keys, as VALUES rows take them.
func (r *storedTree) pairs(keys []rollup.Key) []any {
	args := make([]any, 0, 2*len(keys))
	for _, k := range keys {
		args = append(args, r.traces[k.TraceID].id, k.SpanID)
	}
	return args
}

// keyOf maps a stored span back to its key.
func (r *storedTree) keyOf(byRowID map[int64]string, traceRowID int64, spanID string) rollup.Key {
	return rollup.Key{TraceID: byRowID[traceRowID], SpanID: spanID}
}

func (r *storedTree) rowIDs() map[int64]string {
	m := make(map[int64]string, len(r.traces))
	for id, t := range r.traces {
		if t.id != 0 {
			m[t.id] = id
		}
	}
	return m
}

// treeLookupRows is how many spans one statement looks up.
const treeLookupRows = 256

func valuesRows(n int) string {
	return strings.TrimSuffix(strings.Repeat("(?, ?), ", n), ", ")
}

// Below finds, by spans_trace_parent, the spans with a child that is a
// model call or has one below it.
func (r *storedTree) Below(keys []rollup.Key) (map[rollup.Key]bool, error) {
	out := map[rollup.Key]bool{}
	byRowID := r.rowIDs()
	for _, chunk := range rowChunks(keys, treeLookupRows) {
		st, err := r.w.stmt(`SELECT v.column1, v.column2 FROM (VALUES ` + valuesRows(len(chunk)) + `) AS v
			WHERE EXISTS (SELECT 1 FROM spans c WHERE c.trace_rowid = v.column1 AND c.parent_id = v.column2 AND c.call_state IS NOT NULL)`)
		if err != nil {
			return nil, err
		}
		rows, err := st.QueryContext(r.w.ctx, r.pairs(chunk)...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var traceRowID int64
			var spanID string
			if err := rows.Scan(&traceRowID, &spanID); err != nil {
				rows.Close()
				return nil, err
			}
			out[r.keyOf(byRowID, traceRowID, spanID)] = true
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Stored reads spans by spans_trace_span.
func (r *storedTree) Stored(keys []rollup.Key) (map[rollup.Key]rollup.Node, error) {
	out := map[rollup.Key]rollup.Node{}
	byRowID := r.rowIDs()
	for _, chunk := range rowChunks(keys, treeLookupRows) {
		st, err := r.w.stmt(`SELECT s.trace_rowid, s.span_id, coalesce(s.parent_id, ''), coalesce(s.call_state, 0)
			FROM (VALUES ` + valuesRows(len(chunk)) + `) AS v CROSS JOIN spans s ON s.trace_rowid = v.column1 AND s.span_id = v.column2`)
		if err != nil {
			return nil, err
		}
		rows, err := st.QueryContext(r.w.ctx, r.pairs(chunk)...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var traceRowID int64
			var spanID string
			var n rollup.Node
			if err := rows.Scan(&traceRowID, &spanID, &n.ParentID, &n.State); err != nil {
				rows.Close()
				return nil, err
			}
			out[r.keyOf(byRowID, traceRowID, spanID)] = n
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// callColumns are what the sums need of a stored call (scanCall), of spans
// aliased s.
const callColumns = `s.trace_rowid, s.span_id, s.span_kind, s.start_time, coalesce(s.model_name, ''), coalesce(s.provider, ''),
	coalesce(s.user_id, ''), coalesce(CAST(json_extract(loupe_json(s.attributes), '$."llm.prompt_template.version"') AS TEXT), ''),
	coalesce(s.prompt_tokens, 0), coalesce(s.completion_tokens, 0), coalesce(s.total_tokens, 0),
	coalesce(s.cache_read_tokens, 0), coalesce(s.cache_write_tokens, 0), coalesce(s.reasoning_tokens, 0),
	coalesce(s.cost_status, ''), coalesce(s.cost_total, 0), coalesce(s.cost_prompt, 0), coalesce(s.cost_completion, 0)`

func scanCall(rows *sql.Rows, byRowID map[int64]string) (*span.Span, error) {
	sp := &span.Span{}
	v := &sp.View
	var traceRowID int64
	var kind string
	err := rows.Scan(&traceRowID, &sp.SpanID, &kind, &sp.StartTime, &v.ModelName, &v.Provider, &v.UserID, &v.PromptTemplate.Version,
		&v.Tokens.Prompt, &v.Tokens.Completion, &v.Tokens.Total, &v.Tokens.CacheRead, &v.Tokens.CacheWrite, &v.Tokens.Reasoning,
		&v.Cost.Status, &v.Cost.Total, &v.Cost.Prompt, &v.Cost.Completion)
	v.Kind = span.Kind(kind)
	sp.TraceID = byRowID[traceRowID]
	return sp, err
}

func (r *storedTree) scanCalls(rows *sql.Rows, err error) ([]*span.Span, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byRowID := r.rowIDs()
	var out []*span.Span
	for rows.Next() {
		sp, err := scanCall(rows, byRowID)
		if err != nil {
			return nil, err
		}
		out = append(out, sp)
	}
	return out, rows.Err()
}

// Calls reads stored calls by spans_trace_span.
func (r *storedTree) Calls(keys []rollup.Key) ([]*span.Span, error) {
	var out []*span.Span
	for _, chunk := range rowChunks(keys, treeLookupRows) {
		calls, err := r.scanCalls(r.w.tx.QueryContext(r.w.ctx, `SELECT `+callColumns+`
			FROM (VALUES `+valuesRows(len(chunk))+`) AS v CROSS JOIN spans s ON s.trace_rowid = v.column1 AND s.span_id = v.column2`,
			r.pairs(chunk)...))
		if err != nil {
			return nil, err
		}
		out = append(out, calls...)
	}
	return out, nil
}

// UserlessCalls reads a trace's spans by spans_trace_span: once in a
// trace's life, when it gains a user.
func (r *storedTree) UserlessCalls(traceID string) ([]*span.Span, error) {
	return r.scanCalls(r.w.tx.QueryContext(r.w.ctx, `SELECT `+callColumns+` FROM spans s
		WHERE s.trace_rowid = ? AND s.call_state = 1 AND s.user_id IS NULL`, r.traces[traceID].id))
}

// CountedBelow walks down from a span through the spans with a call below
// them (spans_trace_parent), to the counted calls.
func (s *Store) CountedBelow(ctx context.Context, spanRowID int64, limit int) ([]store.CountedCall, error) {
	rows, err := s.read.QueryContext(ctx, `WITH RECURSIVE below(trace_rowid, span_id, state, depth) AS (
			SELECT trace_rowid, span_id, call_state, 0 FROM spans WHERE id = ?
			UNION
			SELECT c.trace_rowid, c.span_id, c.call_state, b.depth + 1 FROM below b
				JOIN spans c ON c.trace_rowid = b.trace_rowid AND c.parent_id = b.span_id
			WHERE b.state IN (2, 3) AND b.depth < ?)
		SELECT c.span_id, c.name, coalesce(c.model_name, ''), b.depth FROM below b
			JOIN spans c ON c.trace_rowid = b.trace_rowid AND c.span_id = b.span_id
		WHERE b.state = 1 AND b.depth > 0 ORDER BY b.depth, c.start_time, c.id LIMIT ?`, spanRowID, store.CountedBelowDepth, limit)
	if err != nil {
		return nil, fmt.Errorf("calls below span %d: %w", spanRowID, err)
	}
	defer rows.Close()
	var out []store.CountedCall
	for rows.Next() {
		var c store.CountedCall
		if err := rows.Scan(&c.SpanID, &c.Name, &c.ModelName, &c.Depth); err != nil {
			return nil, fmt.Errorf("calls below span %d: %w", spanRowID, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
