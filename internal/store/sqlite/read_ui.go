package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// traceRange is the condition every per-project trace summary uses: a range
// of the traces_project_start index.
func traceRange(projectID, start, end int64) (string, []any) {
	cond := "project_id = ? AND start_time >= ?"
	args := []any{projectID, start}
	if end != 0 {
		cond += " AND start_time < ?"
		args = append(args, end)
	}
	return cond, args
}

// ProjectStats summarises the traces that started in [start, end); end 0 is open.
func (s *Store) ProjectStats(ctx context.Context, projectID, start, end int64) (store.ProjectStats, error) {
	var st store.ProjectStats
	query, args := projectStatsQuery(projectID, start, end)
	stmt, err := s.readStmt(ctx, query)
	if err != nil {
		return st, fmt.Errorf("summarise project %d: %w", projectID, err)
	}
	err = stmt.QueryRowContext(ctx, args...).Scan(
		&st.Traces, &st.ErrorTraces, &st.Spans, &st.Tokens.Prompt, &st.Tokens.Completion, &st.Tokens.Total, &st.Cost)
	if err != nil {
		return st, fmt.Errorf("summarise project %d: %w", projectID, err)
	}
	if st.Traces == 0 {
		return st, nil
	}
	// The newest traces in range stand for all of them: reading every
	// latency of a busy month would make the header cost grow with the data.
	q, args := newestTracesQuery("end_time - start_time", projectID, start, end, store.StatsLatencySample)
	lat, err := s.int64List(ctx, q, args...)
	if err != nil {
		return st, fmt.Errorf("read latencies of project %d: %w", projectID, err)
	}
	st.Latency = store.SummarizeLatencies(lat, st.Traces)
	return st, nil
}

// projectStatsQuery sums the traces in range from their minutes
// (traceSumsSource).
func projectStatsQuery(projectID, start, end int64) (string, []any) {
	src, args := traceSumsSource(projectID, start, end, true)
	return `SELECT coalesce(sum(traces), 0), coalesce(sum(error_traces), 0), coalesce(sum(spans), 0),
		coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0), coalesce(sum(total_tokens), 0),
		coalesce(sum(cost_total), 0) FROM ` + src, args
}

// newestTracesQuery selects expr, as v, of the newest n traces of a
// project that started in [start, end), for int64List. n is written into
// the statement: SQLite compiles a statement again whenever a value bound
// to its LIMIT is bound again, which cost the home page a parse of its
// kept statement for each of its projects.
func newestTracesQuery(expr string, projectID, start, end int64, n int) (string, []any) {
	cond, args := traceRange(projectID, start, end)
	return `SELECT ` + expr + ` AS v FROM traces WHERE ` + cond + ` ORDER BY start_time DESC LIMIT ` + strconv.Itoa(n), args
}

// int64List runs query, whose rows are one integer each, named v, and
// returns them (in no particular order). They come as one text value: stepping the driver through
// 10,000 rows took 20-30 ms of the project header's 10,000-trace latency
// sample, most of the home page's time with a busy project among 100.
func (s *Store) int64List(ctx context.Context, query string, args ...any) ([]int64, error) {
	var list sql.NullString
	stmt, err := s.readStmt(ctx, `SELECT group_concat(v) FROM (`+query+`)`)
	if err != nil {
		return nil, err
	}
	if err := stmt.QueryRowContext(ctx, args...).Scan(&list); err != nil {
		return nil, err
	}
	if !list.Valid {
		return nil, nil
	}
	out := make([]int64, 0, strings.Count(list.String, ",")+1)
	for f := range strings.SplitSeq(list.String, ",") {
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("read a list of integers: %w", err)
		}
		out = append(out, v)
	}
	return out, nil
}

// TraceInfo finds a trace by its hex id, without reading its spans.
func (s *Store) TraceInfo(ctx context.Context, traceID string) (store.Trace, error) {
	t, err := scanTrace(s.read.QueryRowContext(ctx, traceSelect+" WHERE "+traceRowIDs("tr.id", 1), traceID))
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("trace %s: %w", traceID, store.ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("read trace %s: %w", traceID, err)
	}
	return t, nil
}

// TraceTree reads the tree columns of a trace's spans. They come first in
// the spans table, so a row is read without touching the overflow pages of
// large attribute values.
func (s *Store) TraceTree(ctx context.Context, traceRowID int64) ([]store.TreeSpan, error) {
	var out []store.TreeSpan
	err := s.EachTreeSpan(ctx, traceRowID, func(t *store.TreeSpan) error {
		out = append(out, *t)
		return nil
	})
	return out, err
}

