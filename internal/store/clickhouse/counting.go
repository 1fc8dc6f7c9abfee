package clickhouse

import (
	"context"
	"fmt"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/rollup"
)

// stateExpr is a span's current part in counting model calls, of spans
// aliased s joined to its latest span_states row as st: the later state
// when one was recorded, else the one it was inserted with.
const stateJoin = ` LEFT JOIN (SELECT id, argMax(call_state, version) AS call_state FROM span_states
	WHERE trace_rowid IN (%[1]s) GROUP BY id) AS st ON st.id = s.id`

const stateExpr = `if(st.id != 0, st.call_state, ifNull(s.call_state, 0))`

// storedTree reads the batch's traces as stored before it, for the rule.
// Without transactions what it reads may be overtaken by another server
// writing spans of the same trace at the same moment (docs/CLICKHOUSE.md).
type storedTree struct {
	ctx    context.Context
	s      *Store
	traces map[string]*traceState
}

func (r *storedTree) ids(keys []rollup.Key) (traceList, spanList string, byID map[int64]rollup.Key) {
	seen := map[int64]bool{}
	var traces, spans []int64
	byID = map[int64]rollup.Key{}
	for _, k := range keys {
		t := r.traces[k.TraceID]
		if t == nil {
			t = &traceState{id: traceRowID(k.TraceID)}
		}
		if !seen[t.id] {
			seen[t.id] = true
			traces = append(traces, t.id)
		}
		id := spanRowID(k.TraceID, k.SpanID)
		spans = append(spans, id)
		byID[id] = k
	}
	return inList(traces), inList(spans), byID
}

// Below returns the keys with a stored child whose state is not Unknown.
func (r *storedTree) Below(keys []rollup.Key) (map[rollup.Key]bool, error) {
	traceList, _, _ := r.ids(keys)
	type parent struct {
		trace int64
		span  string
	}
	want := map[parent]rollup.Key{}
	for _, k := range keys {
		want[parent{traceRowID(k.TraceID), k.SpanID}] = k
	}
	rows, err := r.s.conn.Query(r.ctx, `SELECT DISTINCT s.trace_rowid, s.parent_id FROM spans AS s`+fmt.Sprintf(stateJoin, traceList)+`
		WHERE s.trace_rowid IN (`+traceList+`) AND s.parent_id IS NOT NULL AND `+stateExpr+` != 0`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[rollup.Key]bool{}
	for rows.Next() {
		var p parent
		var pid *string
		if err := rows.Scan(&p.trace, &pid); err != nil {
			return nil, err
		}
		if pid != nil {
			p.span = *pid
		}
		if k, ok := want[p]; ok {
			out[k] = true
		}
	}
	return out, rows.Err()
}

// Stored reads spans by key.
func (r *storedTree) Stored(keys []rollup.Key) (map[rollup.Key]rollup.Node, error) {
	traceList, spanList, byID := r.ids(keys)
	rows, err := r.s.conn.Query(r.ctx, `SELECT s.id, ifNull(s.parent_id, ''), toInt8(`+stateExpr+`) FROM spans AS s`+fmt.Sprintf(stateJoin, traceList)+`
		WHERE s.trace_rowid IN (`+traceList+`) AND s.id IN (`+spanList+`)`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[rollup.Key]rollup.Node{}
	for rows.Next() {
		var id int64
		var parent string
		var state int8
		if err := rows.Scan(&id, &parent, &state); err != nil {
			return nil, err
		}
		out[byID[id]] = rollup.Node{ParentID: parent, State: rollup.State(state)}
	}
	return out, rows.Err()
}

const callColumns = `s.trace_id, s.span_id, s.span_kind, s.start_time, ifNull(s.model_name, ''), ifNull(s.provider, ''),
	ifNull(s.user_id, ''), s.prompt_version,
	ifNull(s.prompt_tokens, 0), ifNull(s.completion_tokens, 0), ifNull(s.total_tokens, 0),
	ifNull(s.cache_read_tokens, 0), ifNull(s.cache_write_tokens, 0), ifNull(s.reasoning_tokens, 0),
	ifNull(s.cost_status, ''), ifNull(s.cost_total, 0), ifNull(s.cost_prompt, 0), ifNull(s.cost_completion, 0)`

func scanCalls(rows driver.Rows, err error) ([]*span.Span, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*span.Span
	for rows.Next() {
		sp := &span.Span{}
		v := &sp.View
		var kind, status string
		if err := rows.Scan(&sp.TraceID, &sp.SpanID, &kind, &sp.StartTime, &v.ModelName, &v.Provider, &v.UserID, &v.PromptTemplate.Version,
			&v.Tokens.Prompt, &v.Tokens.Completion, &v.Tokens.Total, &v.Tokens.CacheRead, &v.Tokens.CacheWrite, &v.Tokens.Reasoning,
			&status, &v.Cost.Total, &v.Cost.Prompt, &v.Cost.Completion); err != nil {
			return nil, err
		}
		v.Kind, v.Cost.Status = span.Kind(kind), span.CostStatus(status)
		out = append(out, sp)
	}
	return out, rows.Err()
}

// Calls reads stored calls.
func (r *storedTree) Calls(keys []rollup.Key) ([]*span.Span, error) {
	traceList, spanList, _ := r.ids(keys)
	return scanCalls(r.s.conn.Query(r.ctx, `SELECT `+callColumns+` FROM spans AS s FINAL
		WHERE s.trace_rowid IN (`+traceList+`) AND s.id IN (`+spanList+`) ORDER BY s.id`))
}

// UserlessCalls reads a trace's counted calls stored without a user.id.
func (r *storedTree) UserlessCalls(traceID string) ([]*span.Span, error) {
	id := inList([]int64{traceRowID(traceID)})
	return scanCalls(r.s.conn.Query(r.ctx, `SELECT `+callColumns+` FROM spans AS s FINAL`+fmt.Sprintf(stateJoin, id)+`
		WHERE s.trace_rowid = `+id+` AND `+stateExpr+` = 1 AND s.user_id IS NULL`))
}

// currentStates gives spans read from the spans table (which hold their
// state at insert) their current part in counting model calls, where a
// later write recorded one in span_states.
func (s *Store) currentStates(ctx context.Context, recs []store.SpanRecord) error {
	if len(recs) == 0 {
		return nil
	}
	at := make(map[int64]int, len(recs))
	traces := map[int64]bool{}
	var traceIDs, ids []int64
	for i, r := range recs {
		at[r.RowID] = i
		ids = append(ids, r.RowID)
		if t := traceRowID(r.TraceID); !traces[t] {
			traces[t] = true
			traceIDs = append(traceIDs, t)
		}
	}
	rows, err := s.conn.Query(ctx, `SELECT id, argMax(call_state, version) FROM span_states
		WHERE trace_rowid IN {t:Array(Int64)} AND id IN {ids:Array(Int64)} GROUP BY id`,
		ch.Named("t", traceIDs), ch.Named("ids", ids))
	if err != nil {
		return classify(ctx, fmt.Errorf("read counting states: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var state int8
		if err := rows.Scan(&id, &state); err != nil {
			return fmt.Errorf("read counting states: %w", err)
		}
		if i, ok := at[id]; ok {
			recs[i].Counting = rollup.State(state)
		}
	}
	return classify(ctx, rows.Err())
}
