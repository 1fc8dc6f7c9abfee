// Package spanquery answers Phoenix's SpanQuery, what phoenix-client's
// spans.get_spans_dataframe sends to POST /v1/spans: a list of queries
// (filter, select, explode, concat, rename, index) answered with one pandas
// DataFrame each, streamed as the spans are read. The semantics follow
// phoenix/trace/dsl/query.py as it runs on SQLite, the request handling
// phoenix/server/api/routers/v1/spans.py (query_spans_handler), and the
// encoding frame.go.
package spanquery

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/loupe-dev/loupe/internal/isotime"
	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// defaultLimit is QuerySpansRequestBody.limit's default.
const defaultLimit = 1000

// maxQueries bounds the queries of one request; phoenix-client sends one.
const maxQueries = 100

// Error is a request Phoenix's SpanQuery refuses, with the HTTP status it
// is answered with.
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

func errorf(status int, format string, args ...any) error {
	return &Error{Status: status, Msg: fmt.Sprintf(format, args...)}
}

// Request is a checked SpanQuery request.
type Request struct {
	queries []spanQuery
	opts    options
}

// Compile checks a request's body as Phoenix does, so that a bad filter or
// projection is refused before anything is read. Its errors are *Error.
func Compile(body Body) (Request, error) {
	var req Request
	if body.Queries == nil {
		return req, errorf(http.StatusUnprocessableEntity, "the body's queries field is required: a list of span queries")
	}
	if len(body.Queries) > maxQueries {
		return req, errorf(http.StatusUnprocessableEntity, "at most %d span queries per request, got %d", maxQueries, len(body.Queries))
	}
	for i, qj := range body.Queries {
		q, err := compileSpanQuery(qj)
		if err != nil {
			msg := "Invalid query: " + err.Error()
			if len(body.Queries) > 1 {
				msg = fmt.Sprintf("Invalid query %d: %v", i, err)
			}
			return req, &Error{Status: http.StatusUnprocessableEntity, Msg: msg}
		}
		req.queries = append(req.queries, q)
	}
	if len(req.queries) == 0 {
		return req, errorf(http.StatusNotFound, "no span queries: the body's queries list is empty")
	}
	var err error
	req.opts, err = optionsOf(body)
	return req, err
}

// Body is the request's JSON body, Phoenix's QuerySpansRequestBody.
type Body struct {
	Queries              []queryJSON `json:"queries"`
	StartTime            *string     `json:"start_time"`
	EndTime              *string     `json:"end_time"`
	StopTime             *string     `json:"stop_time"` // deprecated end_time
	Limit                *int        `json:"limit"`
	RootSpansOnly        *bool       `json:"root_spans_only"`
	OrphanSpanAsRootSpan *bool       `json:"orphan_span_as_root_span"`
	ProjectName          *string     `json:"project_name"` // deprecated: the query parameter wins
}

// queryJSON is SpanQuery.to_dict(). Objects whose member order is the
// column order are kept in order.
type queryJSON struct {
	Select orderedObject `json:"select"` // column name → {"key": expression}
	Filter *struct {
		Condition string `json:"condition"`
	} `json:"filter"`
	Explode *arrayOpJSON  `json:"explode"`
	Concat  *arrayOpJSON  `json:"concat"`
	Rename  orderedObject `json:"rename"`
	Index   *keyJSON      `json:"index"`
}

type keyJSON struct {
	Key string `json:"key"`
}

// arrayOpJSON is an Explosion or a Concatenation.
type arrayOpJSON struct {
	Key             string        `json:"key"`
	Kwargs          orderedObject `json:"kwargs"` // column name → field of each element
	PrimaryIndexKey string        `json:"primary_index_key"`
	Separator       string        `json:"separator"`
}

// member is one member of a JSON object.
type member struct {
	Key   string
	Value json.RawMessage
}

// orderedObject is a JSON object with its members in document order.
type orderedObject []member

func (o *orderedObject) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		*o = nil
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return errors.New("expected a JSON object")
	}
	*o = (*o)[:0]
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err
		}
		*o = append(*o, member{Key: t.(string), Value: v})
	}
	return nil
}

// stringValues reads an object of strings, such as kwargs or rename.
func (o orderedObject) stringValues(what string) ([]strPair, error) {
	out := make([]strPair, 0, len(o))
	for _, m := range o {
		var s string
		if err := json.Unmarshal(m.Value, &s); err != nil {
			return nil, fmt.Errorf("%s[%q] must be a string", what, m.Key)
		}
		out = append(out, strPair{m.Key, s})
	}
	return out, nil
}

// strPair is a member whose value is a string.
type strPair struct{ name, value string }

// spanQuery is a checked SpanQuery.
type spanQuery struct {
	filter  query.Expr
	selects []selectColumn
	explode *arrayOp
	concat  *arrayOp
	rename  []strPair
	index   projection
}

