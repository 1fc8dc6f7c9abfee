package sqlite

import (
	"cmp"
	"context"
	"database/sql/driver"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"modernc.org/sqlite"

	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// modelBit is the bit of span_minutes.models a model name sets (migration
// 0023): one of 62, so that a minute holding a few models rules out most
// others, and a sum of distinct bits is their OR.
func modelBit(model string) int64 {
	if model == "" {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(model))
	return 1 << (h.Sum64() % 62)
}

func init() {
	sqlite.MustRegisterFunction("loupe_model_bit", &sqlite.FunctionImpl{
		NArgs:         1,
		Deterministic: true,
		Scalar: func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			switch v := args[0].(type) {
			case string:
				return modelBit(v), nil
			case []byte:
				return modelBit(string(v)), nil
			}
			return int64(0), nil
		},
	})
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

// storeSpanMinutes adds the batch's spans to their minutes, each column
// as the spans table stores it: a statement a minute, kind and rootness
// the batch touched, a few a batch.
func (w *batchWriter) storeSpanMinutes(traces map[string]*traceState) error {
	rows := make(map[spanMinuteKey]*spanMinute)
	for _, sp := range w.unique {
		v := &sp.View
		k := spanMinuteKey{traces[sp.TraceID].projectID, floorMinute(sp.StartTime), string(v.Kind), sp.ParentID == ""}
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
		m.models |= modelBit(v.ModelName)
	}
	keys := make([]spanMinuteKey, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b spanMinuteKey) int {
		return cmp.Or(cmp.Compare(a.project, b.project), cmp.Compare(a.minute, b.minute), strings.Compare(a.kind, b.kind))
	})
	for _, k := range keys {
		m := rows[k]
		err := w.exec(`INSERT INTO span_minutes (project_id, minute, kind, root, errors, max_latency,
				max_prompt_tokens, max_completion_tokens, max_total_tokens, max_cost, models)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (project_id, minute, kind, root) DO UPDATE SET errors = errors + excluded.errors,
				max_latency = max(max_latency, excluded.max_latency),
				max_prompt_tokens = max(max_prompt_tokens, excluded.max_prompt_tokens),
				max_completion_tokens = max(max_completion_tokens, excluded.max_completion_tokens),
				max_total_tokens = max(max_total_tokens, excluded.max_total_tokens),
				max_cost = max(max_cost, excluded.max_cost), models = models | excluded.models`,
			k.project, k.minute, k.kind, k.root, m.errors, m.latency, m.prompt, m.completion, m.total, m.cost, m.models)
		if err != nil {
			return fmt.Errorf("update span minute: %w", err)
		}
	}
	return nil
}

// addSpanMinutesSQL adds the spans that a condition, in place of {cond},
// selects to the minutes of their project as they are now: for the spans
// a transfer moves.
const addSpanMinutesSQL = `INSERT INTO span_minutes (project_id, minute, kind, root, errors, max_latency,
		max_prompt_tokens, max_completion_tokens, max_total_tokens, max_cost, models)
	SELECT project_id, start_time - ((start_time % 60000000000) + 60000000000) % 60000000000 AS m,
		span_kind, parent_id IS NULL AS r, sum(status_code = 'ERROR'), max(end_time - start_time),
		max(coalesce(prompt_tokens, 0)), max(coalesce(completion_tokens, 0)), max(coalesce(total_tokens, 0)),
		max(coalesce(cost_total, 0)), coalesce(sum(DISTINCT loupe_model_bit(model_name)), 0)
	FROM spans WHERE {cond} GROUP BY project_id, m, span_kind, r
	ON CONFLICT (project_id, minute, kind, root) DO UPDATE SET errors = errors + excluded.errors,
		max_latency = max(max_latency, excluded.max_latency),
		max_prompt_tokens = max(max_prompt_tokens, excluded.max_prompt_tokens),
		max_completion_tokens = max(max_completion_tokens, excluded.max_completion_tokens),
		max_total_tokens = max(max_total_tokens, excluded.max_total_tokens),
		max_cost = max(max_cost, excluded.max_cost), models = models | excluded.models`

