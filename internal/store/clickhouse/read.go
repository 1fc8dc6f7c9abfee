package clickhouse

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"golang.org/x/sync/errgroup"

	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/rollup"
)

// where builds a WHERE clause whose values are server-side parameters
// ({pN:Type}), never text in the SQL.
type where struct {
	conds []string
	args  []any
}

func (w *where) arg(typ string, v any) string {
	name := "p" + strconv.Itoa(len(w.args)+1)
	w.args = append(w.args, ch.Named(name, v))
	return "{" + name + ":" + typ + "}"
}

func (w *where) add(cond string) { w.conds = append(w.conds, cond) }

func (w *where) in(col string, values []string) {
	if len(values) == 0 {
		return
	}
	vs := make([]string, len(values))
	for i, v := range values {
		vs[i] = text(v)
	}
	w.add(col + " IN " + w.arg("Array(String)", vs))
}

func (w *where) clause() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

func limit(n int) string {
	if n <= 0 {
		return ""
	}
	return " LIMIT " + strconv.Itoa(n)
}

// projectSelect reads the latest version of each project with the end of
// its newest span.
const projectSelect = `SELECT p.id, p.name, p.description, p.created_at, p.updated_at, a.last
	FROM projects AS p FINAL LEFT JOIN (SELECT project_id, max(end_time) AS last FROM spans GROUP BY project_id) AS a
	ON a.project_id = p.id`

func (s *Store) queryProjects(ctx context.Context, sql string, args ...any) ([]store.Project, error) {
	rows, err := s.conn.Query(ctx, sql, args...)
	if err != nil {
		return nil, classify(ctx, fmt.Errorf("list projects: %w", err))
	}
	defer rows.Close()
	var out []store.Project
	for rows.Next() {
		var p store.Project
		if err := rows.Scan(&p.ID, &p.Name, &p.Description, &p.CreatedAt, &p.UpdatedAt, &p.LastSpanTime); err != nil {
			return nil, fmt.Errorf("list projects: %w", err)
		}
		out = append(out, p)
	}
	return out, classify(ctx, rows.Err())
}

// Projects lists projects, highest id first.
func (s *Store) Projects(ctx context.Context, q store.ProjectQuery) ([]store.Project, error) {
	var w where
	if q.NameContains != "" {
		w.add("positionCaseInsensitiveUTF8(p.name, " + w.arg("String", text(q.NameContains)) + ") > 0")
	}
	if q.AfterID > 0 {
		w.add("p.id <= " + w.arg("Int64", q.AfterID))
	}
	return s.queryProjects(ctx, projectSelect+w.clause()+" ORDER BY p.id DESC"+limit(q.Limit), w.args...)
}

func (s *Store) oneProject(ctx context.Context, cond string, v any, what string) (store.Project, error) {
	var w where
	w.add(fmt.Sprintf(cond, w.arg(map[bool]string{true: "String", false: "Int64"}[isString(v)], v)))
	ps, err := s.queryProjects(ctx, projectSelect+w.clause(), w.args...)
	if err != nil {
		return store.Project{}, err
	}
	if len(ps) == 0 {
		return store.Project{}, fmt.Errorf("project %s: %w", what, store.ErrNotFound)
	}
	return ps[0], nil
}

func isString(v any) bool { _, ok := v.(string); return ok }

// ProjectByName finds a project by its name.
func (s *Store) ProjectByName(ctx context.Context, name string) (store.Project, error) {
	return s.oneProject(ctx, "p.name = %s", text(name), strconv.Quote(name))
}

// ProjectByID finds a project by its row id.
func (s *Store) ProjectByID(ctx context.Context, id int64) (store.Project, error) {
	return s.oneProject(ctx, "p.id = %s", id, strconv.FormatInt(id, 10))
}

// spanSelect reads spans as s, deduplicated (FINAL): a re-sent span not yet
// merged away is read once.
const spanColumns = `s.id, s.project_id, s.trace_id, ifNull(s.parent_id, ''), s.span_id, s.name, s.span_kind,
	s.start_time, s.end_time, s.status_code, s.status_message,
	ifNull(s.model_name, ''), ifNull(s.provider, ''), ifNull(s.session_id, ''), ifNull(s.user_id, ''),
	s.input_value, ifNull(s.input_mime_type, ''), s.output_value, ifNull(s.output_mime_type, ''),
	ifNull(s.prompt_tokens, 0), ifNull(s.completion_tokens, 0), ifNull(s.total_tokens, 0),
	ifNull(s.cache_read_tokens, 0), ifNull(s.cache_write_tokens, 0), ifNull(s.reasoning_tokens, 0),
	s.attributes, ifNull(s.events, '[]'), s.otel_kind, ifNull(s.trace_state, ''),
	ifNull(s.cost_status, ''), ifNull(s.cost_total, 0), ifNull(s.cost_prompt, 0), ifNull(s.cost_completion, 0),
	ifNull(s.cost_details, ''), ifNull(s.cost_source, ''), ifNull(s.cost_entry, ''), toInt8(ifNull(s.call_state, 0)),
	s.input_preview, s.output_preview`

