package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

const projectColumns = `id, name, description, created_at, updated_at, coalesce(last_span_time, 0)`

func scanProject(row interface{ Scan(...any) error }) (store.Project, error) {
	var p store.Project
	err := row.Scan(&p.ID, &p.Name, &p.Description, &p.CreatedAt, &p.UpdatedAt, &p.LastSpanTime)
	return p, err
}

// Projects lists projects, highest id first.
func (s *Store) Projects(ctx context.Context, q store.ProjectQuery) ([]store.Project, error) {
	var where []string
	var args []any
	if q.NameContains != "" {
		where = append(where, "instr(lower(name), lower(?)) > 0")
		args = append(args, q.NameContains)
	}
	if q.AfterID > 0 {
		where = append(where, "id <= ?")
		args = append(args, q.AfterID)
	}
	query := "SELECT " + projectColumns + " FROM projects" + whereClause(where) + " ORDER BY id DESC"
	if q.Limit > 0 {
		query += " LIMIT ?"
		args = append(args, q.Limit)
	}
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list projects: %w", err)
	}
	defer rows.Close()
	var out []store.Project
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, fmt.Errorf("list projects: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// ProjectByName finds a project by its name.
func (s *Store) ProjectByName(ctx context.Context, name string) (store.Project, error) {
	p, err := scanProject(s.read.QueryRowContext(ctx, "SELECT "+projectColumns+" FROM projects WHERE name = ?", name))
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("project %q: %w", name, store.ErrNotFound)
	}
	return p, err
}