// EachTreeSpan calls fn with the tree columns of every span of a trace, in
// start order, as SQLite returns them: its sorter, not this process, holds
// the trace while it is sorted.
func (s *Store) EachTreeSpan(ctx context.Context, traceRowID int64, fn func(*store.TreeSpan) error) error {
	rows, err := s.read.QueryContext(ctx, `SELECT id, span_id, coalesce(parent_id, ''), name, span_kind, status_code, start_time, end_time
		FROM spans WHERE trace_rowid = ? ORDER BY start_time, id`, traceRowID)
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
	rows, err := s.read.QueryContext(ctx, `SELECT span_id, name, status_message, coalesce(input_value, ''), coalesce(output_value, ''),
		attributes, coalesce(events, '')
		FROM spans WHERE trace_rowid = ? ORDER BY start_time, id`, traceRowID)
	if err != nil {
		return fmt.Errorf("read text of trace %d: %w", traceRowID, err)
	}
	defer rows.Close()
	var t store.SpanText
	var attrs, events sql.RawBytes
	var buf []byte
	for rows.Next() {
		if err := rows.Scan(&t.SpanID, &t.Name, &t.StatusMessage, &t.Input, &t.Output, &attrs, &events); err != nil {
			return fmt.Errorf("read text of trace %d: %w", traceRowID, err)
		}
		// A packed object is unpacked into buf, kept between rows; text
		// comes back as the driver lent it.
		text, err := unpackJSON(buf[:0], attrs)
		if err != nil {
			return fmt.Errorf("read text of span %s: %w", t.SpanID, err)
		}
		if len(attrs) > 0 && attrs[0] == jsonPackS2Dict1 {
			buf = text
		}
		t.Attributes, t.Events = text, events
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
	recs, err := s.querySpans(ctx, spanSelect+" WHERE s.id IN ("+spanIDLookup("l.id", 1)+") ORDER BY s.id LIMIT 1", spanID)
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

// SpanList pages through a project's spans by start time, on the
// spans_project_start_bucket index (starttime.go).
func (s *Store) SpanList(ctx context.Context, q store.SpanListQuery) ([]store.SpanRow, error) {
	if none, err := s.filterMatchesNone(ctx, q); none || err != nil {
		return nil, err
	}
	query, args, err := spanListQuery(q)
	if err != nil {
		return nil, err
	}
	if q.Sort == store.SpanSortCost || q.Sort == store.SpanSortTokens {
		few, err := s.fewSpansInRange(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("list spans: %w", err)
		}
		if few {
			query, args, err = rankedInRangeQuery(q)
			if err != nil {
				return nil, err
			}
		}
	}
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list spans: %w", err)
	}
	defer rows.Close()
	var out []store.SpanRow
	for rows.Next() {
		var r store.SpanRow
		if err := rows.Scan(&r.RowID, &r.TraceID, &r.SpanID, &r.ParentID, &r.Name, &r.Kind, &r.Status,
			&r.StartTime, &r.EndTime, &r.Tokens.Prompt, &r.Tokens.Completion, &r.Tokens.Total,
			&r.Model, &r.Cost, &r.CostStatus, &r.UserID, &r.SessionID, &r.InputPreview, &r.OutputPreview); err != nil {
			return nil, fmt.Errorf("list spans: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// filterMatchesNone reports whether the minutes say that no span of q's
// range can match its filter (spanminutes.go), which then walks no index.
func (s *Store) filterMatchesNone(ctx context.Context, q store.SpanListQuery) (bool, error) {
	if q.Filter == nil || query.LooksUpIDs(q.Filter, filterDialect) {
		return false, nil
	}
	sq := store.SpanQuery{ProjectID: q.ProjectID, Filter: q.Filter, Kinds: q.Kinds, RootsOnly: q.RootsOnly}
	if q.ErrorOnly {
		sq.StatusCodes = []string{string(span.StatusError)}
	}
	cond, condArgs, ok := minutesCondition(sq)
	if !ok {
		return false, nil
	}
	minutes, err := s.minutesOf(ctx, "span_minutes", q.ProjectID, cond, condArgs, q.StartTime, q.EndTime, false)
	return len(minutes) == 0 && err == nil, err
}

// listFilter adds the condition of q's filter to where.
func listFilter(where []string, args []any, q store.SpanListQuery) ([]string, []any, error) {
	if q.Filter == nil {
		return where, args, nil
	}
	cond, cargs, err := query.Compile(q.Filter, filterDialect)
	if err != nil {
		return nil, nil, fmt.Errorf("%v: %w", err, store.ErrInvalidArgument)
	}
	return append(where, "("+cond+")"), append(args, cargs...), nil
}

// spanListQuery is the SQL of SpanList.
func spanListQuery(q store.SpanListQuery) (string, []any, error) {
	if q.Sort == store.SpanSortCost || q.Sort == store.SpanSortTokens {
		return rankedSpansQuery(q)
	}
	where := []string{"s.project_id = ?"}
	args := []any{q.ProjectID}
	if q.StartTime != 0 {
		where, args = startFrom(where, args, "s.", q.StartTime)
	}
	if q.EndTime != 0 {
		where, args = startBefore(where, args, "s.", q.EndTime)
	}
	if q.RootsOnly {
		where = append(where, "s.parent_id IS NULL")
	}
	if q.ErrorOnly {
		where = append(where, "s.status_code = 'ERROR'")
	}
	where, args = inList(where, args, "s.span_kind", q.Kinds)
	where, args, err := listFilter(where, args, q)
	if err != nil {
		return "", nil, err
	}
	dir, cmp := "DESC", "<="
	if q.Ascending {
		dir, cmp = "ASC", ">="
	}
	if q.Cursor > 0 {
		where = append(where, "(s.start_time, s.id) "+cmp+" (SELECT c.start_time, c.id FROM spans c WHERE c.id = ?)",
			startBucket("s.")+" "+cmp+" (SELECT c.start_time >> 30 FROM spans c WHERE c.id = ?)")
		args = append(args, q.Cursor, q.Cursor)
	}
	if !q.RootsOnly {
		text, args := startPage(spanRowSelect, where, args, dir, q.Limit)
		return text, args, nil
	}
	// spans_project_roots is in start-time order.
	query := spanRowSelect + whereClause(where) + " ORDER BY s.start_time " + dir + ", s.id " + dir
	if q.Limit > 0 {
		query += " LIMIT ?"
		args = append(args, q.Limit)
	}
	return query, args, nil
}

// rankedSpansQuery is the SQL of SpanList by cost or tokens: a keyset
// range on spans_project_cost or spans_project_tokens, which hold only the
// spans with some, with the start time and kind, so that the time range and
// the kind are tested in the index and only the page's rows are read.
func rankedSpansQuery(q store.SpanListQuery) (string, []any, error) {
	key, index := "s.cost_total", "spans_project_cost"
	if q.Sort == store.SpanSortTokens {
		key, index = "s.total_tokens", "spans_project_tokens"
	}
	where := []string{"s.project_id = ?", key + " > 0"}
	args := []any{q.ProjectID}
	if q.StartTime != 0 {
		where = append(where, "s.start_time >= ?")
		args = append(args, q.StartTime)
	}
	if q.EndTime != 0 {
		where = append(where, "s.start_time < ?")
		args = append(args, q.EndTime)
	}
	if q.RootsOnly {
		where = append(where, "s.parent_id IS NULL")
	}
	if q.ErrorOnly {
		where = append(where, "s.status_code = 'ERROR'")
	}
	where, args = inList(where, args, "s.span_kind", q.Kinds)
	where, args, err := listFilter(where, args, q)
	if err != nil {
		return "", nil, err
	}
	dir, cmp := "DESC", "<="
	if q.Ascending {
		dir, cmp = "ASC", ">="
	}
	if q.Cursor > 0 {
		where = append(where, "("+key+", s.id) "+cmp+" (SELECT "+strings.Replace(key, "s.", "c.", 1)+", c.id FROM spans c WHERE c.id = ?)")
		args = append(args, q.Cursor)
	}
	order := " ORDER BY " + key + " " + dir + ", s.id " + dir
	ids := "SELECT s.id FROM spans s INDEXED BY " + index + whereClause(where) + order
	if q.Limit > 0 {
		ids += " LIMIT ?"
		args = append(args, q.Limit)
	}
	return spanRowSelect + " WHERE s.id IN (" + ids + ")" + order, args, nil
}

// rankedInRange is how many spans a range may hold for SpanList to rank
// them by reading them all: ranked on spans_project_cost, a short range
// of a long project would walk most of the index to fill a page.
const rankedInRange = 5000

// fewSpansInRange reports whether q's range holds at most rankedInRange
// spans, counted on spans_project_start_bucket alone.
func (s *Store) fewSpansInRange(ctx context.Context, q store.SpanListQuery) (bool, error) {
	if q.StartTime == 0 {
		return false, nil
	}
	where := []string{"s.project_id = ?"}
	args := []any{q.ProjectID}
	where, args = startFrom(where, args, "s.", q.StartTime)
	if q.EndTime != 0 {
		where, args = startBefore(where, args, "s.", q.EndTime)
	}
	var n int
	err := s.read.QueryRowContext(ctx, "SELECT count(*) FROM (SELECT 1 FROM spans s INDEXED BY "+startIndex+
		whereClause(where)+" LIMIT ?)", append(args, rankedInRange+1)...).Scan(&n)
	return n <= rankedInRange, err
}

// rankedInRangeQuery is rankedSpansQuery for a range of few spans: they
// are found on spans_project_start_bucket and sorted.
func rankedInRangeQuery(q store.SpanListQuery) (string, []any, error) {
	key := "s.cost_total"
	if q.Sort == store.SpanSortTokens {
		key = "s.total_tokens"
	}
	where := []string{"s.project_id = ?", key + " > 0"}
	args := []any{q.ProjectID}
	where, args = startFrom(where, args, "s.", q.StartTime)
	if q.EndTime != 0 {
		where, args = startBefore(where, args, "s.", q.EndTime)
	}
	if q.RootsOnly {
		where = append(where, "s.parent_id IS NULL")
	}
	if q.ErrorOnly {
		where = append(where, "s.status_code = 'ERROR'")
	}
	where, args = inList(where, args, "s.span_kind", q.Kinds)
	where, args, err := listFilter(where, args, q)
	if err != nil {
		return "", nil, err
	}
	dir, cmp := "DESC", "<="
	if q.Ascending {
		dir, cmp = "ASC", ">="
	}
	if q.Cursor > 0 {
		where = append(where, "("+key+", s.id) "+cmp+" (SELECT "+strings.Replace(key, "s.", "c.", 1)+", c.id FROM spans c WHERE c.id = ?)")
		args = append(args, q.Cursor)
	}
	order := " ORDER BY " + key + " " + dir + ", s.id " + dir
	ids := "SELECT s.id FROM spans s INDEXED BY " + startIndex + whereClause(where) + order
	if q.Limit > 0 {
		ids += " LIMIT ?"
		args = append(args, q.Limit)
	}
	return spanRowSelect + " WHERE s.id IN (" + ids + ")" + order, args, nil
}

// SessionTraces lists a session's traces, oldest first, on the traces_session index.
func (s *Store) SessionTraces(ctx context.Context, sessionRowID int64, limit int) ([]store.Trace, error) {
	query := traceSelect + " WHERE tr.session_rowid = ? ORDER BY tr.start_time, tr.id"
	args := []any{sessionRowID}
	if limit > 0 {
		query += " LIMIT ?"
		args = append(args, limit)
	}
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list traces of session %d: %w", sessionRowID, err)
	}
	defer rows.Close()
	var out []store.Trace
	for rows.Next() {
		t, err := scanTrace(rows)
		if err != nil {
			return nil, fmt.Errorf("list traces of session %d: %w", sessionRowID, err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// SessionLatencies reads the trace latencies of the given sessions in one query.
func (s *Store) SessionLatencies(ctx context.Context, sessionRowIDs []int64) (map[int64]store.LatencySummary, error) {
	out := make(map[int64]store.LatencySummary, len(sessionRowIDs))
	if len(sessionRowIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(sessionRowIDs))
	for i, id := range sessionRowIDs {
		args[i] = id
	}
	rows, err := s.read.QueryContext(ctx, `SELECT session_rowid, end_time - start_time FROM traces
		WHERE session_rowid IN (`+strings.TrimSuffix(strings.Repeat("?, ", len(args)), ", ")+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("read session latencies: %w", err)
	}
	defer rows.Close()
	lat := map[int64][]int64{}
	for rows.Next() {
		var id, l int64
		if err := rows.Scan(&id, &l); err != nil {
			return nil, fmt.Errorf("read session latencies: %w", err)
		}
		lat[id] = append(lat[id], l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read session latencies: %w", err)
	}
	for id, l := range lat {
		out[id] = store.SummarizeLatencies(l, int64(len(l)))
	}
	return out, nil
}