const spanSelect = `SELECT ` + spanColumns + ` FROM spans AS s FINAL`

func scanSpan(rows driver.Rows) (store.SpanRecord, error) {
	var r store.SpanRecord
	var in, out, inPreview, outPreview *string
	var attrs, events, kind, status, costStatus string
	var counting int8
	v := &r.View
	err := rows.Scan(&r.RowID, &r.ProjectID, &r.TraceID, &r.ParentID, &r.SpanID, &r.Name, &kind,
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
	if in != nil {
		v.InputValue = *in
	}
	if out != nil {
		v.OutputValue = *out
	}
	v.InputPreview = span.ReadPreview(deref(inPreview), inPreview != nil, v.InputValue)
	v.OutputPreview = span.ReadPreview(deref(outPreview), outPreview != nil, v.OutputValue)
	r.AttributesJSON = mergeIO([]byte(attrs), in, out)
	r.EventsJSON = json.RawMessage(events)
	return r, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// mergeIO puts input.value and output.value, stored in columns, back into
// the attribute object.
func mergeIO(attrs []byte, in, out *string) json.RawMessage {
	if in == nil && out == nil {
		return attrs
	}
	b := make([]byte, 0, len(attrs)+40)
	b = append(b, '{')
	if in != nil {
		b = span.AppendJSONString(append(b, `"input.value":`...), *in)
		b = append(b, ',')
	}
	if out != nil {
		b = span.AppendJSONString(append(b, `"output.value":`...), *out)
		b = append(b, ',')
	}
	rest := bytes.TrimPrefix(attrs, []byte("{"))
	if string(rest) == "}" {
		b = b[:len(b)-1]
	}
	return append(b, rest...)
}

func (s *Store) querySpans(ctx context.Context, sql string, args ...any) ([]store.SpanRecord, error) {
	rows, err := s.conn.Query(ctx, sql, args...)
	if err != nil {
		return nil, classify(ctx, fmt.Errorf("query spans: %w", err))
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
	if err := rows.Err(); err != nil {
		return nil, classify(ctx, err)
	}
	if err := ctx.Err(); err != nil {
		// The driver can end a stream cut by the deadline as if it were
		// whole: what was read may be part of the answer.
		return nil, fmt.Errorf("query spans: %w", err)
	}
	return out, s.currentStates(ctx, out)
}

// spansWhere is the condition and order of a SpanQuery. Row ids are
// hashes, so the order of arrival ("newest row first") is the spans'
// version, the time their batch was stored plus their place in it, and a
// row id that names where a page starts or a read is pinned is read as
// the (version, id) of its span.
func (s *Store) spansWhere(ctx context.Context, q store.SpanQuery) (*where, string, error) {
	w := &where{}
	w.add("s.project_id = " + w.arg("Int64", q.ProjectID))
	if q.Filter != nil {
		if err := w.filter(query.Compile, q.Filter); err != nil {
			return nil, "", err
		}
	}
	if q.Search != "" && !w.search(q.Search) {
		w.add("0") // a search without a word matches nothing
	}
	dir, upTo := "DESC", "<="
	if q.Ascending {
		dir, upTo = "ASC", ">="
	}
	var order string
	if q.OrderByStartTime {
		if q.Cursor > 0 {
			v, err := s.spanVersion(ctx, q.Cursor)
			if err != nil {
				return nil, "", err
			}
			w.add("(s.start_time, s.version, s.id) " + upTo + " (" + w.arg("Int64", q.CursorStartTime) + ", " +
				w.arg("Int64", v) + ", " + w.arg("Int64", q.Cursor) + ")")
		}
		order = " ORDER BY s.start_time " + dir + ", s.version " + dir + ", s.id " + dir
	} else {
		if q.Cursor > 0 {
			v, err := s.spanVersion(ctx, q.Cursor)
			if err != nil {
				return nil, "", err
			}
			w.add("(s.version, s.id) " + upTo + " (" + w.arg("Int64", v) + ", " + w.arg("Int64", q.Cursor) + ")")
		}
		order = " ORDER BY s.version " + dir + ", s.id " + dir
	}
	if q.StartTime != 0 {
		w.add("s.start_time >= " + w.arg("Int64", q.StartTime))
	}
	if q.EndTime != 0 {
		w.add("s.start_time < " + w.arg("Int64", q.EndTime))
	}
	for _, m := range q.Attributes {
		if err := attributeCondition(w, m); err != nil {
			return nil, "", err
		}
	}
	w.in("s.trace_id", q.TraceIDs)
	w.in("s.span_id", q.SpanIDs)
	w.in("s.name", q.Names)
	w.in("s.span_kind", q.Kinds)
	w.in("s.status_code", q.StatusCodes)
	if q.RootsOnly {
		w.add("s.parent_id IS NULL")
	}
	if q.MaxRowID > 0 {
		v, err := s.spanVersion(ctx, q.MaxRowID)
		if err != nil {
			return nil, "", err
		}
		w.add("(s.version, s.id) <= (" + w.arg("Int64", v) + ", " + w.arg("Int64", q.MaxRowID) + ")")
	}
	if q.HasAttribute != "" {
		above := store.AttributeKeysAbove(q.HasAttribute)
		if above == nil {
			above = []string{}
		}
		w.add("arrayExists(k -> k = " + w.arg("String", text(q.HasAttribute)) + " OR startsWith(k, " +
			w.arg("String", text(q.HasAttribute+".")) + ") OR has(" + w.arg("Array(String)", above) +
			", k), JSONExtractKeys(s.attributes))")
	}
	return w, order, nil
}

// spanVersion is the version of the span with a row id: where it falls in
// the order of arrival. A span no longer stored keeps its place as the
// newest, so a page or a pin past it still ends there.
func (s *Store) spanVersion(ctx context.Context, rowID int64) (int64, error) {
	var v int64
	err := s.conn.QueryRow(ctx, "SELECT toInt64(ifNull(max(version), 9223372036854775807)) FROM spans WHERE id = {id:Int64}",
		ch.Named("id", rowID)).Scan(&v)
	if err != nil {
		return 0, classify(ctx, fmt.Errorf("find span %d: %w", rowID, err))
	}
	return v, nil
}

// Spans lists a project's spans by row id, or by start time.
func (s *Store) Spans(ctx context.Context, q store.SpanQuery) ([]store.SpanRecord, error) {
	w, order, err := s.spansWhere(ctx, q)
	if err != nil {
		return nil, err
	}
	return s.querySpans(ctx, spanSelect+w.clause()+order+limit(q.Limit), w.args...)
}

// SpanKeys lists the keys of the spans q selects.
func (s *Store) SpanKeys(ctx context.Context, q store.SpanQuery) ([]store.SpanKey, error) {
	if q.Search != "" {
		return nil, fmt.Errorf("span keys of a search: %w", store.ErrInvalidArgument)
	}
	w, order, err := s.spansWhere(ctx, q)
	if err != nil {
		return nil, err
	}
	rows, err := s.conn.Query(ctx, "SELECT s.id, s.start_time FROM spans AS s FINAL"+w.clause()+order+limit(q.Limit), w.args...)
	if err != nil {
		return nil, classify(ctx, fmt.Errorf("query span keys: %w", err))
	}
	defer rows.Close()
	var out []store.SpanKey
	for rows.Next() {
		var k store.SpanKey
		if err := rows.Scan(&k.RowID, &k.StartTime); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(ctx, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("query span keys: %w", err) // as in querySpans
	}
	return out, nil
}

// SpansByRowID reads the spans with these row ids, in that order.
func (s *Store) SpansByRowID(ctx context.Context, rowIDs []int64, light bool) ([]store.SpanRecord, error) {
	byID := make(map[int64]store.SpanRecord, len(rowIDs))
	for start := 0; start < len(rowIDs); start += 1000 {
		var w where
		w.add("s.id IN " + w.arg("Array(Int64)", rowIDs[start:min(start+1000, len(rowIDs))]))
		recs, err := s.querySpans(ctx, spanSelect+w.clause(), w.args...)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			if light {
				var in, out *string
				if strings.Contains(string(r.AttributesJSON), `"input.value":`) {
					in = new(string)
				}
				if strings.Contains(string(r.AttributesJSON), `"output.value":`) {
					out = new(string)
				}
				r = lightRecord(r, in, out)
			}
			byID[r.RowID] = r
		}
	}
	return store.InRowIDOrder(byID, rowIDs), nil
}

func lightRecord(r store.SpanRecord, in, out *string) store.SpanRecord {
	var attrs map[string]json.RawMessage
	if json.Unmarshal(r.AttributesJSON, &attrs) == nil {
		delete(attrs, span.AttrInputValue)
		delete(attrs, span.AttrOutputValue)
	}
	b, _ := json.Marshal(attrs)
	if attrs == nil {
		b = []byte("{}")
	}
	return store.SpanRecord{RowID: r.RowID, Span: span.Span{ParentID: r.ParentID, StartTime: r.StartTime, EndTime: r.EndTime},
		AttributesJSON: mergeIO(b, in, out), EventsJSON: json.RawMessage("[]")}
}

// SpanByID finds a span by its hex span id.
func (s *Store) SpanByID(ctx context.Context, spanID string) (store.SpanRecord, error) {
	var w where
	w.add("s.span_id = " + w.arg("String", text(spanID)))
	recs, err := s.querySpans(ctx, spanSelect+w.clause()+" ORDER BY s.version, s.id LIMIT 1", w.args...)
	if err != nil {
		return store.SpanRecord{}, err
	}
	if len(recs) == 0 {
		return store.SpanRecord{}, fmt.Errorf("span %s: %w", spanID, store.ErrNotFound)
	}
	return recs[0], nil
}

// ExistingSpanIDs returns those of ids that are stored.
func (s *Store) ExistingSpanIDs(ctx context.Context, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var w where
	w.in("span_id", ids)
	rows, err := s.conn.Query(ctx, "SELECT DISTINCT span_id FROM spans"+w.clause(), w.args...)
	if err != nil {
		return nil, classify(ctx, fmt.Errorf("find span ids: %w", err))
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, classify(ctx, rows.Err())
}

const treeSelect = `SELECT s.id, s.span_id, ifNull(s.parent_id, ''), s.name, s.span_kind, s.status_code, s.start_time, s.end_time
	FROM spans AS s FINAL WHERE s.trace_rowid = {t:Int64} ORDER BY s.start_time, s.id`

// EachTreeSpan calls fn with the tree columns of every span of a trace.
func (s *Store) EachTreeSpan(ctx context.Context, traceRowID int64, fn func(*store.TreeSpan) error) error {
	rows, err := s.conn.Query(ctx, treeSelect, ch.Named("t", traceRowID))
	if err != nil {
		return classify(ctx, fmt.Errorf("read trace tree: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		var t store.TreeSpan
		if err := rows.Scan(&t.RowID, &t.SpanID, &t.ParentID, &t.Name, &t.Kind, &t.Status, &t.StartTime, &t.EndTime); err != nil {
			return err
		}
		if err := fn(&t); err != nil {
			return err
		}
	}
	return classify(ctx, rows.Err())
}

// TraceTree returns every span of a trace, in start order.
func (s *Store) TraceTree(ctx context.Context, traceRowID int64) ([]store.TreeSpan, error) {
	var out []store.TreeSpan
	err := s.EachTreeSpan(ctx, traceRowID, func(t *store.TreeSpan) error {
		out = append(out, *t)
		return nil
	})
	return out, err
}

// traceStats reads the traces that traceCond selects (a condition on the
// traces table's own columns), one row each, with their counts and times
// from the trace_stats roll-up, under the names store.Trace has: what a
// list orders, filters and pages by, without the token and cost sums,
// which a list reads for its page alone (withSums). Every part is keyed by
// trace row id and sharded by it, so on a cluster each shard joins its own
// (distributed_product_mode = local).
func traceStats(traceCond string) string { return traceStatsOf(traceCond, true) }

// traceStatsOf is traceStats, with the span, error and LLM counts left 0
// unless counts: merging their uniqExact states is most of the work of a
// list that orders by time and shows fifty rows, whose counts are read for
// them alone (withSums).
func traceStatsOf(traceCond string, counts bool) string {
	ids := "(SELECT id FROM traces FINAL WHERE " + traceCond + ")"
	countCols := `toInt64(uniqExactMerge(spans)) AS span_count, toInt64(uniqExactMerge(errors)) AS error_count,
		toInt64(uniqExactMerge(llms)) AS llm_span_count`
	if !counts {
		countCols = `toInt64(0) AS span_count, toInt64(0) AS error_count, toInt64(0) AS llm_span_count`
	}
	return `SELECT t.id AS id, t.project_id AS project_id, t.trace_id AS trace_id, t.session_rowid AS session_rowid,
		t.session_id AS session_id, r.start_time AS start_time, r.end_time AS end_time,
		ifNull(t.root_span_id, '') AS root_span_id, ifNull(t.root_name, '') AS root_name, ifNull(t.root_kind, '') AS root_kind,
		ifNull(t.root_status, '') AS root_status, r.span_count AS span_count, r.error_count AS error_count,
		r.llm_span_count AS llm_span_count,
		ifNull(t.user_id, '') AS user_id, ifNull(t.input_preview, '') AS input_preview, ifNull(t.output_preview, '') AS output_preview
	FROM (SELECT * FROM traces FINAL WHERE ` + traceCond + `) AS t
	JOIN (SELECT trace_rowid, min(start_time) AS start_time, max(end_time) AS end_time, ` + countCols + `
		FROM trace_stats WHERE trace_rowid IN ` + ids + ` GROUP BY trace_rowid) AS r ON r.trace_rowid = t.id`
}

// traceRows is traceStats with the token and cost sums of each trace's
// counted model calls, for the reads that filter or sum by them.
func traceRows(traceCond string) string {
	ids := "(SELECT id FROM traces FINAL WHERE " + traceCond + ")"
	return `SELECT x.*,
		c.prompt_tokens AS prompt_tokens, c.completion_tokens AS completion_tokens, c.total_tokens AS total_tokens,
		c.cache_read_tokens AS cache_read_tokens, c.cache_write_tokens AS cache_write_tokens, c.reasoning_tokens AS reasoning_tokens,
		c.cost_total AS cost_total, c.cost_prompt AS cost_prompt, c.cost_completion AS cost_completion, c.unpriced_spans AS unpriced_spans
	FROM (` + traceStats(traceCond) + `) AS x
	LEFT JOIN (` + callSums(ids) + `) AS c ON c.trace_rowid = x.id`
}

// callSums sums the tokens and cost of the counted model calls of the
// traces whose row ids the subquery ids yields. Reading them from the spans
// (deduplicated) with their current state makes the sums exact however
// often, and by how many servers at once, a span was sent.
func callSums(ids string) string {
	return `SELECT s.trace_rowid AS trace_rowid,
		toInt64(sumIf(ifNull(s.prompt_tokens, 0), counted)) AS prompt_tokens,
		toInt64(sumIf(ifNull(s.completion_tokens, 0), counted)) AS completion_tokens,
		toInt64(sumIf(ifNull(s.total_tokens, 0), counted)) AS total_tokens,
		toInt64(sumIf(ifNull(s.cache_read_tokens, 0), counted)) AS cache_read_tokens,
		toInt64(sumIf(ifNull(s.cache_write_tokens, 0), counted)) AS cache_write_tokens,
		toInt64(sumIf(ifNull(s.reasoning_tokens, 0), counted)) AS reasoning_tokens,
		sumIf(ifNull(s.cost_total, 0), counted AND s.cost_status = 'priced') AS cost_total,
		sumIf(ifNull(s.cost_prompt, 0), counted AND s.cost_status = 'priced') AS cost_prompt,
		sumIf(ifNull(s.cost_completion, 0), counted AND s.cost_status = 'priced') AS cost_completion,
		toInt64(countIf(counted AND s.cost_status = 'no_price')) AS unpriced_spans
	FROM (SELECT s.*, ` + stateExpr + ` = 1 AS counted FROM spans AS s FINAL
		LEFT JOIN (SELECT id, argMax(call_state, version) AS call_state FROM span_states
			WHERE trace_rowid IN ` + ids + ` GROUP BY id) AS st ON st.id = s.id
		WHERE s.trace_rowid IN ` + ids + ` AND s.call_state IS NOT NULL) AS s
	GROUP BY s.trace_rowid`
}

const traceColumns = `id, project_id, trace_id, session_rowid, session_id, start_time, end_time,
	root_span_id, root_name, root_kind, root_status, span_count, error_count, llm_span_count,
	user_id, input_preview, output_preview`

// queryTraces reads the traces of source (traceStatsOf, or traceRows when
// outer orders by their sums), outer ordering and paging them (by their
// counts too when source holds them: counts),
// then the counts and sums of the page's traces alone: summing the model
// calls of every trace of a project to show fifty of them is what made a
// list cost seconds.
func (s *Store) queryTraces(ctx context.Context, source, outer string, counts bool, args ...any) ([]store.Trace, error) {
	rows, err := s.conn.Query(ctx, "SELECT "+traceColumns+" FROM ("+source+")"+outer, args...)
	if err != nil {
		return nil, classify(ctx, fmt.Errorf("query traces: %w", err))
	}
	defer rows.Close()
	var out []store.Trace
	for rows.Next() {
		var t store.Trace
		if err := rows.Scan(&t.RowID, &t.ProjectID, &t.TraceID, &t.SessionRowID, &t.SessionID, &t.StartTime, &t.EndTime,
			&t.RootSpanID, &t.RootName, &t.RootKind, &t.RootStatus, &t.SpanCount, &t.ErrorCount, &t.LLMSpanCount,
			&t.UserID, &t.InputPreview, &t.OutputPreview); err != nil {
			return nil, fmt.Errorf("read trace: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(ctx, err)
	}
	rows.Close()
	if len(out) == 0 {
		return out, nil
	}
	ids := make([]int64, len(out))
	at := make(map[int64]*store.Trace, len(out))
	for i := range out {
		ids[i] = out[i].RowID
		at[out[i].RowID] = &out[i]
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.withSums(gctx, ids, at) })
	if !counts {
		g.Go(func() error { return s.withCounts(gctx, ids, at) })
	}
	return out, g.Wait()
}

// withCounts fills in the span, error and LLM span counts of traces.
func (s *Store) withCounts(ctx context.Context, ids []int64, at map[int64]*store.Trace) error {
	rows, err := s.conn.Query(ctx, `SELECT trace_rowid, toInt64(uniqExactMerge(spans)), toInt64(uniqExactMerge(errors)),
		toInt64(uniqExactMerge(llms)) FROM trace_stats WHERE trace_rowid IN (`+inList(ids)+`) GROUP BY trace_rowid`)
	if err != nil {
		return classify(ctx, fmt.Errorf("count traces' spans: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		var id, spans, errs, llms int64
		if err := rows.Scan(&id, &spans, &errs, &llms); err != nil {
			return fmt.Errorf("count traces' spans: %w", err)
		}
		if t := at[id]; t != nil {
			t.SpanCount, t.ErrorCount, t.LLMSpanCount = spans, errs, llms
		}
	}
	return classify(ctx, rows.Err())
}

// withSums fills in the token and cost sums of traces.
func (s *Store) withSums(ctx context.Context, ids []int64, at map[int64]*store.Trace) error {
	rows, err := s.conn.Query(ctx, `SELECT trace_rowid, prompt_tokens, completion_tokens, total_tokens,
		cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_total, cost_prompt, cost_completion, unpriced_spans
		FROM (`+callSums("("+inList(ids)+")")+`)`)
	if err != nil {
		return classify(ctx, fmt.Errorf("sum traces: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var tk span.TokenCounts
		var c store.CostTotals
		if err := rows.Scan(&id, &tk.Prompt, &tk.Completion, &tk.Total, &tk.CacheRead, &tk.CacheWrite, &tk.Reasoning,
			&c.Total, &c.Prompt, &c.Completion, &c.Unpriced); err != nil {
			return fmt.Errorf("sum traces: %w", err)
		}
		if t := at[id]; t != nil {
			t.Tokens, t.Cost = tk, c
		}
	}
	return classify(ctx, rows.Err())
}

func (s *Store) oneTrace(ctx context.Context, cond string, arg any, what string, withSpans bool) (store.Trace, error) {
	ts, err := s.queryTraces(ctx, traceStats(cond), "", true, arg)
	if err != nil {
		return store.Trace{}, err
	}
	if len(ts) == 0 {
		return store.Trace{}, fmt.Errorf("trace %s: %w", what, store.ErrNotFound)
	}
	t := ts[0]
	if withSpans {
		if t.Spans, err = s.traceSpans(ctx, t.RowID); err != nil {
			return store.Trace{}, err
		}
	}
	return t, nil
}

func (s *Store) traceSpans(ctx context.Context, traceRowID int64) ([]store.SpanRecord, error) {
	return s.querySpans(ctx, spanSelect+" WHERE s.trace_rowid = {t:Int64} ORDER BY s.start_time, s.id", ch.Named("t", traceRowID))
}

// Trace finds a trace by its hex trace id, with its spans.
func (s *Store) Trace(ctx context.Context, traceID string) (store.Trace, error) {
	return s.oneTrace(ctx, "id = {id:Int64}", ch.Named("id", traceRowID(text(traceID))), traceID, true)
}

// TraceInfo finds a trace by its hex trace id, without its spans.
func (s *Store) TraceInfo(ctx context.Context, traceID string) (store.Trace, error) {
	return s.oneTrace(ctx, "id = {id:Int64}", ch.Named("id", traceRowID(text(traceID))), traceID, false)
}

// TraceByRowID finds a trace by its row id.
func (s *Store) TraceByRowID(ctx context.Context, rowID int64) (store.Trace, error) {
	return s.oneTrace(ctx, "id = {id:Int64}", ch.Named("id", rowID), strconv.FormatInt(rowID, 10), false)
}

// Traces lists a project's traces.
func (s *Store) Traces(ctx context.Context, q store.TraceQuery) ([]store.Trace, error) {
	var w where
	cond := "project_id = " + w.arg("Int64", q.ProjectID)
	if len(q.SessionIDs) > 0 {
		vs := make([]string, len(q.SessionIDs))
		for i, v := range q.SessionIDs {
			vs[i] = text(v)
		}
		cond += " AND session_id IN " + w.arg("Array(String)", vs)
	}
	var outer where
	outer.args = w.args
	if q.StartTime != 0 {
		outer.add("start_time >= " + outer.arg("Int64", q.StartTime))
	}
	if q.EndTime != 0 {
		outer.add("start_time < " + outer.arg("Int64", q.EndTime))
	}
	switch q.Errors {
	case store.ErrorsOnly:
		outer.add("error_count > 0")
	case store.NoErrors:
		outer.add("error_count = 0")
	}
	if q.MinLatency != nil {
		outer.add("end_time - start_time >= " + outer.arg("Int64", *q.MinLatency))
	}
	if q.MaxLatency != nil {
		outer.add("end_time - start_time <= " + outer.arg("Int64", *q.MaxLatency))
	}
	if q.Filter != nil {
		if err := outer.traceFilter("id", q.ProjectID, q.Filter); err != nil {
			return nil, err
		}
	}
	key, cursorValue, err := traceSortKey(q.Sort)
	if err != nil {
		return nil, err
	}
	dir, cmp := "DESC", "<"
	if q.Ascending {
		dir, cmp = "ASC", ">"
	}
	if q.AfterRowID > 0 {
		outer.add("(" + key + ", id) " + cmp + " (" + outer.arg("Int64", q.AfterValue) + ", " + outer.arg("Int64", q.AfterRowID) + ")")
	}
	if q.Cursor > 0 {
		cond, err := s.traceCursor(ctx, &outer, key, cursorValue, map[string]string{"<": "<=", ">": ">="}[cmp], q.Cursor)
		if err != nil {
			return nil, err
		}
		outer.add(cond)
	}
	order := " ORDER BY " + key + " " + dir + ", id " + dir
	counts := q.Errors != store.AnyErrors
	source := traceStatsOf(cond, counts)
	if q.Sort == store.SortCost || q.Sort == store.SortTokens {
		source, counts = traceRows(cond), true // ordered by its sums, every trace needs them
	}
	ts, err := s.queryTraces(ctx, source, outer.clause()+order+limit(q.Limit), counts, outer.args...)
	if err != nil {
		return nil, err
	}
	if q.WithSpans {
		for i := range ts {
			if ts[i].Spans, err = s.traceSpans(ctx, ts[i].RowID); err != nil {
				return nil, err
			}
		}
	}
	return ts, nil
}

// sessionSelect reads sessions as se with the counts and times of their
// traces as r; the sums of their traces are read for the page alone
// (sessionSums).
const sessionSelect = `SELECT se.id, se.project_id, se.session_id, r.start_time, r.end_time, r.trace_count,
	ifNull(se.user_id, ''), ifNull(se.first_input, ''), ifNull(se.last_output, '')
	FROM (SELECT * FROM sessions FINAL WHERE %[1]s) AS se
	JOIN (SELECT session_rowid, min(start_time) AS start_time, max(end_time) AS end_time, toInt64(count()) AS trace_count
		FROM (%[2]s) GROUP BY session_rowid) AS r ON r.session_rowid = se.id`

// querySessions reads the sessions sessionCond selects, with the counts
// and times of their traces, which traceCond selects from the traces
// table, then the sums of the page's sessions. Sessions are sharded by
// session id and traces by trace id, so traceCond must not read the
// sessions table: a subquery in it would run on each shard's own.
func (s *Store) querySessions(ctx context.Context, sessionCond, traceCond, outer string, args ...any) ([]store.Session, error) {
	rows, err := s.conn.Query(ctx, fmt.Sprintf(sessionSelect, sessionCond, traceStats(traceCond))+outer, args...)
	if err != nil {
		return nil, classify(ctx, fmt.Errorf("query sessions: %w", err))
	}
	defer rows.Close()
	var out []store.Session
	for rows.Next() {
		var se store.Session
		if err := rows.Scan(&se.RowID, &se.ProjectID, &se.SessionID, &se.StartTime, &se.EndTime, &se.TraceCount,
			&se.UserID, &se.FirstInput, &se.LastOutput); err != nil {
			return nil, fmt.Errorf("read session: %w", err)
		}
		out = append(out, se)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(ctx, err)
	}
	rows.Close()
	return out, s.sessionSums(ctx, out, traceCond, args)
}

// sessionSums fills in the token and cost sums of sessions, over the
// traces of theirs that traceCond (bound by args) selects.
func (s *Store) sessionSums(ctx context.Context, sessions []store.Session, traceCond string, args []any) error {
	if len(sessions) == 0 {
		return nil
	}
	ids := make([]int64, len(sessions))
	at := make(map[int64]*store.Session, len(sessions))
	for i := range sessions {
		ids[i] = sessions[i].RowID
		at[sessions[i].RowID] = &sessions[i]
	}
	rows, err := s.conn.Query(ctx, `SELECT session_rowid, toInt64(sum(prompt_tokens)), toInt64(sum(completion_tokens)),
		toInt64(sum(total_tokens)), sum(cost_total), toInt64(sum(unpriced_spans))
		FROM (`+traceRows(traceCond+" AND session_rowid IN ("+inList(ids)+")")+`) GROUP BY session_rowid`, args...)
	if err != nil {
		return classify(ctx, fmt.Errorf("sum sessions: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var tk span.TokenCounts
		var c store.CostTotals
		if err := rows.Scan(&id, &tk.Prompt, &tk.Completion, &tk.Total, &c.Total, &c.Unpriced); err != nil {
			return fmt.Errorf("sum sessions: %w", err)
		}
		if se := at[id]; se != nil {
			se.Tokens, se.Cost = tk, c
		}
	}
	return classify(ctx, rows.Err())
}

// Sessions lists a project's sessions by their first trace's start (row ids
// are hashes, so the order of their creation is that of their start).
func (s *Store) Sessions(ctx context.Context, q store.SessionQuery) ([]store.Session, error) {
	var w where
	cond := "project_id = " + w.arg("Int64", q.ProjectID)
	dir, cmp := "DESC", "<="
	if q.Ascending {
		dir, cmp = "ASC", ">="
	}
	var outer where
	outer.args = w.args
	if q.Cursor > 0 {
		cond, err := s.sessionCursor(ctx, &outer, cmp, q.Cursor)
		if err != nil {
			return nil, err
		}
		outer.add(cond)
	}
	if q.Filter != nil {
		if err := outer.sessionFilter("se.id", q.ProjectID, q.Filter); err != nil {
			return nil, err
		}
	}
	if q.StartTime != 0 {
		outer.add("r.end_time >= " + outer.arg("Int64", q.StartTime))
	}
	if q.EndTime != 0 {
		outer.add("r.start_time < " + outer.arg("Int64", q.EndTime))
	}
	return s.querySessions(ctx, cond, cond+" AND session_rowid != 0", outer.clause()+" ORDER BY r.start_time "+dir+", se.id "+dir+limit(q.Limit), outer.args...)
}

func (s *Store) oneSession(ctx context.Context, id int64, what string) (store.Session, error) {
	ss, err := s.querySessions(ctx, "id = {id:Int64}", "session_rowid = {id:Int64}", "", ch.Named("id", id))
	if err != nil {
		return store.Session{}, err
	}
	if len(ss) == 0 {
		return store.Session{}, fmt.Errorf("session %s: %w", what, store.ErrNotFound)
	}
	return ss[0], nil
}

// Session finds a session by its session.id value.
func (s *Store) Session(ctx context.Context, sessionID string) (store.Session, error) {
	return s.oneSession(ctx, sessionRowID(text(sessionID)), strconv.Quote(sessionID))
}

// SessionByRowID finds a session by its row id.
func (s *Store) SessionByRowID(ctx context.Context, rowID int64) (store.Session, error) {
	return s.oneSession(ctx, rowID, strconv.FormatInt(rowID, 10))
}

// SessionTraces lists a session's traces, in start order.
func (s *Store) SessionTraces(ctx context.Context, sessionRowID int64, n int) ([]store.Trace, error) {
	return s.queryTraces(ctx, traceStats("session_rowid = {s:Int64}"), " ORDER BY start_time, id"+limit(n), true, ch.Named("s", sessionRowID))
}

// attributeCondition matches one attribute as Phoenix's attribute[] filter:
// booleans as booleans, numbers numerically, strings as text; "300" is no
// number. Keys are the flat object's own (dotted) keys.
func attributeCondition(w *where, m store.AttributeMatch) error {
	switch m.Key {
	case span.AttrInputValue:
		w.add("s.input_value = " + w.arg("String", text(fmt.Sprint(m.Value))))
		return nil
	case span.AttrOutputValue:
		w.add("s.output_value = " + w.arg("String", text(fmt.Sprint(m.Value))))
		return nil
	}
	if strings.Contains(m.Key, `"`) {
		// Refused as the other backends refuse it, so all accept the same filters.
		return fmt.Errorf("attribute key %q: %w", m.Key, store.ErrInvalidArgument)
	}
	key := w.arg("String", text(m.Key))
	switch v := m.Value.(type) {
	case bool:
		w.add("JSONType(s.attributes, " + key + ") = 'Bool' AND JSONExtractBool(s.attributes, " + key + ") = " + w.arg("Bool", v))
	case string:
		w.add("JSONType(s.attributes, " + key + ") = 'String' AND JSONExtractString(s.attributes, " + key + ") = " + w.arg("String", text(v)))
	case int64:
		w.add("JSONType(s.attributes, " + key + ") IN ('Int64', 'UInt64', 'Double') AND JSONExtractFloat(s.attributes, " + key + ") = " + w.arg("Float64", float64(v)))
	case float64:
		w.add("JSONType(s.attributes, " + key + ") IN ('Int64', 'UInt64', 'Double') AND JSONExtractFloat(s.attributes, " + key + ") = " + w.arg("Float64", v))
	default:
		return fmt.Errorf("attribute %q: unsupported value %v: %w", m.Key, m.Value, store.ErrInvalidArgument)
	}
	return nil
}

// EachSpanText calls fn with the text of every span of a trace, in start
// order, as it is read.
func (s *Store) EachSpanText(ctx context.Context, traceRowID int64, fn func(*store.SpanText) error) error {
	rows, err := s.conn.Query(ctx, `SELECT span_id, name, status_message, ifNull(input_value, ''), ifNull(output_value, ''),
		attributes, ifNull(events, '') FROM spans FINAL WHERE trace_rowid = {t:Int64} ORDER BY start_time, version, id`,
		ch.Named("t", traceRowID))
	if err != nil {
		return classify(ctx, fmt.Errorf("read text of trace %d: %w", traceRowID, err))
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
	return classify(ctx, rows.Err())
}
