package postgres

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// projectStatsQueries are the SQL of ProjectStats: sums from the range's
// minutes (traceSumsSource), then the latencies of the newest traces, as
// one array, from traces_project_start alone (it carries end_time).
func projectStatsQueries(projectID, start, end int64) (sums string, sumArgs []any, latencies string, latArgs []any) {
	var w where
	src := traceSumsSource(&w, projectID, start, end, true)
	sums = `SELECT coalesce(sum(traces), 0), coalesce(sum(error_traces), 0), coalesce(sum(spans), 0),
		coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0), coalesce(sum(total_tokens), 0),
		coalesce(sum(cost_total), 0) FROM ` + src + ` s`
	// The newest traces in range stand for all of them: reading every
	// latency of a busy month would make the header cost grow with the data.
	lw := traceRangeWhere(projectID, start, end)
	latencies = `SELECT coalesce(array_agg(l), '{}') FROM (SELECT end_time - start_time AS l FROM traces` + lw.clause() +
		` ORDER BY start_time DESC LIMIT ` + strconv.Itoa(store.StatsLatencySample) + `) s`
	return sums, w.args, latencies, lw.args
}

// ProjectStats summarises the traces that started in [start, end); end 0 is open.
func (s *Store) ProjectStats(ctx context.Context, projectID, start, end int64) (store.ProjectStats, error) {
	var st store.ProjectStats
	sums, sumArgs, latencies, latArgs := projectStatsQueries(projectID, start, end)
	err := s.pool.QueryRow(ctx, sums, sumArgs...).Scan(
		&st.Traces, &st.ErrorTraces, &st.Spans, &st.Tokens.Prompt, &st.Tokens.Completion, &st.Tokens.Total, &st.Cost)
	if err != nil {
		return st, fmt.Errorf("summarise project %d: %w", projectID, err)
	}
	if st.Traces == 0 {
		return st, nil
	}
	var lat []int64
	if err := s.pool.QueryRow(ctx, latencies, latArgs...).Scan(&lat); err != nil {
		return st, fmt.Errorf("read latencies of project %d: %w", projectID, err)
	}
	st.Latency = store.SummarizeLatencies(lat, st.Traces)
	return st, nil
}

// TraceInfo finds a trace by its hex id, without reading its spans.
func (s *Store) TraceInfo(ctx context.Context, traceID string) (store.Trace, error) {
	return s.oneTrace(ctx, traceDetailQuery, text(traceID), traceID)
}

// traceTreeQuery reads the tree columns of a trace's spans, on spans_trace.
const traceTreeQuery = `SELECT id, span_id, coalesce(parent_id, ''), name, span_kind, status_code, start_time, end_time
	FROM spans WHERE trace_rowid = $1 ORDER BY start_time, id`

// TraceTree reads the tree columns of a trace's spans, leaving the
// attributes (most of a span's bytes, in TOAST) unread.
func (s *Store) TraceTree(ctx context.Context, traceRowID int64) ([]store.TreeSpan, error) {
	var out []store.TreeSpan
	err := s.EachTreeSpan(ctx, traceRowID, func(t *store.TreeSpan) error {
		out = append(out, *t)
		return nil
	})
	return out, err
}

// EachTreeSpan calls fn with the tree columns of every span of a trace, in
// start order, as they arrive from the server.
func (s *Store) EachTreeSpan(ctx context.Context, traceRowID int64, fn func(*store.TreeSpan) error) error {
	rows, err := s.pool.Query(ctx, traceTreeQuery, traceRowID)
	if err != nil {
		return fmt.Errorf("read tree of trace %d: %w", traceRowID, err)
	}
	defer rows.Close()
	var t store.TreeSpan
	for rows.Next() {
		if err := rows.Scan(&t.RowID, &t.SpanID, &t.ParentID, &t.Name, &t.Kind, &t.Status, &t.StartTime, &t.EndTime); err != nil {
			return fmt.Errorf("read tree of trace %d: %w", traceRowID, err)
		}
		if err := fn(&t); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read tree of trace %d: %w", traceRowID, err)
	}
	return nil
}

// EachSpanText reads the text of a trace's spans for a search within it.
func (s *Store) EachSpanText(ctx context.Context, traceRowID int64, fn func(*store.SpanText) error) error {
	rows, err := s.pool.Query(ctx, `SELECT span_id, name, status_message, coalesce(input_value, ''), coalesce(output_value, ''),
		attributes::text, coalesce(events::text, '')
		FROM spans WHERE trace_rowid = $1 ORDER BY start_time, id`, traceRowID)
	if err != nil {
		return fmt.Errorf("read text of trace %d: %w", traceRowID, err)
	}
	defer rows.Close()
	var t store.SpanText
	for rows.Next() {
		if err := rows.Scan(&t.SpanID, &t.Name, &t.StatusMessage, &t.Input, &t.Output, &t.Attributes, &t.Events); err != nil {
			return fmt.Errorf("read text of trace %d: %w", traceRowID, err)
		}
		if err := fn(&t); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read text of trace %d: %w", traceRowID, err)
	}
	return nil
}

// SpanByID finds one span by its hex span id.
func (s *Store) SpanByID(ctx context.Context, spanID string) (store.SpanRecord, error) {
	recs, err := s.querySpans(ctx, spanSelect+" WHERE s.span_id = $1 ORDER BY s.id LIMIT 1", text(spanID))
	if err != nil {
		return store.SpanRecord{}, fmt.Errorf("read span %s: %w", spanID, err)
	}
	if len(recs) == 0 {
		return store.SpanRecord{}, fmt.Errorf("span %s: %w", spanID, store.ErrNotFound)
	}
	return recs[0], nil
}