type selectColumn struct {
	name string
	proj projection
}

// arrayOp explodes or concatenates the list at proj.
type arrayOp struct {
	proj      projection
	kwargs    []strPair // column name → dotted field of each element
	position  string    // explode: the position column, document_position for documents
	primary   projection
	separator string
}

// options are the request-wide parts of the body.
type options struct {
	start, end int64
	limit      int
	roots      query.Expr // nil unless root spans only
}

func optionsOf(body Body) (options, error) {
	opts := options{limit: defaultLimit}
	if body.Limit != nil {
		if *body.Limit < 0 {
			return opts, errorf(http.StatusUnprocessableEntity, "limit must not be negative, got %d", *body.Limit)
		}
		opts.limit = *body.Limit
	}
	end := body.EndTime
	if end == nil || *end == "" {
		end = body.StopTime
	}
	for _, t := range []struct {
		name string
		val  *string
		dst  *int64
	}{{"start_time", body.StartTime, &opts.start}, {"end_time", end, &opts.end}} {
		if t.val == nil || *t.val == "" {
			continue
		}
		tm, err := isotime.Parse(*t.val)
		if err != nil {
			return opts, errorf(http.StatusUnprocessableEntity, "%s: %v", t.name, err)
		}
		*t.dst = tm.UnixNano()
	}
	if body.RootSpansOnly != nil && *body.RootSpansOnly {
		// Orphans (whose parent is not stored) count as roots unless the
		// client says otherwise; the filter language draws that same line.
		cond := "parent_span is None"
		if body.OrphanSpanAsRootSpan != nil && !*body.OrphanSpanAsRootSpan {
			cond = "parent_id is None"
		}
		e, err := query.Parse(cond)
		if err != nil {
			return opts, err
		}
		opts.roots = e
	}
	return opts, nil
}

// compileSpanQuery checks a query the way SpanQuery.from_dict does, so that
// a bad filter or projection is a 422 before anything is read.
func compileSpanQuery(qj queryJSON) (spanQuery, error) {
	var q spanQuery
	if qj.Filter != nil && strings.TrimSpace(qj.Filter.Condition) != "" {
		e, err := query.Parse(qj.Filter.Condition)
		if err == nil {
			err = query.Check(e)
		}
		if err != nil {
			return q, fmt.Errorf("filter condition %q: %w", qj.Filter.Condition, err)
		}
		q.filter = e
	}
	for _, m := range qj.Select {
		var k keyJSON
		if err := json.Unmarshal(m.Value, &k); err != nil {
			return q, fmt.Errorf("select[%q] must be an object with a key", m.Key)
		}
		if k.Key == "" {
			// Projection.from_dict leaves the key empty and Phoenix then
			// fails; say what is missing instead.
			return q, fmt.Errorf("select[%q] has no key", m.Key)
		}
		p, err := parseProjection(k.Key)
		if err != nil {
			return q, fmt.Errorf("select[%q]: %w", m.Key, err)
		}
		q.selects = append(q.selects, selectColumn{name: m.Key, proj: p})
	}
	var err error
	if q.explode, err = compileArrayOp(qj.Explode, "explode"); err != nil {
		return q, err
	}
	if q.concat, err = compileArrayOp(qj.Concat, "concat"); err != nil {
		return q, err
	}
	if q.rename, err = qj.Rename.stringValues("rename"); err != nil {
		return q, err
	}
	indexKey := "context.span_id"
	if qj.Index != nil && qj.Index.Key != "" {
		indexKey = qj.Index.Key
	}
	if q.index, err = parseProjection(indexKey); err != nil {
		return q, fmt.Errorf("index: %w", err)
	}
	return q, nil
}

// positionPrefixes name the explode position column of well-known lists.
var positionPrefixes = map[string]string{
	"retrieval.documents":            "document_",
	"attributes.retrieval.documents": "document_",
}