// ProjectByID finds a project by its row id.
func (s *Store) ProjectByID(ctx context.Context, id int64) (store.Project, error) {
	p, err := scanProject(s.read.QueryRowContext(ctx, "SELECT "+projectColumns+" FROM projects WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("project %d: %w", id, store.ErrNotFound)
	}
	return p, err
}

const spanSelect = `SELECT s.id, s.project_id, t.trace_id, coalesce(s.parent_id, ''), s.span_id, s.name, s.span_kind,
	s.start_time, s.end_time, s.status_code, s.status_message,
	coalesce(s.model_name, ''), coalesce(s.provider, ''), coalesce(s.session_id, ''), coalesce(s.user_id, ''),
	s.input_value, coalesce(s.input_mime_type, ''), s.output_value, coalesce(s.output_mime_type, ''),
	coalesce(s.prompt_tokens, 0), coalesce(s.completion_tokens, 0), coalesce(s.total_tokens, 0),
	coalesce(s.cache_read_tokens, 0), coalesce(s.cache_write_tokens, 0), coalesce(s.reasoning_tokens, 0),
	s.attributes, coalesce(s.events, '[]'), s.otel_kind, coalesce(s.trace_state, ''),
	coalesce(s.cost_status, ''), coalesce(s.cost_total, 0), coalesce(s.cost_prompt, 0), coalesce(s.cost_completion, 0),
	coalesce(s.cost_details, ''), coalesce(s.cost_source, ''), coalesce(s.cost_entry, ''), coalesce(s.call_state, 0),
	s.input_preview, s.output_preview
	FROM spans s JOIN traces t ON t.id = s.trace_rowid`

func scanSpan(rows *sql.Rows) (store.SpanRecord, error) {
	var r store.SpanRecord
	var in, out, inPreview, outPreview sql.NullString
	var attrs sql.RawBytes
	var events string
	var kind string
	v := &r.View
	err := rows.Scan(&r.RowID, &r.ProjectID, &r.TraceID, &r.ParentID, &r.SpanID, &r.Name, &kind,
		&r.StartTime, &r.EndTime, &r.StatusCode, &r.StatusMessage,
		&v.ModelName, &v.Provider, &v.SessionID, &v.UserID,
		&in, &v.InputMimeType, &out, &v.OutputMimeType,
		&v.Tokens.Prompt, &v.Tokens.Completion, &v.Tokens.Total,
		&v.Tokens.CacheRead, &v.Tokens.CacheWrite, &v.Tokens.Reasoning,
		&attrs, &events, &r.OTelKind, &r.TraceState,
		&v.Cost.Status, &v.Cost.Total, &v.Cost.Prompt, &v.Cost.Completion, &v.Cost.Details, &v.Cost.Source, &v.Cost.Entry,
		&r.Counting, &inPreview, &outPreview)
	if err != nil {
		return r, err
	}
	v.Kind = span.Kind(kind)
	v.InputValue, v.OutputValue = in.String, out.String
	v.InputPreview = span.ReadPreview(inPreview.String, inPreview.Valid, in.String)
	v.OutputPreview = span.ReadPreview(outPreview.String, outPreview.Valid, out.String)
	text, err := ownedJSON(attrs)
	if err != nil {
		return r, fmt.Errorf("span %d: %w", r.RowID, err)
	}
	r.AttributesJSON = mergeIO(text, in, out)
	r.EventsJSON = json.RawMessage(events)
	return r, nil
}

// mergeIO puts input.value and output.value, stored in columns, back into
// the attribute object.
func mergeIO(attrs []byte, in, out sql.NullString) json.RawMessage {
	if !in.Valid && !out.Valid {
		return attrs
	}
	b := make([]byte, 0, len(attrs)+len(in.String)+len(out.String)+40)
	b = append(b, '{')
	if in.Valid {
		b = span.AppendJSONString(append(b, `"input.value":`...), in.String)
		b = append(b, ',')
	}
	if out.Valid {
		b = span.AppendJSONString(append(b, `"output.value":`...), out.String)
		b = append(b, ',')
	}
	rest := bytes.TrimPrefix(attrs, []byte("{"))
	if string(rest) == "}" {
		b = b[:len(b)-1]
	}
	return append(b, rest...)
}

// Spans lists a project's spans, newest row first.
func (s *Store) Spans(ctx context.Context, q store.SpanQuery) ([]store.SpanRecord, error) {
	where, args, err := spanConditions(q)
	if err != nil {
		return nil, err
	}
	if q.Search != "" {
		return s.searchSpans(ctx, q, where, args)
	}
	// A filter on latency, errors, models, tokens, cost or kind reads the
	// minutes where its spans may be first (spanminutes.go), unless it
	// looks spans up by id.
	if cond, condArgs, ok := minutesCondition(q); ok && len(q.TraceIDs) == 0 && len(q.SpanIDs) == 0 &&
		!query.LooksUpIDs(q.Filter, filterDialect) {
		if q.OrderByStartTime {
			return s.spansByMinutes(ctx, q, cond, condArgs)
		}
		// In row-id order, the minutes only tell when there is no match.
		minutes, err := s.minutesOf(ctx, "span_minutes", q.ProjectID, cond, condArgs, q.StartTime, q.EndTime, false)
		if err != nil || len(minutes) == 0 {
			return nil, err
		}
	}
	sqlText, args := spansQuery(q, where, args)
	return s.querySpans(ctx, sqlText, args...)
}

// spanConditions are the conditions of q but its search.
func spanConditions(q store.SpanQuery) ([]string, []any, error) {
	where := []string{"s.project_id = ?"}
	args := []any{q.ProjectID}
	before, upTo := "<", "<="
	if q.Ascending {
		before, upTo = ">", ">="
	}
	switch {
	case q.OrderByStartTime && q.Cursor > 0:
		where = append(where, "(s.start_time "+before+" ? OR (s.start_time = ? AND s.id "+upTo+" ?))", startBucket("s.")+" "+upTo+" (? >> 30)")
		args = append(args, q.CursorStartTime, q.CursorStartTime, q.Cursor, q.CursorStartTime)
	case q.Cursor > 0:
		where = append(where, "s.id "+upTo+" ?")
		args = append(args, q.Cursor)
	}
	if q.StartTime != 0 {
		where, args = startFrom(where, args, "s.", q.StartTime)
	}
	if q.EndTime != 0 {
		where, args = startBefore(where, args, "s.", q.EndTime)
	}
	if len(q.TraceIDs) > 0 {
		where = append(where, fewRows("s.id", traceSpanRows(len(q.TraceIDs))))
		for _, id := range q.TraceIDs {
			args = append(args, id)
		}
	}
	if len(q.SpanIDs) > 0 {
		where = append(where, fewRows("s.id", spanIDLookup("l.id", len(q.SpanIDs))))
		for _, id := range q.SpanIDs {
			args = append(args, id)
		}
	}
	where, args = inList(where, args, "s.name", q.Names)
	where, args = inList(where, args, "s.span_kind", q.Kinds)
	where, args = inList(where, args, "s.status_code", q.StatusCodes)
	if q.RootsOnly {
		where = append(where, "s.parent_id IS NULL")
	}
	for _, m := range q.Attributes {
		cond, cargs, err := attributeCondition(m)
		if err != nil {
			return nil, nil, err
		}
		where = append(where, cond)
		args = append(args, cargs...)
	}
	if q.Filter != nil {
		cond, cargs, err := query.Compile(q.Filter, filterDialect)
		if err != nil {
			return nil, nil, fmt.Errorf("%v: %w", err, store.ErrInvalidArgument)
		}
		where = append(where, "("+cond+")")
		args = append(args, cargs...)
	}
	if q.MaxRowID > 0 {
		where = append(where, "s.id <= ?")
		args = append(args, q.MaxRowID)
	}
	if q.HasAttribute != "" {
		where, args = hasAttribute(where, args, q.HasAttribute)
	}
	return where, args, nil
}

// hasAttribute adds the condition of SpanQuery.HasAttribute. Keys between
// path + "." and path + "/" are those that start with path + ".", as '/'
// follows '.' in the binary collation keys compare in.
func hasAttribute(where []string, args []any, path string) ([]string, []any) {
	cond := "j.key = ? OR (j.key >= ? AND j.key < ?)"
	args = append(args, path, path+".", path+"/")
	above := store.AttributeKeysAbove(path)
	if len(above) > 0 {
		cond += " OR j.key IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(above)), ", ") + ")"
		for _, k := range above {
			args = append(args, k)
		}
	}
	return append(where, "EXISTS (SELECT 1 FROM json_each(loupe_json(s.attributes)) j WHERE "+cond+")"), args
}