var spanRowSelect = `SELECT s.id, t.trace_id, s.span_id, coalesce(s.parent_id, ''), s.name, s.span_kind, s.status_code,
	s.start_time, s.end_time, coalesce(s.prompt_tokens, 0), coalesce(s.completion_tokens, 0), coalesce(s.total_tokens, 0),
	coalesce(s.model_name, ''), coalesce(s.cost_total, 0), coalesce(s.cost_status, ''),
	coalesce(s.user_id, ''), coalesce(s.session_id, ''),
	coalesce(substr(coalesce(s.input_preview, s.input_value), 1, ` + strconv.Itoa(store.SpanPreviewLength) + `), ''),
	coalesce(substr(coalesce(s.output_preview, s.output_value), 1, ` + strconv.Itoa(store.SpanPreviewLength) + `), '')
	FROM spans s JOIN traces t ON t.id = s.trace_rowid`

// spanListQuery is the SQL of SpanList: a keyset range on spans_project_start,
// or on its partial twins for roots and errors.
func spanListQuery(q store.SpanListQuery) (string, []any, error) {
	var w where
	w.add("s.project_id = " + w.arg(q.ProjectID))
	if q.StartTime != 0 {
		w.add("s.start_time >= " + w.arg(q.StartTime))
	}
	if q.EndTime != 0 {
		w.add("s.start_time < " + w.arg(q.EndTime))
	}
	if q.RootsOnly {
		w.add("s.parent_id IS NULL")
	}
	if q.ErrorOnly {
		w.add("s.status_code = 'ERROR'")
	}
	w.in("s.span_kind", q.Kinds)
	if q.Filter != nil {
		if err := w.filter(query.Compile, q.Filter); err != nil {
			return "", nil, err
		}
	}
	dir, cmp := "DESC", "<="
	if q.Ascending {
		dir, cmp = "ASC", ">="
	}
	// By cost or tokens, a keyset range on spans_project_cost or
	// spans_project_tokens, which hold only the spans with some.
	key, cursorKey := "s.start_time", "c.start_time"
	switch q.Sort {
	case store.SpanSortCost:
		key, cursorKey = "s.cost_total", "c.cost_total"
		w.add("s.cost_total > 0")
	case store.SpanSortTokens:
		key, cursorKey = "s.total_tokens", "c.total_tokens"
		w.add("s.total_tokens > 0")
	}
	if q.Cursor > 0 {
		w.add("(" + key + ", s.id) " + cmp + " (SELECT " + cursorKey + ", c.id FROM spans c WHERE c.id = " + w.arg(q.Cursor) + ")")
	}
	return spanRowSelect + w.clause() + " ORDER BY " + key + " " + dir + ", s.id " + dir + w.limit(q.Limit), w.args, nil
}

// SpanList pages through a project's spans by start time, cost or tokens.
func (s *Store) SpanList(ctx context.Context, q store.SpanListQuery) ([]store.SpanRow, error) {
	// A filter the minutes say no span of the range matches walks no index
	// (spanminutes.go).
	if q.Filter != nil && !query.LooksUpIDs(q.Filter, query.Postgres(1)) {
		sq := store.SpanQuery{ProjectID: q.ProjectID, Filter: q.Filter, Kinds: q.Kinds, RootsOnly: q.RootsOnly}
		if q.ErrorOnly {
			sq.StatusCodes = []string{string(span.StatusError)}
		}
		var cond where
		if minutesCondition(&cond, sq) {
			minutes, err := s.minutesOf(ctx, "span_minutes", q.ProjectID, &cond, q.StartTime, q.EndTime, false)
			if err != nil || len(minutes) == 0 {
				return nil, err
			}
		}
	}
	query, args, err := spanListQuery(q)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list spans: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.SpanRow, error) {
		var r store.SpanRow
		err := row.Scan(&r.RowID, &r.TraceID, &r.SpanID, &r.ParentID, &r.Name, &r.Kind, &r.Status,
			&r.StartTime, &r.EndTime, &r.Tokens.Prompt, &r.Tokens.Completion, &r.Tokens.Total,
			&r.Model, &r.Cost, &r.CostStatus, &r.UserID, &r.SessionID, &r.InputPreview, &r.OutputPreview)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("list spans: %w", err)
	}
	return out, nil
}

// sessionTracesQuery lists a session's traces oldest first, on traces_session.
const sessionTracesQuery = traceSelect + " WHERE tr.session_rowid = $1 ORDER BY tr.start_time, tr.id"

// SessionTraces lists a session's traces, oldest first.
func (s *Store) SessionTraces(ctx context.Context, sessionRowID int64, limit int) ([]store.Trace, error) {
	query, args := sessionTracesQuery, []any{sessionRowID}
	if limit > 0 {
		query += " LIMIT $2"
		args = append(args, limit)
	}
	out, err := s.queryTraces(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list traces of session %d: %w", sessionRowID, err)
	}
	return out, nil
}

// SessionLatencies reads the trace latencies of the given sessions in one query.
func (s *Store) SessionLatencies(ctx context.Context, sessionRowIDs []int64) (map[int64]store.LatencySummary, error) {
	out := make(map[int64]store.LatencySummary, len(sessionRowIDs))
	if len(sessionRowIDs) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT session_rowid, end_time - start_time FROM traces WHERE session_rowid = ANY($1)`, sessionRowIDs)
	if err != nil {
		return nil, fmt.Errorf("read session latencies: %w", err)
	}
	lat := map[int64][]int64{}
	var id, l int64
	_, err = pgx.ForEachRow(rows, []any{&id, &l}, func() error {
		lat[id] = append(lat[id], l)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read session latencies: %w", err)
	}
	for id, l := range lat {
		out[id] = store.SummarizeLatencies(l, int64(len(l)))
	}
	return out, nil
}
