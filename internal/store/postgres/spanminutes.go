package postgres

import (
	"cmp"
	"context"
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// modelBit is the bit of span_minutes.models a model name sets, as the SQL
// function loupe_model_bit computes it (migration 0014): one of 62, so that
// a minute holding a few models rules out most others.
func modelBit(model string) int64 {
	if model == "" {
		return 0
	}
	sum := md5.Sum([]byte(model))
	return 1 << (binary.BigEndian.Uint32(sum[:4]) % 62)
}

// spanMinuteKey names a row of span_minutes.
type spanMinuteKey struct {
	project, minute int64
	kind            string
	root            bool
}

// spanMinute is what a batch adds to a row of span_minutes.
type spanMinute struct {
	errors, latency, prompt, completion, total int64
	cost                                       float64
	models                                     int64
}

// queueSpanMinutes queues the upsert adding the spans a batch stored to
// their minutes: one statement over column arrays, in key order, as every
// writer upserts them, so that concurrent writers queue, not deadlock.
func (w *batchWriter) queueSpanMinutes(b *pgx.Batch, inserted []insertedSpan) {
	rows := make(map[spanMinuteKey]*spanMinute)
	for _, r := range inserted {
		sp := r.span
		v := &sp.View
		k := spanMinuteKey{w.traces[sp.TraceID].projectID, floorMinute(sp.StartTime), text(string(v.Kind)), sp.ParentID == ""}
		m := rows[k]
		if m == nil {
			m = &spanMinute{}
			rows[k] = m
		}
		if sp.StatusCode == span.StatusError {
			m.errors++
		}
		m.latency = max(m.latency, sp.EndTime-sp.StartTime)
		m.prompt = max(m.prompt, v.Tokens.Prompt)
		m.completion = max(m.completion, v.Tokens.Completion)
		m.total = max(m.total, v.Tokens.Total)
		if v.Cost.Status == span.CostPriced {
			m.cost = max(m.cost, v.Cost.Total)
		}
		m.models |= modelBit(text(v.ModelName))
	}
	if len(rows) == 0 {
		return
	}
	keys := make([]spanMinuteKey, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b spanMinuteKey) int {
		return cmp.Or(cmp.Compare(a.project, b.project), cmp.Compare(a.minute, b.minute), strings.Compare(a.kind, b.kind),
			cmp.Compare(boolInt(a.root), boolInt(b.root)))
	})
	n := len(keys)
	projects, minutes, errs, lat, prompt, completion, total, models := make([]int64, n), make([]int64, n), make([]int64, n),
		make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	kinds, roots, costs := make([]string, n), make([]bool, n), make([]float64, n)
	for i, k := range keys {
		m := rows[k]
		projects[i], minutes[i], kinds[i], roots[i] = k.project, k.minute, k.kind, k.root
		errs[i], lat[i], prompt[i], completion[i], total[i], costs[i], models[i] = m.errors, m.latency, m.prompt, m.completion, m.total, m.cost, m.models
	}
	b.Queue(`INSERT INTO span_minutes AS m (project_id, minute, kind, root, errors, max_latency,
			max_prompt_tokens, max_completion_tokens, max_total_tokens, max_cost, models)
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bool[], $5::bigint[], $6::bigint[],
			$7::bigint[], $8::bigint[], $9::bigint[], $10::float8[], $11::bigint[])
		ON CONFLICT (project_id, minute, kind, root) DO UPDATE SET errors = m.errors + excluded.errors,
			max_latency = greatest(m.max_latency, excluded.max_latency),
			max_prompt_tokens = greatest(m.max_prompt_tokens, excluded.max_prompt_tokens),
			max_completion_tokens = greatest(m.max_completion_tokens, excluded.max_completion_tokens),
			max_total_tokens = greatest(m.max_total_tokens, excluded.max_total_tokens),
			max_cost = greatest(m.max_cost, excluded.max_cost), models = m.models | excluded.models`,
		projects, minutes, kinds, roots, errs, lat, prompt, completion, total, costs, models)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// addSpanMinutesSQL adds the spans a condition, in place of {cond}, selects
// to the minutes of their project as they are now: for the spans a
// transfer moves and those repricing changes.
const addSpanMinutesSQL = `INSERT INTO span_minutes AS m (project_id, minute, kind, root, errors, max_latency,
		max_prompt_tokens, max_completion_tokens, max_total_tokens, max_cost, models)
	SELECT project_id, start_time - ((start_time % 60000000000) + 60000000000) % 60000000000 AS mi,
		span_kind, parent_id IS NULL AS r, count(*) FILTER (WHERE status_code = 'ERROR'), max(end_time - start_time),
		max(coalesce(prompt_tokens, 0)), max(coalesce(completion_tokens, 0)), max(coalesce(total_tokens, 0)),
		coalesce(max(cost_total) FILTER (WHERE cost_status = 'priced'), 0), coalesce(bit_or(loupe_model_bit(model_name)), 0)
	FROM spans WHERE {cond} GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
	ON CONFLICT (project_id, minute, kind, root) DO UPDATE SET errors = m.errors + excluded.errors,
		max_latency = greatest(m.max_latency, excluded.max_latency),
		max_prompt_tokens = greatest(m.max_prompt_tokens, excluded.max_prompt_tokens),
		max_completion_tokens = greatest(m.max_completion_tokens, excluded.max_completion_tokens),
		max_total_tokens = greatest(m.max_total_tokens, excluded.max_total_tokens),
		max_cost = greatest(m.max_cost, excluded.max_cost), models = m.models | excluded.models`

// minutesCondition adds to w the condition on rows of span_minutes under
// which a minute may hold a span q selects, and reports whether q's filter
// bounds its spans (query.SpanBound), or a REST attribute match names a
// model, at all.
func minutesCondition(w *where, q store.SpanQuery) bool {
	bounded := false
	if q.Filter != nil {
		if b := query.SpanBound(q.Filter); b != nil {
			w.add(boundSQL(w, b))
			bounded = true
		}
	}
	for _, m := range q.Attributes {
		// A span whose llm.model_name is this text has it as its model
		// (span.Normalize).
		if v, ok := m.Value.(string); ok && m.Key == span.AttrModelName && v != "" {
			w.add("models & " + w.arg(modelBit(text(v))) + " <> 0")
			bounded = true
		}
	}
	w.in("kind", q.Kinds)
	if q.RootsOnly {
		w.add("root")
	}
	if len(q.StatusCodes) > 0 && !slices.ContainsFunc(q.StatusCodes, func(c string) bool { return c != string(span.StatusError) }) {
		w.add("errors > 0")
	}
	return bounded
}

// boundSQL is b as a condition on a row of span_minutes, as loose as b:
// latencies are compared a nanosecond short of the bound, for the
// rounding of latency_ms.
func boundSQL(w *where, b query.Bound) string {
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
			conds[i] = boundSQL(w, x)
		}
		return "(" + strings.Join(conds, op) + ")"
	case query.AtLeast:
		switch b.Column {
		case "latency":
			return "max_latency >= " + w.arg(b.Value*1e6-1) + "::float8"
		case "prompt_tokens", "completion_tokens", "total_tokens":
			return "max_" + b.Column + " >= " + w.arg(b.Value) + "::float8"
		case "cost_total":
			return "max_cost >= " + w.arg(b.Value) + "::float8"
		}
	case query.OneOf:
		switch b.Column {
		case "span_kind":
			return "kind = ANY(" + w.arg(texts(b.Values)) + ")"
		case "status_code":
			if !slices.ContainsFunc(b.Values, func(v string) bool { return v != string(span.StatusError) }) {
				return "errors > 0"
			}
		case "model_name":
			var bits int64
			for _, v := range b.Values {
				bits |= modelBit(text(v))
			}
			return "models & " + w.arg(bits) + " <> 0"
		}
	}
	return "true"
}