// spanOrder is the direction of q's order.
func spanOrder(q store.SpanQuery) string {
	if q.Ascending {
		return "ASC"
	}
	return "DESC"
}

// spansQuery is the SQL of Spans without a search, over the conditions of q.
func spansQuery(q store.SpanQuery, where []string, args []any) (string, []any) {
	sqlText := spanSelect + whereClause(where)
	dir := spanOrder(q)
	switch {
	case !q.OrderByStartTime:
		sqlText += " ORDER BY s.id " + dir
	case q.RootsOnly || len(q.TraceIDs) > 0 || len(q.SpanIDs) > 0 ||
		(q.Filter != nil && query.LooksUpIDs(q.Filter, filterDialect)):
		// On spans_project_roots, in start-time order, or a few spans
		// looked up by id and sorted.
		sqlText += " ORDER BY s.start_time " + dir + ", s.id " + dir
	default:
		return startPage(spanSelect, where, args, dir, q.Limit)
	}
	if q.Limit > 0 {
		sqlText += " LIMIT ?"
		args = append(args, q.Limit)
	}
	return sqlText, args
}

// SpanKeys lists the keys of the spans q selects, in q's order. In
// start-time order the keys come from spans_project_start_bucket alone
// unless a condition needs the rows, and a page of keys as large as a
// bucket sorts each bucket about once, where pages of spans re-sort the
// bucket they stop in for every page.
func (s *Store) SpanKeys(ctx context.Context, q store.SpanQuery) ([]store.SpanKey, error) {
	if q.Search != "" {
		return nil, fmt.Errorf("span keys of a search: %w", store.ErrInvalidArgument)
	}
	where, args, err := spanConditions(q)
	if err != nil {
		return nil, err
	}
	sqlText := "SELECT s.id, s.start_time FROM spans s"
	dir := spanOrder(q)
	switch {
	case !q.OrderByStartTime:
		sqlText += whereClause(where) + " ORDER BY s.id " + dir
	case q.RootsOnly || len(q.TraceIDs) > 0 || len(q.SpanIDs) > 0 ||
		(q.Filter != nil && query.LooksUpIDs(q.Filter, filterDialect)):
		sqlText += whereClause(where) + " ORDER BY s.start_time " + dir + ", s.id " + dir
	default:
		sqlText += " INDEXED BY " + startIndex + whereClause(where) + startOrder("s.", dir)
	}
	if q.Limit > 0 {
		sqlText += " LIMIT ?"
		args = append(args, q.Limit)
	}
	rows, err := s.read.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return nil, fmt.Errorf("query span keys: %w", err)
	}
	defer rows.Close()
	var out []store.SpanKey
	for rows.Next() {
		var k store.SpanKey
		if err := rows.Scan(&k.RowID, &k.StartTime); err != nil {
			return nil, fmt.Errorf("read span key: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// lightSpanSelect is spanSelect for light records: the spans table
// alone, without the input and output text.
const lightSpanSelect = `SELECT s.id, coalesce(s.parent_id, ''), s.start_time, s.end_time,
	s.input_value IS NOT NULL, s.output_value IS NOT NULL, s.attributes
	FROM spans s`

// SpansByRowID reads the spans with these row ids, in that order.
func (s *Store) SpansByRowID(ctx context.Context, rowIDs []int64, light bool) ([]store.SpanRecord, error) {
	byID := make(map[int64]store.SpanRecord, len(rowIDs))
	for start := 0; start < len(rowIDs); start += 500 {
		chunk := rowIDs[start:min(start+500, len(rowIDs))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		cond := " WHERE s.id IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(chunk)), ", ") + ")"
		var recs []store.SpanRecord
		var err error
		if light {
			recs, err = s.queryLightSpans(ctx, lightSpanSelect+cond, args...)
		} else {
			recs, err = s.querySpans(ctx, spanSelect+cond, args...)
		}
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			byID[r.RowID] = r
		}
	}
	return store.InRowIDOrder(byID, rowIDs), nil
}

func (s *Store) queryLightSpans(ctx context.Context, query string, args ...any) ([]store.SpanRecord, error) {
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query spans: %w", err)
	}
	defer rows.Close()
	var out []store.SpanRecord
	for rows.Next() {
		var r store.SpanRecord
		var hasIn, hasOut bool
		var attrs sql.RawBytes
		if err := rows.Scan(&r.RowID, &r.ParentID, &r.StartTime, &r.EndTime, &hasIn, &hasOut, &attrs); err != nil {
			return nil, fmt.Errorf("read span: %w", err)
		}
		text, err := ownedJSON(attrs)
		if err != nil {
			return nil, fmt.Errorf("span %d: %w", r.RowID, err)
		}
		r.AttributesJSON = mergeIO(text, sql.NullString{Valid: hasIn}, sql.NullString{Valid: hasOut})
		r.EventsJSON = json.RawMessage("[]")
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *Store) querySpans(ctx context.Context, query string, args ...any) ([]store.SpanRecord, error) {
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query spans: %w", err)
	}
	defer rows.Close()
	var out []store.SpanRecord
	for rows.Next() {
		r, err := scanSpan(rows)
		if err != nil {
			return nil, fmt.Errorf("read span: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// attributeCondition matches one attribute as Phoenix's attribute[] filter:
// booleans as booleans, numbers numerically, strings as text.
func attributeCondition(m store.AttributeMatch) (string, []any, error) {
	switch m.Key {
	case span.AttrInputValue:
		return "s.input_value = ?", []any{fmt.Sprint(m.Value)}, nil
	case span.AttrOutputValue:
		return "s.output_value = ?", []any{fmt.Sprint(m.Value)}, nil
	}
	if strings.Contains(m.Key, `"`) {
		return "", nil, fmt.Errorf("attribute key %q: %w", m.Key, store.ErrInvalidArgument)
	}
	path := `$."` + m.Key + `"`
	switch v := m.Value.(type) {
	case bool:
		typ := "false"
		if v {
			typ = "true"
		}
		return "json_type(loupe_json(s.attributes), ?) = ?", []any{path, typ}, nil
	case string:
		return "(json_type(loupe_json(s.attributes), ?) = 'text' AND json_extract(loupe_json(s.attributes), ?) = ?)", []any{path, path, v}, nil
	case int64, float64:
		return "(json_type(loupe_json(s.attributes), ?) IN ('integer', 'real') AND json_extract(loupe_json(s.attributes), ?) = ?)", []any{path, path, v}, nil
	}
	return "", nil, fmt.Errorf("attribute %q: unsupported value %v: %w", m.Key, m.Value, store.ErrInvalidArgument)
}

func inList(where []string, args []any, column string, values []string) ([]string, []any) {
	if len(values) == 0 {
		return where, args
	}
	where = append(where, column+" IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(values)), ", ")+")")
	for _, v := range values {
		args = append(args, v)
	}
	return where, args
}

func whereClause(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

const traceSelect = `SELECT tr.id, tr.project_id, tr.trace_id, coalesce(tr.session_rowid, 0), coalesce(se.session_id, ''),
	tr.start_time, tr.end_time, coalesce(tr.root_span_id, ''), coalesce(tr.root_name, ''), coalesce(tr.root_kind, ''),
	coalesce(tr.root_status, ''), tr.span_count, tr.error_count, tr.llm_span_count,
	tr.prompt_tokens, tr.completion_tokens, tr.total_tokens, tr.cache_read_tokens, tr.cache_write_tokens, tr.reasoning_tokens,
	coalesce(tr.user_id, ''), coalesce(tr.input_preview, ''), coalesce(tr.output_preview, ''),
	tr.cost_total, tr.cost_prompt, tr.cost_completion, tr.unpriced_spans
	FROM traces tr LEFT JOIN sessions se ON se.id = tr.session_rowid`

func scanTrace(row interface{ Scan(...any) error }) (store.Trace, error) {
	var t store.Trace
	err := row.Scan(&t.RowID, &t.ProjectID, &t.TraceID, &t.SessionRowID, &t.SessionID,
		&t.StartTime, &t.EndTime, &t.RootSpanID, &t.RootName, &t.RootKind, &t.RootStatus,
		&t.SpanCount, &t.ErrorCount, &t.LLMSpanCount,
		&t.Tokens.Prompt, &t.Tokens.Completion, &t.Tokens.Total, &t.Tokens.CacheRead, &t.Tokens.CacheWrite, &t.Tokens.Reasoning,
		&t.UserID, &t.InputPreview, &t.OutputPreview,
		&t.Cost.Total, &t.Cost.Prompt, &t.Cost.Completion, &t.Cost.Unpriced)
	return t, err
}

// tracesQuery is the SQL of Traces: pages are keyset ranges on the sort key.
func tracesQuery(q store.TraceQuery) (string, []any, error) {
	where := []string{"tr.project_id = ?"}
	args := []any{q.ProjectID}
	if q.StartTime != 0 {
		where = append(where, "tr.start_time >= ?")
		args = append(args, q.StartTime)
	}
	if q.EndTime != 0 {
		where = append(where, "tr.start_time < ?")
		args = append(args, q.EndTime)
	}
	where, args = inList(where, args, "se.session_id", q.SessionIDs)
	key := "tr.start_time"
	cursorKey := "c.start_time"
	switch q.Sort {
	case store.SortLatency:
		key = "(tr.end_time - tr.start_time)"
		cursorKey = "(c.end_time - c.start_time)"
	case store.SortCost:
		key, cursorKey = "tr.cost_total", "c.cost_total"
	case store.SortTokens:
		key, cursorKey = "tr.total_tokens", "c.total_tokens"
	}
	dir, cmp, after := "DESC", "<=", "<"
	if q.Ascending {
		dir, cmp, after = "ASC", ">=", ">"
	}
	if q.Cursor > 0 {
		where = append(where, fmt.Sprintf("(%s, tr.id) %s (SELECT %s, c.id FROM traces c WHERE c.id = ?)", key, cmp, cursorKey))
		args = append(args, q.Cursor)
	}
	if q.AfterRowID > 0 {
		where = append(where, fmt.Sprintf("(%s, tr.id) %s (?, ?)", key, after))
		args = append(args, q.AfterValue, q.AfterRowID)
	}
	where, args, err := traceConditions(q, where, args)
	if err != nil {
		return "", nil, err
	}
	order := fmt.Sprintf(" ORDER BY %s %s, tr.id %s", key, dir, dir)
	if q.Sort == store.SortCost || q.Sort == store.SortTokens {
		// The page's traces are found on traces_project_cost or
		// traces_project_tokens, in the page's order, with the start time
		// and error count tested there: only the page's rows are read.
		index := "traces_project_cost"
		if q.Sort == store.SortTokens {
			index = "traces_project_tokens"
		}
		// Without a condition on sessions the walk reads the index alone.
		join := ""
		if len(q.SessionIDs) > 0 || q.Filter != nil {
			join = " LEFT JOIN sessions se ON se.id = tr.session_rowid"
		}
		ids := "SELECT tr.id FROM traces tr INDEXED BY " + index + join + whereClause(where) + order
		if q.Limit > 0 {
			ids += " LIMIT ?"
			args = append(args, q.Limit)
		}
		return traceSelect + " WHERE tr.id IN (" + ids + ")" + order, args, nil
	}
	sqlText := traceSelect + whereClause(where) + order
	if q.Limit > 0 {
		sqlText += " LIMIT ?"
		args = append(args, q.Limit)
	}
	return sqlText, args, nil
}

// Traces lists a project's traces in the asked order; the cursor is the row
// id of the first trace of the page.
func (s *Store) Traces(ctx context.Context, q store.TraceQuery) ([]store.Trace, error) {
	out, err := s.tracesByMinutes(ctx, q)
	if err != nil {
		return nil, err
	}
	if q.WithSpans {
		for i := range out {
			if out[i].Spans, err = s.traceSpans(ctx, out[i].RowID); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// traces reads a page of q.
func (s *Store) traces(ctx context.Context, q store.TraceQuery) ([]store.Trace, error) {
	query, args, err := tracesQuery(q)
	if err != nil {
		return nil, err
	}
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list traces: %w", err)
	}
	defer rows.Close()
	var out []store.Trace
	for rows.Next() {
		t, err := scanTrace(rows)
		if err != nil {
			return nil, fmt.Errorf("read trace: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// traceConditions adds q's conditions on a trace's errors, latency and
// filter, which read the trace's roll-ups. traces_project_stats holds the
// start, end and error count, so a page by start time skips the traces
// they leave out without reading their rows.
func traceConditions(q store.TraceQuery, where []string, args []any) ([]string, []any, error) {
	switch q.Errors {
	case store.ErrorsOnly:
		where = append(where, "tr.error_count > 0")
	case store.NoErrors:
		where = append(where, "tr.error_count = 0")
	}
	if q.MinLatency != nil {
		where = append(where, "tr.end_time - tr.start_time >= ?")
		args = append(args, *q.MinLatency)
	}
	if q.MaxLatency != nil {
		where = append(where, "tr.end_time - tr.start_time <= ?")
		args = append(args, *q.MaxLatency)
	}
	if q.Filter != nil {
		cond, cargs, err := query.CompileTraces(q.Filter, filterDialect)
		if err != nil {
			return nil, nil, fmt.Errorf("%v: %w", err, store.ErrInvalidArgument)
		}
		where = append(where, "("+cond+")")
		args = append(args, cargs...)
	}
	return where, args, nil
}

// Trace finds a trace by its hex id, with its spans in start order.
func (s *Store) Trace(ctx context.Context, traceID string) (store.Trace, error) {
	t, err := scanTrace(s.read.QueryRowContext(ctx, traceSelect+" WHERE "+traceRowIDs("tr.id", 1), traceID))
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("trace %s: %w", traceID, store.ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("read trace %s: %w", traceID, err)
	}
	t.Spans, err = s.traceSpans(ctx, t.RowID)
	return t, err
}

func (s *Store) traceSpans(ctx context.Context, traceRowID int64) ([]store.SpanRecord, error) {
	return s.querySpans(ctx, spanSelect+" WHERE s.trace_rowid = ? ORDER BY s.start_time, s.id", traceRowID)
}

const sessionSelect = `SELECT id, project_id, session_id, start_time, end_time, trace_count,
	prompt_tokens, completion_tokens, total_tokens, coalesce(user_id, ''), coalesce(first_input, ''), coalesce(last_output, ''),
	cost_total, unpriced_spans
	FROM sessions`

func scanSession(row interface{ Scan(...any) error }) (store.Session, error) {
	var s store.Session
	err := row.Scan(&s.RowID, &s.ProjectID, &s.SessionID, &s.StartTime, &s.EndTime, &s.TraceCount,
		&s.Tokens.Prompt, &s.Tokens.Completion, &s.Tokens.Total, &s.UserID, &s.FirstInput, &s.LastOutput,
		&s.Cost.Total, &s.Cost.Unpriced)
	return s, err
}

// Sessions lists a project's sessions by row id.
func (s *Store) Sessions(ctx context.Context, q store.SessionQuery) ([]store.Session, error) {
	sqlText, args, err := sessionListQuery(q)
	if err != nil {
		return nil, err
	}
	rows, err := s.read.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	var out []store.Session
	for rows.Next() {
		sess, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("read session: %w", err)
		}
		out = append(out, sess)
	}
	return out, rows.Err()
}

// sessionListQuery is the SQL of Sessions: in row-id order within the
// project, which sessions_project (migration 0025) holds them in.
func sessionListQuery(q store.SessionQuery) (string, []any, error) {
	where := []string{"project_id = ?"}
	args := []any{q.ProjectID}
	dir, cmp := "DESC", "<="
	if q.Ascending {
		dir, cmp = "ASC", ">="
	}
	if q.Cursor > 0 {
		where = append(where, "id "+cmp+" ?")
		args = append(args, q.Cursor)
	}
	if q.StartTime != 0 {
		where = append(where, "end_time >= ?")
		args = append(args, q.StartTime)
	}
	if q.EndTime != 0 {
		where = append(where, "start_time < ?")
		args = append(args, q.EndTime)
	}
	if q.Filter != nil {
		cond, cargs, err := query.CompileSessions(q.Filter, filterDialect)
		if err != nil {
			return "", nil, fmt.Errorf("%v: %w", err, store.ErrInvalidArgument)
		}
		where = append(where, "("+cond+")")
		args = append(args, cargs...)
	}
	sqlText := sessionSelect + " se" + whereClause(where) + " ORDER BY id " + dir
	if q.Limit > 0 {
		sqlText += " LIMIT ?"
		args = append(args, q.Limit)
	}
	return sqlText, args, nil
}

// Session finds a session by its session.id value.
func (s *Store) Session(ctx context.Context, sessionID string) (store.Session, error) {
	sess, err := scanSession(s.read.QueryRowContext(ctx, sessionSelect+" WHERE session_id = ?", sessionID))
	if errors.Is(err, sql.ErrNoRows) {
		return sess, fmt.Errorf("session %q: %w", sessionID, store.ErrNotFound)
	}
	return sess, err
}

// TraceByRowID finds a trace by its row id, with its spans.
func (s *Store) TraceByRowID(ctx context.Context, rowID int64) (store.Trace, error) {
	t, err := scanTrace(s.read.QueryRowContext(ctx, traceSelect+" WHERE tr.id = ?", rowID))
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("trace %d: %w", rowID, store.ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("read trace %d: %w", rowID, err)
	}
	t.Spans, err = s.traceSpans(ctx, t.RowID)
	return t, err
}

// SessionByRowID finds a session by its row id.
func (s *Store) SessionByRowID(ctx context.Context, rowID int64) (store.Session, error) {
	sess, err := scanSession(s.read.QueryRowContext(ctx, sessionSelect+" WHERE id = ?", rowID))
	if errors.Is(err, sql.ErrNoRows) {
		return sess, fmt.Errorf("session %d: %w", rowID, store.ErrNotFound)
	}
	return sess, err
}

// ExistingSpanIDs returns the ids among ids that are stored.
func (s *Store) ExistingSpanIDs(ctx context.Context, ids []string) ([]string, error) {
	var out []string
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := s.read.QueryContext(ctx, spanIDLookup("DISTINCT l.span_id", len(chunk)), args...)
		if err != nil {
			return nil, fmt.Errorf("look up spans: %w", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
