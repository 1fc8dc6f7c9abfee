package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/rollup"
)

const projectColumns = `id, name, description, created_at, updated_at, coalesce(last_span_time, 0)`

func scanProject(row pgx.Row) (store.Project, error) {
	var p store.Project
	err := row.Scan(&p.ID, &p.Name, &p.Description, &p.CreatedAt, &p.UpdatedAt, &p.LastSpanTime)
	return p, err
}

// Projects lists projects, highest id first.
func (s *Store) Projects(ctx context.Context, q store.ProjectQuery) ([]store.Project, error) {
	var w where
	if q.NameContains != "" {
		w.add("strpos(lower(name), lower(" + w.arg(text(q.NameContains)) + ")) > 0")
	}
	if q.AfterID > 0 {
		w.add("id <= " + w.arg(q.AfterID))
	}
	rows, err := s.pool.Query(ctx, "SELECT "+projectColumns+" FROM projects"+w.clause()+" ORDER BY id DESC"+w.limit(q.Limit), w.args...)
	if err != nil {
		return nil, fmt.Errorf("list projects: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanProjectRow)
	if err != nil {
		return nil, fmt.Errorf("list projects: %w", err)
	}
	return out, nil
}

// ProjectByName finds a project by its name.
func (s *Store) ProjectByName(ctx context.Context, name string) (store.Project, error) {
	p, err := scanProject(s.pool.QueryRow(ctx, "SELECT "+projectColumns+" FROM projects WHERE name = $1", text(name)))
	if errors.Is(err, pgx.ErrNoRows) {
		return p, fmt.Errorf("project %q: %w", name, store.ErrNotFound)
	}
	return p, err
}

// ProjectByID finds a project by its row id.
func (s *Store) ProjectByID(ctx context.Context, id int64) (store.Project, error) {
	p, err := scanProject(s.pool.QueryRow(ctx, "SELECT "+projectColumns+" FROM projects WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
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
	s.attributes, coalesce(s.events, '[]'::jsonb), s.otel_kind, coalesce(s.trace_state, ''),
	coalesce(s.cost_status, ''), coalesce(s.cost_total, 0), coalesce(s.cost_prompt, 0), coalesce(s.cost_completion, 0),
	coalesce(s.cost_details, ''), coalesce(s.cost_source, ''), coalesce(s.cost_entry, ''), coalesce(s.call_state, 0),
	s.input_preview, s.output_preview
	FROM spans s JOIN traces t ON t.id = s.trace_rowid`

func scanSpan(row pgx.CollectableRow) (store.SpanRecord, error) {
	var r store.SpanRecord
	var in, out, inPreview, outPreview pgtype.Text
	var attrs, events []byte
	var kind, status, costStatus string
	var counting int16
	v := &r.View
	err := row.Scan(&r.RowID, &r.ProjectID, &r.TraceID, &r.ParentID, &r.SpanID, &r.Name, &kind,
		&r.StartTime, &r.EndTime, &status, &r.StatusMessage,
		&v.ModelName, &v.Provider, &v.SessionID, &v.UserID,
		&in, &v.InputMimeType, &out, &v.OutputMimeType,
		&v.Tokens.Prompt, &v.Tokens.Completion, &v.Tokens.Total,
		&v.Tokens.CacheRead, &v.Tokens.CacheWrite, &v.Tokens.Reasoning,
		&attrs, &events, &r.OTelKind, &r.TraceState,
		&costStatus, &v.Cost.Total, &v.Cost.Prompt, &v.Cost.Completion, &v.Cost.Details, &v.Cost.Source, &v.Cost.Entry,
		&counting, &inPreview, &outPreview)
	if err != nil {
		return r, err
	}
	r.Counting = rollup.State(counting)
	v.Kind = span.Kind(kind)
	r.StatusCode = span.StatusCode(status)
	v.Cost.Status = span.CostStatus(costStatus)
	v.InputValue, v.OutputValue = in.String, out.String
	v.InputPreview = span.ReadPreview(inPreview.String, inPreview.Valid, in.String)
	v.OutputPreview = span.ReadPreview(outPreview.String, outPreview.Valid, out.String)
	r.AttributesJSON = mergeIO(compactJSON(attrs), in, out)
	r.EventsJSON = compactJSON(events)
	return r, nil
}

// mergeIO puts input.value and output.value, stored in columns, back into
// the attribute object.
func mergeIO(attrs []byte, in, out pgtype.Text) json.RawMessage {
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
	rest := strings.TrimPrefix(string(attrs), "{")
	if rest == "}" {
		b = b[:len(b)-1]
	}
	return append(b, rest...)
}

func (s *Store) querySpans(ctx context.Context, query string, args ...any) ([]store.SpanRecord, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query spans: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanSpan)
	if err != nil {
		return nil, fmt.Errorf("read span: %w", err)
	}
	return out, nil
}

// projectKeyset bounds a scan of an index on (project_id, id) to one
// project, from the cursor on when there is one. The project is matched by
// a range rather than an equality so that the planner keeps project_id in
// the sort order, which only that index provides. With an equality it may
// walk the primary key and filter, which reads every newer row of the other
// projects: millions, when this project has gone quiet and others have not.
func projectKeyset(w *where, alias string, projectID, cursor int64, ascending bool) (order string) {
	p := w.arg(projectID)
	dir, cmp, bound := "DESC", "<=", ">="
	if ascending {
		dir, cmp, bound = "ASC", ">=", "<="
	}
	w.add(alias + "project_id " + bound + " " + p)
	if cursor > 0 {
		w.add("(" + alias + "project_id, " + alias + "id) " + cmp + " (" + p + ", " + w.arg(cursor) + ")")
	} else {
		w.add(alias + "project_id " + cmp + " " + p)
	}
	return " ORDER BY " + alias + "project_id " + dir + ", " + alias + "id " + dir
}

// spansQuery is the SQL of Spans: newest row first on spans_project_id, or
// newest start first on spans_project_start.
func spansQuery(q store.SpanQuery) (string, []any, error) {
	return spansQueryOf(spanSelect, q)
}

// spansQueryOf is spansQuery selecting sel, which reads spans as s and
// joins traces as t when q names trace ids.
func spansQueryOf(sel string, q store.SpanQuery) (string, []any, error) {
	var w where
	var order string
	if q.OrderByStartTime {
		dir, upTo := "DESC", "<="
		if q.Ascending {
			dir, upTo = "ASC", ">="
		}
		w.add("s.project_id = " + w.arg(q.ProjectID))
		if q.Cursor > 0 {
			w.add("(s.start_time, s.id) " + upTo + " (" + w.arg(q.CursorStartTime) + ", " + w.arg(q.Cursor) + ")")
		}
		order = " ORDER BY s.start_time " + dir + ", s.id " + dir
	} else {
		order = projectKeyset(&w, "s.", q.ProjectID, q.Cursor, q.Ascending)
	}
	if q.StartTime != 0 {
		w.add("s.start_time >= " + w.arg(q.StartTime))
	}
	if q.EndTime != 0 {
		w.add("s.start_time < " + w.arg(q.EndTime))
	}
	w.in("t.trace_id", q.TraceIDs)
	w.in("s.span_id", q.SpanIDs)
	w.in("s.name", q.Names)
	w.in("s.span_kind", q.Kinds)
	w.in("s.status_code", q.StatusCodes)
	if q.RootsOnly {
		w.add("s.parent_id IS NULL")
	}
	for _, m := range q.Attributes {
		if err := attributeCondition(&w, m); err != nil {
			return "", nil, err
		}
	}
	if q.Filter != nil {
		if err := w.filter(query.Compile, q.Filter); err != nil {
			return "", nil, err
		}
	}
	if q.Search != "" {
		match := searchQuery(q.Search)
		if match == "" {
			// Nothing to look for (blank, punctuation) matches nothing.
			w.add("false")
		} else {
			w.add("s.search @@ " + w.arg(match) + "::tsquery")
		}
	}
	if q.MaxRowID > 0 {
		w.add("s.id <= " + w.arg(q.MaxRowID))
	}
	if q.HasAttribute != "" {
		// starts_with, not a range: text compares in the database's
		// collation, where '.' need not sort next to '/'.
		cond := "k = " + w.arg(text(q.HasAttribute)) + " OR starts_with(k, " + w.arg(text(q.HasAttribute+".")) + ")"
		if above := store.AttributeKeysAbove(q.HasAttribute); len(above) > 0 {
			cond += " OR k = ANY(" + w.arg(texts(above)) + ")"
		}
		w.add("EXISTS (SELECT 1 FROM jsonb_object_keys(s.attributes) AS k WHERE " + cond + ")")
	}
	return sel + w.clause() + order + w.limit(q.Limit), w.args, nil
}

// SpanKeys lists the keys of the spans q selects, in q's order, on
// spans_project_start (project_id, start_time, id) in start-time order.
func (s *Store) SpanKeys(ctx context.Context, q store.SpanQuery) ([]store.SpanKey, error) {
	if q.Search != "" {
		return nil, fmt.Errorf("span keys of a search: %w", store.ErrInvalidArgument)
	}
	sel := "SELECT s.id, s.start_time FROM spans s"
	if len(q.TraceIDs) > 0 {
		sel += " JOIN traces t ON t.id = s.trace_rowid"
	}
	query, args, err := spansQueryOf(sel, q)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query span keys: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.SpanKey, error) {
		var k store.SpanKey
		err := row.Scan(&k.RowID, &k.StartTime)
		return k, err
	})
	if err != nil {
		return nil, fmt.Errorf("read span keys: %w", err)
	}
	return out, nil
}

// lightSpanSelect is spanSelect for light records: the spans table
// alone, without the input and output text.
const lightSpanSelect = `SELECT s.id, coalesce(s.parent_id, ''), s.start_time, s.end_time,
	s.input_value IS NOT NULL, s.output_value IS NOT NULL, s.attributes
	FROM spans s`

// SpansByRowID reads the spans with these row ids, in that order.
func (s *Store) SpansByRowID(ctx context.Context, rowIDs []int64, light bool) ([]store.SpanRecord, error) {
	byID := make(map[int64]store.SpanRecord, len(rowIDs))
	for start := 0; start < len(rowIDs); start += 1000 {
		chunk := rowIDs[start:min(start+1000, len(rowIDs))]
		var recs []store.SpanRecord
		var err error
		if light {
			var rows pgx.Rows
			if rows, err = s.pool.Query(ctx, lightSpanSelect+" WHERE s.id = ANY($1)", chunk); err == nil {
				recs, err = pgx.CollectRows(rows, scanLightSpan)
			}
			if err != nil {
				err = fmt.Errorf("read spans: %w", err)
			}
		} else {
			recs, err = s.querySpans(ctx, spanSelect+" WHERE s.id = ANY($1)", chunk)
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

func scanLightSpan(row pgx.CollectableRow) (store.SpanRecord, error) {
	var r store.SpanRecord
	var hasIn, hasOut bool
	var attrs []byte
	if err := row.Scan(&r.RowID, &r.ParentID, &r.StartTime, &r.EndTime, &hasIn, &hasOut, &attrs); err != nil {
		return r, err
	}
	r.AttributesJSON = mergeIO(compactJSON(attrs), pgtype.Text{Valid: hasIn}, pgtype.Text{Valid: hasOut})
	r.EventsJSON = json.RawMessage("[]")
	return r, nil
}

// Spans lists a project's spans, newest row first.
func (s *Store) Spans(ctx context.Context, q store.SpanQuery) ([]store.SpanRecord, error) {
	// A filter on latency, errors, models, tokens, cost or kind reads the
	// minutes where its spans may be first (spanminutes.go), unless it
	// looks spans up by id.
	var cond where
	if q.Search == "" && len(q.TraceIDs) == 0 && len(q.SpanIDs) == 0 && minutesCondition(&cond, q) &&
		!query.LooksUpIDs(q.Filter, query.Postgres(1)) {
		if q.OrderByStartTime {
			return s.spansByMinutes(ctx, q, &cond)
		}
		// In row-id order, the minutes only tell when there is no match.
		minutes, err := s.minutesOf(ctx, "span_minutes", q.ProjectID, &cond, q.StartTime, q.EndTime, false)
		if err != nil || len(minutes) == 0 {
			return nil, err
		}
	}
	query, args, err := spansQuery(q)
	if err != nil {
		return nil, err
	}
	return s.querySpans(ctx, query, args...)
}

// attributeCondition matches one attribute as Phoenix's attribute[] filter:
// booleans as booleans, numbers numerically, strings as text. JSONB
// equality does exactly that: 300 = 300.0, but "300" is no number.
func attributeCondition(w *where, m store.AttributeMatch) error {
	switch m.Key {
	case span.AttrInputValue:
		w.add("s.input_value = " + w.arg(text(fmt.Sprint(m.Value))))
		return nil
	case span.AttrOutputValue:
		w.add("s.output_value = " + w.arg(text(fmt.Sprint(m.Value))))
		return nil
	}
	if strings.Contains(m.Key, `"`) {
		// Refused as the SQLite backend refuses it, so both accept the same filters.
		return fmt.Errorf("attribute key %q: %w", m.Key, store.ErrInvalidArgument)
	}
	switch m.Value.(type) {
	case bool, string, int64, float64:
	default:
		return fmt.Errorf("attribute %q: unsupported value %v: %w", m.Key, m.Value, store.ErrInvalidArgument)
	}
	doc, err := json.Marshal(m.Value)
	if err != nil {
		return fmt.Errorf("attribute %q: %v: %w", m.Key, err, store.ErrInvalidArgument)
	}
	w.add("s.attributes -> " + w.arg(text(m.Key)) + " = " + w.arg(jsonb(doc)) + "::jsonb")
	return nil
}

const traceSelect = `SELECT tr.id, tr.project_id, tr.trace_id, coalesce(tr.session_rowid, 0), coalesce(se.session_id, ''),
	tr.start_time, tr.end_time, coalesce(tr.root_span_id, ''), coalesce(tr.root_name, ''), coalesce(tr.root_kind, ''),
	coalesce(tr.root_status, ''), tr.span_count, tr.error_count, tr.llm_span_count,
	tr.prompt_tokens, tr.completion_tokens, tr.total_tokens, tr.cache_read_tokens, tr.cache_write_tokens, tr.reasoning_tokens,
	coalesce(tr.user_id, ''), coalesce(tr.input_preview, ''), coalesce(tr.output_preview, ''),
	tr.cost_total, tr.cost_prompt, tr.cost_completion, tr.unpriced_spans
	FROM traces tr LEFT JOIN sessions se ON se.id = tr.session_rowid`

func scanTrace(row pgx.CollectableRow) (store.Trace, error) {
	var t store.Trace
	err := row.Scan(&t.RowID, &t.ProjectID, &t.TraceID, &t.SessionRowID, &t.SessionID,
		&t.StartTime, &t.EndTime, &t.RootSpanID, &t.RootName, &t.RootKind, &t.RootStatus,
		&t.SpanCount, &t.ErrorCount, &t.LLMSpanCount,
		&t.Tokens.Prompt, &t.Tokens.Completion, &t.Tokens.Total, &t.Tokens.CacheRead, &t.Tokens.CacheWrite, &t.Tokens.Reasoning,
		&t.UserID, &t.InputPreview, &t.OutputPreview,
		&t.Cost.Total, &t.Cost.Prompt, &t.Cost.Completion, &t.Cost.Unpriced)
	return t, err
}

// tracesQuery is the SQL of Traces: a keyset range on traces_project_start
// or traces_project_latency.
func tracesQuery(q store.TraceQuery) (string, []any, error) {
	var w where
	w.add("tr.project_id = " + w.arg(q.ProjectID))
	if q.StartTime != 0 {
		w.add("tr.start_time >= " + w.arg(q.StartTime))
	}
	if q.EndTime != 0 {
		w.add("tr.start_time < " + w.arg(q.EndTime))
	}
	w.in("se.session_id", q.SessionIDs)
	key, cursorKey := "tr.start_time", "c.start_time"
	switch q.Sort {
	case store.SortLatency:
		key, cursorKey = "(tr.end_time - tr.start_time)", "(c.end_time - c.start_time)"
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
		w.add(fmt.Sprintf("(%s, tr.id) %s (SELECT %s, c.id FROM traces c WHERE c.id = %s)", key, cmp, cursorKey, w.arg(q.Cursor)))
	}
	if q.AfterRowID > 0 {
		w.add(fmt.Sprintf("(%s, tr.id) %s (%s, %s)", key, after, w.arg(q.AfterValue), w.arg(q.AfterRowID)))
	}
	switch q.Errors {
	case store.ErrorsOnly:
		w.add("tr.error_count > 0")
	case store.NoErrors:
		w.add("tr.error_count = 0")
	}
	// Written as the index traces_project_latency is, so a page by latency
	// starts at the bound.
	if q.MinLatency != nil {
		w.add("(tr.end_time - tr.start_time) >= " + w.arg(*q.MinLatency))
	}
	if q.MaxLatency != nil {
		w.add("(tr.end_time - tr.start_time) <= " + w.arg(*q.MaxLatency))
	}
	if q.Filter != nil {
		if err := w.filter(query.CompileTraces, q.Filter); err != nil {
			return "", nil, err
		}
	}
	order := key
	if len(q.SessionIDs) > 0 {
		// The sessions' traces, found on traces_session, are sorted: a
		// walk of the project's traces in order, testing each one's
		// session, can look cheaper to the planner and reads them all.
		order = key + " + 0"
	}
	return traceSelect + w.clause() + fmt.Sprintf(" ORDER BY %s %s, tr.id %s", order, dir, dir) + w.limit(q.Limit), w.args, nil
}

// Traces lists a project's traces in the asked order; the cursor is the row
// id of the first trace of the page.
func (s *Store) Traces(ctx context.Context, q store.TraceQuery) ([]store.Trace, error) {
	// A bound on latency or errors reads the minutes where a trace may
	// match first (trace_minutes).
	out, done, err := s.tracesByMinutes(ctx, q)
	if err != nil {
		return nil, err
	}
	if !done {
		query, args, err := tracesQuery(q)
		if err != nil {
			return nil, err
		}
		if out, err = s.queryTraces(ctx, query, args...); err != nil {
			return nil, err
		}
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

func (s *Store) queryTraces(ctx context.Context, query string, args ...any) ([]store.Trace, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list traces: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanTrace)
	if err != nil {
		return nil, fmt.Errorf("read trace: %w", err)
	}
	return out, nil
}

// oneTrace reads the trace query selects with arg, without its spans.
func (s *Store) oneTrace(ctx context.Context, query string, arg, name any) (store.Trace, error) {
	rows, err := s.pool.Query(ctx, query, arg)
	if err != nil {
		return store.Trace{}, fmt.Errorf("read trace %v: %w", name, err)
	}
	t, err := pgx.CollectExactlyOneRow(rows, scanTrace)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, fmt.Errorf("trace %v: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("read trace %v: %w", name, err)
	}
	return t, nil
}

// traceDetailQuery is the SQL reading a trace by its id; with traceSpansQuery,
// the trace detail page.
const traceDetailQuery = traceSelect + " WHERE tr.trace_id = $1"

// traceSpansQuery reads a trace's spans in start order, on spans_trace.
const traceSpansQuery = spanSelect + " WHERE s.trace_rowid = $1 ORDER BY s.start_time, s.id"

// Trace finds a trace by its hex id, with its spans in start order.
func (s *Store) Trace(ctx context.Context, traceID string) (store.Trace, error) {
	t, err := s.oneTrace(ctx, traceDetailQuery, text(traceID), traceID)
	if err != nil {
		return t, err
	}
	t.Spans, err = s.traceSpans(ctx, t.RowID)
	return t, err
}

// TraceByRowID finds a trace by its row id, with its spans.
func (s *Store) TraceByRowID(ctx context.Context, rowID int64) (store.Trace, error) {
	t, err := s.oneTrace(ctx, traceSelect+" WHERE tr.id = $1", rowID, rowID)
	if err != nil {
		return t, err
	}
	t.Spans, err = s.traceSpans(ctx, t.RowID)
	return t, err
}

func (s *Store) traceSpans(ctx context.Context, traceRowID int64) ([]store.SpanRecord, error) {
	return s.querySpans(ctx, traceSpansQuery, traceRowID)
}

const sessionSelect = `SELECT id, project_id, session_id, start_time, end_time, trace_count,
	prompt_tokens, completion_tokens, total_tokens, coalesce(user_id, ''), coalesce(first_input, ''), coalesce(last_output, ''),
	cost_total, unpriced_spans
	FROM sessions`

func scanSession(row pgx.CollectableRow) (store.Session, error) {
	var s store.Session
	err := row.Scan(&s.RowID, &s.ProjectID, &s.SessionID, &s.StartTime, &s.EndTime, &s.TraceCount,
		&s.Tokens.Prompt, &s.Tokens.Completion, &s.Tokens.Total, &s.UserID, &s.FirstInput, &s.LastOutput,
		&s.Cost.Total, &s.Cost.Unpriced)
	return s, err
}

// sessionsQuery is the SQL of Sessions: pages by row id on sessions_project.
func sessionsQuery(q store.SessionQuery) (string, []any, error) {
	var w where
	order := projectKeyset(&w, "", q.ProjectID, q.Cursor, q.Ascending)
	if q.StartTime != 0 {
		w.add("end_time >= " + w.arg(q.StartTime))
	}
	if q.EndTime != 0 {
		w.add("start_time < " + w.arg(q.EndTime))
	}
	if q.Filter != nil {
		if err := w.filter(query.CompileSessions, q.Filter); err != nil {
			return "", nil, err
		}
	}
	return sessionSelect + " se" + w.clause() + order + w.limit(q.Limit), w.args, nil
}

// Sessions lists a project's sessions by row id.
func (s *Store) Sessions(ctx context.Context, q store.SessionQuery) ([]store.Session, error) {
	query, args, err := sessionsQuery(q)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanSession)
	if err != nil {
		return nil, fmt.Errorf("read session: %w", err)
	}
	return out, nil
}

// sessionLookupQuery finds a session by its session.id, on its unique index.
const sessionLookupQuery = sessionSelect + " WHERE session_id = $1"

// Session finds a session by its session.id value.
func (s *Store) Session(ctx context.Context, sessionID string) (store.Session, error) {
	return s.oneSession(ctx, sessionLookupQuery, text(sessionID), sessionID)
}

// SessionByRowID finds a session by its row id.
func (s *Store) SessionByRowID(ctx context.Context, rowID int64) (store.Session, error) {
	return s.oneSession(ctx, sessionSelect+" WHERE id = $1", rowID, rowID)
}

func (s *Store) oneSession(ctx context.Context, query string, arg, name any) (store.Session, error) {
	rows, err := s.pool.Query(ctx, query, arg)
	if err != nil {
		return store.Session{}, fmt.Errorf("read session %v: %w", name, err)
	}
	sess, err := pgx.CollectExactlyOneRow(rows, scanSession)
	if errors.Is(err, pgx.ErrNoRows) {
		return sess, fmt.Errorf("session %q: %w", fmt.Sprint(name), store.ErrNotFound)
	}
	if err != nil {
		return sess, fmt.Errorf("read session %v: %w", name, err)
	}
	return sess, nil
}

// ExistingSpanIDs returns the ids among ids that are stored.
func (s *Store) ExistingSpanIDs(ctx context.Context, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, "SELECT DISTINCT span_id FROM spans WHERE span_id = ANY($1)", texts(ids))
	if err != nil {
		return nil, fmt.Errorf("look up spans: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("look up spans: %w", err)
	}
	return out, nil
}