// minutesOf lists the minutes of a project in table (span_minutes or
// trace_minutes) in [start, end) (end 0: open) whose rows meet the
// conditions of cond, newest first unless asc.
func (s *Store) minutesOf(ctx context.Context, table string, projectID int64, cond *where, start, end int64, asc bool) ([]int64, error) {
	sqlText, args := minutesQuery(table, projectID, cond, start, end)
	var minutes []int64
	err := s.pool.QueryRow(ctx, sqlText, args...).Scan(&minutes)
	if err != nil {
		return nil, fmt.Errorf("read the minutes of %s: %w", table, err)
	}
	slices.Sort(minutes)
	if !asc {
		slices.Reverse(minutes)
	}
	return minutes, nil
}

// minutesQuery is the SQL of minutesOf: a range of table's primary key,
// the minutes as one array.
func minutesQuery(table string, projectID int64, cond *where, start, end int64) (string, []any) {
	w := where{conds: slices.Clone(cond.conds), args: slices.Clone(cond.args)}
	w.add("project_id = " + w.arg(projectID))
	w.add("minute >= " + w.arg(floorMinute(start)))
	if end != 0 {
		w.add("minute < " + w.arg(end))
	}
	return "SELECT coalesce(array_agg(DISTINCT minute), '{}') FROM " + table + w.clause(), w.args
}

