package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/store"
)

// minuteNs is the width of a trace_minutes row (migration 0012).
const minuteNs = int64(time.Minute)

// floorMinute is the start of the minute t falls in.
func floorMinute(t int64) int64 {
	return t - ((t%minuteNs)+minuteNs)%minuteNs
}

// traceMinutesUpsert adds to trace_minutes the trace rows of the relation
// that follows it, each counted sign (its column) times: 1 for a row as it
// is now, -1 for a row as it was. Its minutes are upserted in key order.
const traceMinutesUpsert = `INSERT INTO trace_minutes AS m (project_id, minute, traces, error_traces, ok_traces, spans,
		prompt_tokens, completion_tokens, total_tokens, cache_read_tokens, reasoning_tokens, cost_total, unpriced_spans, max_latency)
	SELECT project_id, start_time - ((start_time % 60000000000) + 60000000000) % 60000000000 AS minute,
		sum(sign), coalesce(sum(sign) FILTER (WHERE error_count > 0), 0),
		coalesce(sum(sign) FILTER (WHERE error_count = 0 AND root_status IS NOT DISTINCT FROM 'OK'), 0),
		sum(sign * span_count), sum(sign * prompt_tokens), sum(sign * completion_tokens), sum(sign * total_tokens),
		sum(sign * cache_read_tokens), sum(sign * reasoning_tokens), sum(sign * cost_total), sum(sign * unpriced_spans),
		coalesce(max(end_time - start_time) FILTER (WHERE sign > 0), 0)
	FROM`

// traceMinutesUpsertEnd closes traceMinutesUpsert after its relation.
const traceMinutesUpsertEnd = ` GROUP BY 1, 2 ORDER BY 1, 2
	ON CONFLICT (project_id, minute) DO UPDATE SET traces = m.traces + excluded.traces,
		error_traces = m.error_traces + excluded.error_traces, ok_traces = m.ok_traces + excluded.ok_traces,
		spans = m.spans + excluded.spans, prompt_tokens = m.prompt_tokens + excluded.prompt_tokens,
		completion_tokens = m.completion_tokens + excluded.completion_tokens, total_tokens = m.total_tokens + excluded.total_tokens,
		cache_read_tokens = m.cache_read_tokens + excluded.cache_read_tokens, reasoning_tokens = m.reasoning_tokens + excluded.reasoning_tokens,
		cost_total = m.cost_total + excluded.cost_total, unpriced_spans = m.unpriced_spans + excluded.unpriced_spans,
		max_latency = greatest(m.max_latency, excluded.max_latency)`

