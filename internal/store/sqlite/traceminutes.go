package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/store"
)

// minuteNs is the width of a trace_minutes row (migration 0020).
const minuteNs = int64(time.Minute)

// traceMeasures are the sums trace_minutes keeps, each as a minute row
// holds it and as one trace counts in it.
var traceMeasures = []struct{ minute, trace string }{
	{"traces", "1"},
	{"error_traces", "error_count > 0"},
	{"ok_traces", "error_count = 0 AND coalesce(root_status, '') = 'OK'"},
	{"spans", "span_count"},
	{"prompt_tokens", "prompt_tokens"},
	{"completion_tokens", "completion_tokens"},
	{"total_tokens", "total_tokens"},
	{"cache_read_tokens", "cache_read_tokens"},
	{"reasoning_tokens", "reasoning_tokens"},
	{"cost_total", "cost_total"},
	{"unpriced_spans", "unpriced_spans"},
}

// floorMinute is the start of the minute t falls in.
func floorMinute(t int64) int64 {
	return t - ((t%minuteNs)+minuteNs)%minuteNs
}

// traceSumsSource is a subquery of a project's traces that started in
// [start, end) (end 0: open), a row per whole minute of trace_minutes and
// a row per trace of the part of a minute at either end, with the columns
// t (the minute or the trace's start time) and those of traceMeasures, by
// their minute names. byMinute false reads every trace in range instead.
//
// Summed, its rows give what summing the traces would, at a row a minute:
// a week of a busy project is 10,080 rows, where 1M agent spans made
// 143,000 traces.
func traceSumsSource(projectID, start, end int64, byMinute bool) (string, []any) {
	var parts []string
	var args []any
	traces := func(from, to int64) {
		cols := make([]string, 0, len(traceMeasures)+1)
		cols = append(cols, "start_time AS t")
		for _, m := range traceMeasures {
			cols = append(cols, m.trace+" AS "+m.minute)
		}
		q := "SELECT " + strings.Join(cols, ", ") + " FROM traces WHERE project_id = ? AND start_time >= ?"
		args = append(args, projectID, from)
		if to != 0 {
			q += " AND start_time < ?"
			args = append(args, to)
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
		cols := make([]string, 0, len(traceMeasures)+1)
		cols = append(cols, "minute AS t")
		for _, m := range traceMeasures {
			cols = append(cols, m.minute)
		}
		q := "SELECT " + strings.Join(cols, ", ") + " FROM trace_minutes WHERE project_id = ? AND minute >= ?"
		args = append(args, projectID, first)
		if last != 0 {
			q += " AND minute < ?"
			args = append(args, last)
		}
		parts = append(parts, q)
		if last != 0 && last < end {
			traces(last, end)
		}
	}
	return "(" + strings.Join(parts, " UNION ALL ") + ")", args
}

// minuteKey names a row of trace_minutes.
type minuteKey struct{ project, minute int64 }

// minuteSums are the sums of a trace_minutes row, or what a batch changes
// in one.
type minuteSums struct {
	traces, errors, ok, spans                       int64
	prompt, completion, total, cacheRead, reasoning int64
	cost                                            float64
	unpriced                                        int64
	maxLatency                                      int64 // of the traces added (migration 0026)
}

// minuteDeltas are what a batch changes in trace_minutes.
type minuteDeltas map[minuteKey]*minuteSums

// add counts trace row v of a project in its minute, sign times: 1 for
// the row as written, -1 for the row as it was before.
func (d minuteDeltas) add(project int64, v *traceValues, sign int64) {
	k := minuteKey{project, floorMinute(v.start)}
	m := d[k]
	if m == nil {
		m = &minuteSums{}
		d[k] = m
	}
	m.traces += sign
	if v.errorCount > 0 {
		m.errors += sign
	} else if v.root.status.String == "OK" {
		m.ok += sign
	}
	m.spans += sign * v.spanCount
	m.prompt += sign * v.tokens.Prompt
	m.completion += sign * v.tokens.Completion
	m.total += sign * v.tokens.Total
	m.cacheRead += sign * v.tokens.CacheRead
	m.reasoning += sign * v.tokens.Reasoning
	m.cost += float64(sign) * v.cost.Total
	m.unpriced += sign * v.cost.Unpriced
	if sign > 0 {
		m.maxLatency = max(m.maxLatency, v.end-v.start)
	}
}

// storeTraceMinutes moves trace_minutes by what the batch changed in its
// traces: a statement for each minute the batch's traces were or are in,
// which are few, as a batch holds the spans that ended in the last moments.
func (w *batchWriter) storeTraceMinutes(d minuteDeltas) error {
	keys := make([]minuteKey, 0, len(d))
	for k, m := range d {
		if *m != (minuteSums{}) {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b minuteKey) int {
		return cmp.Or(cmp.Compare(a.project, b.project), cmp.Compare(a.minute, b.minute))
	})
	for _, k := range keys {
		m := d[k]
		err := w.exec(`INSERT INTO trace_minutes (project_id, minute, traces, error_traces, ok_traces, spans,
				prompt_tokens, completion_tokens, total_tokens, cache_read_tokens, reasoning_tokens, cost_total, unpriced_spans, max_latency)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (project_id, minute) DO UPDATE SET traces = traces + excluded.traces,
				error_traces = error_traces + excluded.error_traces, ok_traces = ok_traces + excluded.ok_traces,
				spans = spans + excluded.spans, prompt_tokens = prompt_tokens + excluded.prompt_tokens,
				completion_tokens = completion_tokens + excluded.completion_tokens, total_tokens = total_tokens + excluded.total_tokens,
				cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens, reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens,
				cost_total = cost_total + excluded.cost_total, unpriced_spans = unpriced_spans + excluded.unpriced_spans,
				max_latency = max(max_latency, excluded.max_latency)`,
			k.project, k.minute, m.traces, m.errors, m.ok, m.spans,
			m.prompt, m.completion, m.total, m.cacheRead, m.reasoning, m.cost, m.unpriced, m.maxLatency)
		if err != nil {
			return fmt.Errorf("update trace minute: %w", err)
		}
		if m.traces < 0 {
			if err := w.exec(`DELETE FROM trace_minutes WHERE project_id = ? AND minute = ? AND traces = 0`, k.project, k.minute); err != nil {
				return fmt.Errorf("update trace minute: %w", err)
			}
		}
	}
	return nil
}

// retallyTraceMinutes takes the traces cond selects out of trace_minutes,
// runs change on them, and counts them again as they are then: for the
// paths besides the writer that change a trace's sums in place (deleting
// one of its spans). A minute left without traces is deleted.
func retallyTraceMinutes(ctx context.Context, tx *sql.Tx, cond string, args []any, change func() error) error {
	tally := func(sign int) error {
		_, err := tx.ExecContext(ctx, fmt.Sprintf(`INSERT INTO trace_minutes (project_id, minute, traces, error_traces, ok_traces, spans,
				prompt_tokens, completion_tokens, total_tokens, cache_read_tokens, reasoning_tokens, cost_total, unpriced_spans, max_latency)
			SELECT project_id, start_time - ((start_time %% %[2]d) + %[2]d) %% %[2]d AS m, %[1]d * count(*),
				%[1]d * sum(error_count > 0), %[1]d * sum(error_count = 0 AND coalesce(root_status, '') = 'OK'),
				%[1]d * sum(span_count), %[1]d * sum(prompt_tokens), %[1]d * sum(completion_tokens), %[1]d * sum(total_tokens),
				%[1]d * sum(cache_read_tokens), %[1]d * sum(reasoning_tokens), %[1]d * sum(cost_total), %[1]d * sum(unpriced_spans),
				max(0, %[1]d) * max(end_time - start_time)
			FROM traces WHERE %[3]s GROUP BY project_id, m
			ON CONFLICT (project_id, minute) DO UPDATE SET traces = traces + excluded.traces,
				error_traces = error_traces + excluded.error_traces, ok_traces = ok_traces + excluded.ok_traces,
				spans = spans + excluded.spans, prompt_tokens = prompt_tokens + excluded.prompt_tokens,
				completion_tokens = completion_tokens + excluded.completion_tokens, total_tokens = total_tokens + excluded.total_tokens,
				cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens, reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens,
				cost_total = cost_total + excluded.cost_total, unpriced_spans = unpriced_spans + excluded.unpriced_spans,
				max_latency = max(max_latency, excluded.max_latency)`,
			sign, minuteNs, cond), args...)
		return err
	}
	var keys [][2]int64
	rows, err := tx.QueryContext(ctx, fmt.Sprintf(`SELECT DISTINCT project_id, start_time - ((start_time %% %[1]d) + %[1]d) %% %[1]d
		FROM traces WHERE %[2]s`, minuteNs, cond), args...)
	if err != nil {
		return fmt.Errorf("retally trace minutes: %w", err)
	}
	for rows.Next() {
		var k [2]int64
		if err := rows.Scan(&k[0], &k[1]); err != nil {
			rows.Close()
			return fmt.Errorf("retally trace minutes: %w", err)
		}
		keys = append(keys, k)
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("retally trace minutes: %w", err)
	}
	if err := tally(-1); err != nil {
		return fmt.Errorf("retally trace minutes: %w", err)
	}
	if err := change(); err != nil {
		return err
	}
	if err := tally(1); err != nil {
		return fmt.Errorf("retally trace minutes: %w", err)
	}
	for _, k := range keys {
		if _, err := tx.ExecContext(ctx, `DELETE FROM trace_minutes WHERE project_id = ? AND minute = ? AND traces = 0`, k[0], k[1]); err != nil {
			return fmt.Errorf("retally trace minutes: %w", err)
		}
	}
	return nil
}

// traceMinutesCondition is the condition on rows of trace_minutes under
// which a minute may hold a trace q selects, and whether q's latency
// bound or filter (query.TraceBound) bounds its traces at all.
func traceMinutesCondition(q store.TraceQuery) (string, []any, bool) {
	var conds []string
	var args []any
	if q.MinLatency != nil {
		conds, args = append(conds, "max_latency >= ?"), append(args, *q.MinLatency)
	}
	if q.Filter != nil {
		if b := query.TraceBound(q.Filter); b != nil {
			c, a := traceBoundSQL(b)
			conds, args = append(conds, c), append(args, a...)
		}
	}
	if len(conds) == 0 {
		return "", nil, false
	}
	if q.Errors == store.ErrorsOnly {
		conds = append(conds, "error_traces > 0")
	}
	return strings.Join(conds, " AND "), args, true
}

// traceBoundSQL is b as a condition on a row of trace_minutes, as loose
// as b (boundSQL).
func traceBoundSQL(b query.Bound) (string, []any) {
	switch b := b.(type) {
	case query.AllOf, query.AnyOf:
		list, op := []query.Bound(nil), " AND "
		if all, ok := b.(query.AllOf); ok {
			list = all
		} else {
			list, op = b.(query.AnyOf), " OR "
		}
		var conds []string
		var args []any
		for _, x := range list {
			c, a := traceBoundSQL(x)
			conds, args = append(conds, c), append(args, a...)
		}
		return "(" + strings.Join(conds, op) + ")", args
	case query.AtLeast:
		switch {
		case b.Column == "latency":
			return "max_latency >= ?", []any{b.Value*1e6 - 1}
		case b.Column == "error_count" && (b.Value > 0 || b.Strict && b.Value >= 0):
			return "error_traces > 0", nil
		}
	}
	return "1", nil
}

// tracesByMinutes reads a page of q. When q bounds its traces' latency or
// errors, it reads first the minutes where a trace may match
// (trace_minutes), and none when none may; in start-time order, it then
// reads those minutes a stretch at a time, until the page is full.
func (s *Store) tracesByMinutes(ctx context.Context, q store.TraceQuery) ([]store.Trace, error) {
	cond, condArgs, ok := traceMinutesCondition(q)
	if !ok || len(q.SessionIDs) > 0 {
		return s.traces(ctx, q)
	}
	minutes, err := s.minutesOf(ctx, "trace_minutes", q.ProjectID, cond, condArgs, q.StartTime, q.EndTime, q.Ascending)
	if err != nil || len(minutes) == 0 {
		return nil, err
	}
	if q.Sort == store.SortLatency {
		return s.traces(ctx, q)
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
		page, err := s.traces(ctx, rq)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if q.Limit > 0 && len(out) >= q.Limit {
			break
		}
	}
	return out, nil
}