// minutesCondition is the condition on rows of span_minutes under which a
// minute may hold a span q selects, and whether q's filter bounds its spans
// (query.SpanBound), or a REST attribute match names a model, at all.
func minutesCondition(q store.SpanQuery) (string, []any, bool) {
	var conds []string
	var args []any
	bounded := false
	if q.Filter != nil {
		if b := query.SpanBound(q.Filter); b != nil {
			c, a := boundSQL(b)
			conds, args, bounded = append(conds, c), append(args, a...), true
		}
	}
	for _, m := range q.Attributes {
		// A span whose llm.model_name is this text has it as its model
		// (span.Normalize).
		if v, ok := m.Value.(string); ok && m.Key == span.AttrModelName && v != "" {
			conds, args, bounded = append(conds, "models & ? != 0"), append(args, modelBit(v)), true
		}
	}
	if len(q.Kinds) > 0 {
		conds = append(conds, "kind IN ("+placeholders(len(q.Kinds))+")")
		for _, k := range q.Kinds {
			args = append(args, k)
		}
	}
	if q.RootsOnly {
		conds = append(conds, "root = 1")
	}
	if len(q.StatusCodes) > 0 && !slices.ContainsFunc(q.StatusCodes, func(c string) bool { return c != string(span.StatusError) }) {
		conds = append(conds, "errors > 0")
	}
	if !bounded {
		return "", nil, false
	}
	return strings.Join(conds, " AND "), args, true
}

// boundSQL is b as a condition on a row of span_minutes, as loose as b:
// latencies are compared a nanosecond short of the bound, for the
// rounding of latency_ms.
func boundSQL(b query.Bound) (string, []any) {
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
			c, a := boundSQL(x)
			conds, args = append(conds, c), append(args, a...)
		}
		return "(" + strings.Join(conds, op) + ")", args
	case query.AtLeast:
		switch b.Column {
		case "latency":
			return "max_latency >= ?", []any{b.Value*1e6 - 1}
		case "prompt_tokens", "completion_tokens", "total_tokens":
			return "max_" + b.Column + " >= ?", []any{b.Value}
		case "cost_total":
			return "max_cost >= ?", []any{b.Value}
		}
	case query.OneOf:
		switch b.Column {
		case "span_kind":
			args := make([]any, len(b.Values))
			for i, v := range b.Values {
				args[i] = v
			}
			return "kind IN (" + placeholders(len(b.Values)) + ")", args
		case "status_code":
			if !slices.ContainsFunc(b.Values, func(v string) bool { return v != string(span.StatusError) }) {
				return "errors > 0", nil
			}
		case "model_name":
			var bits int64
			for _, v := range b.Values {
				bits |= modelBit(v)
			}
			return "models & ? != 0", []any{bits}
		}
	}
	return "1", nil
}

// minutesOf lists the minutes of a project in table (span_minutes or
// trace_minutes) in [start, end) (end 0: open) whose rows meet cond,
// newest first unless asc.
func (s *Store) minutesOf(ctx context.Context, table string, projectID int64, cond string, condArgs []any, start, end int64, asc bool) ([]int64, error) {
	where := "project_id = ? AND minute >= ?"
	args := []any{projectID, floorMinute(start)}
	if end != 0 {
		where += " AND minute < ?"
		args = append(args, end)
	}
	minutes, err := s.int64List(ctx, "SELECT DISTINCT minute AS v FROM "+table+" WHERE "+where+" AND ("+cond+")",
		append(args, condArgs...)...)
	if err != nil {
		return nil, fmt.Errorf("read the minutes of %s: %w", table, err)
	}
	slices.Sort(minutes)
	if !asc {
		slices.Reverse(minutes)
	}
	return minutes, nil
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
// where its spans may start, a stretch of consecutive minutes at a time,
// until the page is full: none when no minute may hold a match.
func (s *Store) spansByMinutes(ctx context.Context, q store.SpanQuery, cond string, condArgs []any) ([]store.SpanRecord, error) {
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
	minutes, err := s.minutesOf(ctx, "span_minutes", q.ProjectID, cond, condArgs, start, end, q.Ascending)
	if err != nil {
		return nil, err
	}
	runs := minuteRuns(minutes, q.Ascending)
	var out []store.SpanRecord
	for _, r := range runs {
		rq := q
		rq.StartTime, rq.EndTime = max(r[0], q.StartTime), r[1]
		if q.EndTime != 0 {
			rq.EndTime = min(rq.EndTime, q.EndTime)
		}
		if q.Limit > 0 {
			rq.Limit = q.Limit - len(out)
		}
		where, args, err := spanConditions(rq)
		if err != nil {
			return nil, err
		}
		sqlText, args := spansQuery(rq, where, args)
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