// retallyTraceMinutes takes the traces cond selects out of trace_minutes,
// runs change on them, and counts them again as they are then: for the
// paths besides the writer that change a trace in place (transferring it,
// deleting one of its spans, repricing). A minute left without traces is
// deleted. cond is on the traces table, with args bound.
func retallyTraceMinutes(ctx context.Context, tx pgx.Tx, cond string, args []any, change func() error) error {
	tally := func(sign string) error {
		_, err := tx.Exec(ctx, traceMinutesUpsert+` (SELECT `+sign+` AS sign, project_id, start_time, end_time, span_count,
			error_count, root_status, prompt_tokens, completion_tokens, total_tokens, cache_read_tokens, reasoning_tokens,
			cost_total, unpriced_spans FROM traces WHERE span_count > 0 AND `+cond+`) x`+traceMinutesUpsertEnd, args...)
		return err
	}
	if err := tally("-1"); err != nil {
		return fmt.Errorf("retally trace minutes: %w", err)
	}
	if err := change(); err != nil {
		return err
	}
	if err := tally("1"); err != nil {
		return fmt.Errorf("retally trace minutes: %w", err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM trace_minutes WHERE traces <= 0 AND (project_id, minute) IN (
		SELECT project_id, minute FROM trace_minutes WHERE traces <= 0)`); err != nil {
		return fmt.Errorf("retally trace minutes: %w", err)
	}
	return nil
}

// traceSumsSource is a subquery of a project's traces that started in
// [start, end) (end 0: open), a row per whole minute of trace_minutes and
// a row per trace of the part of a minute at either end, with the columns
// t (the minute or the trace's start time) and the sums of trace_minutes
// by their names. Summed, its rows give what summing the traces would, at a
// row a minute. byMinute false reads every trace in range instead.
// Arguments are bound on w.
func traceSumsSource(w *where, projectID, start, end int64, byMinute bool) string {
	var parts []string
	traces := func(from, to int64) {
		q := `SELECT start_time AS t, 1 AS traces, (error_count > 0)::int AS error_traces,
			(error_count = 0 AND root_status IS NOT DISTINCT FROM 'OK')::int AS ok_traces, span_count AS spans,
			prompt_tokens, completion_tokens, total_tokens, cache_read_tokens, reasoning_tokens, cost_total, unpriced_spans
			FROM traces WHERE project_id = ` + w.arg(projectID) + ` AND start_time >= ` + w.arg(from) + ` AND span_count > 0`
		if to != 0 {
			q += " AND start_time < " + w.arg(to)
		}
		parts = append(parts, q)
	}
	// The whole minutes of the range: [first, last).
	first := floorMinute(start)
	if first < start {
		first += minuteNs
	}
	last := int64(0) // open
	if end != 0 {
		last = floorMinute(end)
	}
	if !byMinute || end != 0 && first >= last {
		traces(start, end)
	} else {
		if start < first {
			traces(start, first)
		}
		q := `SELECT minute AS t, traces, error_traces, ok_traces, spans, prompt_tokens, completion_tokens, total_tokens,
			cache_read_tokens, reasoning_tokens, cost_total, unpriced_spans
			FROM trace_minutes WHERE project_id = ` + w.arg(projectID) + ` AND minute >= ` + w.arg(first)
		if last != 0 {
			q += " AND minute < " + w.arg(last)
		}
		parts = append(parts, q)
		if last != 0 && last < end {
			traces(last, end)
		}
	}
	return "(" + strings.Join(parts, " UNION ALL ") + ")"
}

// traceMinutesCondition adds to w the condition on rows of trace_minutes
// under which a minute may hold a trace q selects, and reports whether q's
// latency bound or filter (query.TraceBound) bounds its traces at all.
func traceMinutesCondition(w *where, q store.TraceQuery) bool {
	bounded := false
	if q.MinLatency != nil {
		w.add("max_latency >= " + w.arg(*q.MinLatency))
		bounded = true
	}
	if q.Filter != nil {
		if b := query.TraceBound(q.Filter); b != nil {
			w.add(traceBoundSQL(w, b))
			bounded = true
		}
	}
	if bounded && q.Errors == store.ErrorsOnly {
		w.add("error_traces > 0")
	}
	return bounded
}

// traceBoundSQL is b as a condition on a row of trace_minutes, as loose
// as b (boundSQL).
func traceBoundSQL(w *where, b query.Bound) string {
	switch b := b.(type) {
	case query.AllOf, query.AnyOf:
		list, op := []query.Bound(nil), " AND "
		if all, ok := b.(query.AllOf); ok {
			list = all
		} else {
			list, op = b.(query.AnyOf), " OR "
		}
		conds := make([]string, len(list))
		for i, x := range list {
			conds[i] = traceBoundSQL(w, x)
		}
		return "(" + strings.Join(conds, op) + ")"
	case query.AtLeast:
		switch {
		case b.Column == "latency":
			return "max_latency >= " + w.arg(b.Value*1e6-1) + "::float8"
		case b.Column == "error_count" && (b.Value > 0 || b.Strict && b.Value >= 0):
			return "error_traces > 0"
		}
	}
	return "true"
}

// tracesByMinutes reads a page of q. When q bounds its traces' latency or
// errors, it reads first the minutes where a trace may match
// (trace_minutes), and none when none may; in start-time order, it then
// reads those minutes a stretch at a time, until the page is full.
func (s *Store) tracesByMinutes(ctx context.Context, q store.TraceQuery) ([]store.Trace, bool, error) {
	var cond where
	if !traceMinutesCondition(&cond, q) || len(q.SessionIDs) > 0 {
		return nil, false, nil
	}
	minutes, err := s.minutesOf(ctx, "trace_minutes", q.ProjectID, &cond, q.StartTime, q.EndTime, q.Ascending)
	if err != nil || len(minutes) == 0 {
		return nil, true, err
	}
	if q.Sort == store.SortLatency || q.Cursor > 0 || q.AfterRowID > 0 {
		return nil, false, nil
	}
	var out []store.Trace
	for _, r := range minuteRuns(minutes, q.Ascending) {
		rq := q
		rq.StartTime, rq.EndTime = max(r[0], q.StartTime), r[1]
		if q.EndTime != 0 {
			rq.EndTime = min(rq.EndTime, q.EndTime)
		}
		if q.Limit > 0 {
			rq.Limit = q.Limit - len(out)
		}
		sqlText, args, err := tracesQuery(rq)
		if err != nil {
			return nil, true, err
		}
		page, err := s.queryTraces(ctx, sqlText, args...)
		if err != nil {
			return nil, true, err
		}
		out = append(out, page...)
		if q.Limit > 0 && len(out) >= q.Limit {
			break
		}
	}
	return out, true, nil
}