func compileArrayOp(j *arrayOpJSON, what string) (*arrayOp, error) {
	if j == nil || j.Key == "" { // from_dict ignores an operation without a key
		return nil, nil
	}
	p, err := parseProjection(j.Key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	op := &arrayOp{proj: p, position: positionPrefixes[p.key] + "position", separator: j.Separator}
	if op.separator == "" {
		op.separator = "\n\n"
	}
	if op.kwargs, err = j.Kwargs.stringValues(what + ".kwargs"); err != nil {
		return nil, err
	}
	primary := j.PrimaryIndexKey
	if primary == "" {
		primary = "context.span_id"
	}
	if op.primary, err = parseProjection(primary); err != nil {
		return nil, fmt.Errorf("%s.primary_index_key: %w", what, err)
	}
	return op, nil
}

// listOp is the explode, or without one the concat: with one, only the
// spans holding its list are row sources of the query.
func (q spanQuery) listOp() *arrayOp {
	if q.explode != nil {
		return q.explode
	}
	return q.concat
}

// listKey is the attribute key of the query's list, for the store to keep
// only the spans that may hold it; "" for none.
func (q spanQuery) listKey() string {
	if op := q.listOp(); op != nil {
		return op.proj.attributeKey()
	}
	return ""
}

// covers reports whether a span is a row source of the query: with an
// explode (or, without one, a concat) only spans holding that list are.
// Spans are counted after this, as Phoenix's LIMIT applies after its WHERE.
func (q spanQuery) covers(row *spanRow) (bool, error) {
	op := q.listOp()
	if op == nil {
		return true, nil
	}
	v, err := op.proj.value(row)
	if err != nil {
		return false, err
	}
	_, isList := v.([]any)
	return isList, nil
}

// baseRow is the index value, then the selected values but the one used as
// the index (indexSel) and any named skip (the explode position, which is
// an index column of its own).
func (q spanQuery) baseRow(r *spanRow, indexSel int, index projection, skip string) ([]any, error) {
	idx := index
	if indexSel >= 0 {
		idx = q.selects[indexSel].proj
	}
	v, err := idx.value(r)
	if err != nil {
		return nil, err
	}
	row := []any{v}
	for i, s := range q.selects {
		if i == indexSel || (skip != "" && s.name == skip) {
			continue
		}
		v, err := s.proj.value(r)
		if err != nil {
			return nil, err
		}
		row = append(row, v)
	}
	return row, nil
}

// explodeRecords turns each object of a list into a record: its fields
// flattened (or, with kwargs, the named fields that are present) and its
// position in the list.
func explodeRecords(list []any, op *arrayOp) []map[string]any {
	var out []map[string]any
	for i, e := range list {
		obj, ok := e.(map[string]any)
		if !ok {
			continue
		}
		rec := map[string]any{}
		if len(op.kwargs) == 0 {
			for _, p := range flattenPairs(obj, "", false, false, nil) {
				rec[p.key] = p.val
			}
		} else {
			for _, m := range op.kwargs {
				if v := attributeValue(obj, m.value); v != nil {
					rec[m.name] = v
				}
			}
		}
		rec[op.position] = int64(i)
		out = append(out, rec)
	}
	return out
}

// recordKeys lists a record's columns in the order pandas gives them:
// kwargs order, or the flattened fields' order.
func recordKeys(rec map[string]any, op *arrayOp) []string {
	var keys []string
	if len(op.kwargs) > 0 {
		for _, m := range op.kwargs {
			if _, ok := rec[m.name]; ok {
				keys = append(keys, m.name)
			}
		}
		return keys
	}
	for _, k := range sortedKeys(rec) {
		if k != op.position {
			keys = append(keys, k)
		}
	}
	return keys
}

func parentValue(rec *store.SpanRecord) any {
	if rec.ParentID == "" {
		return nil
	}
	return rec.ParentID
}

// spanRow is a span with its attributes decoded on first use.
type spanRow struct {
	rec    *store.SpanRecord
	stored map[string]any
}

// doc is the span's attributes as Phoenix stores them.
func (r *spanRow) doc() (map[string]any, error) {
	if r.stored != nil {
		return r.stored, nil
	}
	// A document that does not decode reads as no attributes rather than
	// failing the whole query (span.ReadableJSON).
	v, _ := decodeJSONValue(span.ReadableJSON(r.rec.AttributesJSON))
	flat, _ := v.(map[string]any)
	r.stored = storedAttributes(flat)
	return r.stored, nil
}

// events are the span's events as Phoenix stores them: name, ISO timestamp
// and attributes.
func (r *spanRow) events() ([]any, error) {
	stored := span.ReadStoredEvents(r.rec.EventsJSON)
	out := make([]any, 0, len(stored))
	for _, e := range stored {
		attrs := map[string]any{}
		if len(e.Attributes) > 0 {
			v, _ := decodeJSONValue(e.Attributes)
			if m, ok := v.(map[string]any); ok {
				attrs = m
			}
		}
		out = append(out, map[string]any{"name": e.Name, "timestamp": isotime.Format(e.TimeUnixNano), "attributes": attrs})
	}
	return out, nil
}

// --- projections ---

// projection is what a select, explode, concat or index key reads: a span
// field, or a path into the stored attributes.
type projection struct {
	key    string // the key as given (span_id and trace_id unaliased): the column or index name
	column string // a span field, or "" for an attribute path
	path   []any  // object keys (string) and list positions (int)
}

// projectionAliases are SpanQuery's _ALIASES, applied to keys and, at the
// end, to column names.
var projectionAliases = map[string]string{"span_id": "context.span_id", "trace_id": "context.trace_id"}

// spanFields are the names a projection reads from the span rather than
// its attributes; the dotted ones are Phoenix's backward-compatible spellings.
var spanFields = map[string]string{
	"span_id": "span_id", "context.span_id": "span_id",
	"trace_id": "trace_id", "context.trace_id": "trace_id",
	"parent_id": "parent_id", "span_kind": "span_kind", "name": "name",
	"status_code": "status_code", "status_message": "status_message",
	"latency_ms": "latency_ms", "start_time": "start_time", "end_time": "end_time",
	"cumulative_llm_token_count_prompt":     "cumulative",
	"cumulative_llm_token_count_completion": "cumulative",
	"cumulative_llm_token_count_total":      "cumulative",
	"cumulative_token_count.prompt":         "cumulative",
	"cumulative_token_count.completion":     "cumulative",
	"cumulative_token_count.total":          "cumulative",
}

// parseProjection reads a key as Phoenix's Projector does: a span field, a
// dotted attribute path (llm.model_name), or a subscript path
// (attributes['a']['b.c'], attributes[['a', 0]], metadata['k']).
func parseProjection(key string) (projection, error) {
	if to, ok := projectionAliases[key]; ok {
		key = to
	}
	p := projection{key: key}
	if f, ok := spanFields[strings.TrimSpace(key)]; ok {
		if f == "cumulative" {
			return p, fmt.Errorf("%s cannot be selected: Loupe computes cumulative token counts in filters only", key)
		}
		p.column = f
		return p, nil
	}
	e, err := query.Parse(key)
	if err != nil {
		return p, fmt.Errorf("invalid expression %q: %w", key, err)
	}
	path, ok := attributePath(e)
	if !ok || len(path) == 0 {
		return p, fmt.Errorf("invalid expression %q: use a span field or an attribute path such as llm.model_name or attributes['a']['b']", key)
	}
	if s, isName := path[0].(string); isName {
		if f, ok := spanFields[s]; ok && len(path) == 1 && f != "cumulative" {
			p.column = f
			return p, nil
		}
	}
	p.path = path
	return p, nil
}

// attributePath reads a dotted name or a subscript chain into path parts.
func attributePath(e query.Expr) ([]any, bool) {
	switch x := e.(type) {
	case *query.Name:
		return []any{x.Name}, true
	case *query.Attr:
		base, ok := attributePath(x.X)
		if !ok {
			return nil, false
		}
		if _, isIndex := x.X.(*query.Index); isIndex {
			return nil, false
		}
		path := append(base, x.Name)
		// attributes.llm.model_name means llm.model_name: the attributes
		// column is not itself an attribute.
		if path[0] == "attributes" && len(path) > 1 {
			path = path[1:]
		}
		return path, true
	case *query.Index:
		var keys []any
		switch k := x.Key.(type) {
		case *query.StringLit:
			keys = []any{k.Value}
		case *query.NumberLit:
			if !k.IsInt {
				return nil, false
			}
			keys = []any{int(k.Int)}
		case *query.ListExpr:
			for _, el := range k.Elems {
				switch v := el.(type) {
				case *query.StringLit:
					keys = append(keys, v.Value)
				case *query.NumberLit:
					if !v.IsInt {
						return nil, false
					}
					keys = append(keys, int(v.Int))
				default:
					return nil, false
				}
			}
		default:
			return nil, false
		}
		if len(keys) == 0 {
			return nil, false
		}
		switch base := x.X.(type) {
		case *query.Name:
			if _, isName := keys[0].(string); !isName {
				return nil, false
			}
			switch base.Name {
			case "attributes":
				return keys, true
			case "metadata":
				return append([]any{"metadata"}, keys...), true
			}
			return nil, false
		case *query.Index:
			inner, ok := attributePath(base)
			if !ok {
				return nil, false
			}
			return append(inner, keys...), true
		}
	}
	return nil, false
}

// value reads the projection from a span.
func (p projection) value(r *spanRow) (any, error) {
	rec := r.rec
	switch p.column {
	case "":
	case "span_id":
		return rec.SpanID, nil
	case "trace_id":
		return rec.TraceID, nil
	case "parent_id":
		return parentValue(rec), nil
	case "span_kind":
		return string(rec.View.Kind), nil
	case "name":
		return rec.Name, nil
	case "status_code":
		return string(rec.StatusCode), nil
	case "status_message":
		return rec.StatusMessage, nil
	case "latency_ms":
		return float64(rec.EndTime-rec.StartTime) / 1e6, nil
	case "start_time":
		return timestamp(rec.StartTime), nil
	case "end_time":
		return timestamp(rec.EndTime), nil
	}
	doc, err := r.doc()
	if err != nil {
		return nil, err
	}
	return lookup(doc, p.path), nil
}