// minuteRuns joins minutes (in a page's order) into stretches [from, to)
// of consecutive minutes, in the same order; past maxMinuteRuns of them,
// the last stretch reaches to the last minute.
func minuteRuns(minutes []int64, asc bool) [][2]int64 {
	var runs [][2]int64
	for _, m := range minutes {
		if n := len(runs); n > 0 && (!asc && runs[n-1][0] == m+minuteNs || asc && runs[n-1][1] == m) {
			if asc {
				runs[n-1][1] = m + minuteNs
			} else {
				runs[n-1][0] = m
			}
			continue
		}
		runs = append(runs, [2]int64{m, m + minuteNs})
	}
	if len(runs) > maxMinuteRuns {
		last := runs[len(runs)-1]
		runs = runs[:maxMinuteRuns]
		if asc {
			runs[maxMinuteRuns-1][1] = last[1]
		} else {
			runs[maxMinuteRuns-1][0] = last[0]
		}
	}
	return runs
}

// maxMinuteRuns bounds the queries one page of spans runs over stretches
// of matching minutes; the rest of the range is then read at once.
const maxMinuteRuns = 64

// spansByMinutes reads a page of q in start-time order over the minutes
// whose rows meet cond, a stretch of consecutive minutes at a time, until
// the page is full.
func (s *Store) spansByMinutes(ctx context.Context, q store.SpanQuery, cond *where) ([]store.SpanRecord, error) {
	start, end := q.StartTime, q.EndTime
	if q.Cursor > 0 {
		// The cursor's own minute onwards.
		if q.Ascending {
			start = max(start, q.CursorStartTime)
		} else if end == 0 || q.CursorStartTime < end {
			end = q.CursorStartTime + 1
		}
	}
	if end != 0 && start >= end {
		return nil, nil
	}
	minutes, err := s.minutesOf(ctx, "span_minutes", q.ProjectID, cond, start, end, q.Ascending)
	if err != nil {
		return nil, err
	}
	var out []store.SpanRecord
	for _, r := range minuteRuns(minutes, q.Ascending) {
		rq := q
		rq.StartTime, rq.EndTime = max(r[0], q.StartTime), r[1]
		if q.EndTime != 0 {
			rq.EndTime = min(rq.EndTime, q.EndTime)
		}
		if q.Limit > 0 {
			rq.Limit = q.Limit - len(out)
		}
		sqlText, args, err := spansQuery(rq)
		if err != nil {
			return nil, err
		}
		recs, err := s.querySpans(ctx, sqlText, args...)
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
		if q.Limit > 0 && len(out) >= q.Limit {
			break
		}
	}
	return out, nil
}
