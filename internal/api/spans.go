package api

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/loupe-dev/loupe/internal/isotime"
	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/rollup"
	"github.com/loupe-dev/loupe/internal/usd"
)

type spanContextJSON struct {
	TraceID string `json:"trace_id"`
	SpanID  string `json:"span_id"`
}

type eventJSON struct {
	Name       string          `json:"name"`
	Timestamp  string          `json:"timestamp"`
	Attributes json.RawMessage `json:"attributes"`
}

type spanJSON struct {
	ID            string          `json:"id"`
	Name          string          `json:"name"`
	Context       spanContextJSON `json:"context"`
	SpanKind      string          `json:"span_kind"`
	ParentID      *string         `json:"parent_id"`
	StartTime     string          `json:"start_time"`
	EndTime       string          `json:"end_time"`
	StatusCode    string          `json:"status_code"`
	StatusMessage string          `json:"status_message"`
	Attributes    json.RawMessage `json:"attributes"`
	Events        []eventJSON     `json:"events"`
	Cost          *spanCostJSON   `json:"cost,omitempty"`
}

// spanCostJSON is what the server priced a model call at, beside Phoenix's
// span fields; a client's own llm.cost.* figures stay in the attributes.
type spanCostJSON struct {
	// Total, Prompt and Completion are null when the model has no price.
	Total      *float64 `json:"total"`
	Prompt     *float64 `json:"prompt"`
	Completion *float64 `json:"completion"`
	// Counted is false for a wrapper, whose call is counted in a span below
	// it, and for a span stored before embedding calls were counted.
	Counted bool `json:"counted"`
}

func toSpanCostJSON(r *store.SpanRecord) *spanCostJSON {
	c := &r.View.Cost
	out := &spanCostJSON{Counted: r.Counting == rollup.Counted}
	switch c.Status {
	case span.CostNoPrice:
	case span.CostPriced:
		total, prompt, completion := usd.Round(c.Total), usd.Round(c.Prompt), usd.Round(c.Completion)
		out.Total, out.Prompt, out.Completion = &total, &prompt, &completion
	default:
		return nil
	}
	return out
}

func toSpanJSON(r store.SpanRecord) (spanJSON, error) {
	out := spanJSON{
		ID:            GlobalID("Span", r.RowID),
		Name:          r.Name,
		Context:       spanContextJSON{TraceID: r.TraceID, SpanID: r.SpanID},
		SpanKind:      string(r.View.Kind),
		StartTime:     isotime.Format(r.StartTime),
		EndTime:       isotime.Format(r.EndTime),
		StatusCode:    string(r.StatusCode),
		StatusMessage: r.StatusMessage,
		Events:        []eventJSON{},
		Cost:          toSpanCostJSON(&r),
	}
	if r.ParentID != "" {
		out.ParentID = &r.ParentID
	}
	// A document that does not decode is left out rather than failing the
	// page of spans it is on (span.ReadableJSON).
	attrs, err := withoutKey(span.ReadableJSON(r.AttributesJSON), span.AttrSpanKind)
	if err != nil {
		attrs = json.RawMessage("{}")
	}
	out.Attributes = attrs
	for _, e := range span.ReadStoredEvents(r.EventsJSON) {
		out.Events = append(out.Events, eventJSON{Name: e.Name, Timestamp: isotime.Format(e.TimeUnixNano), Attributes: e.Attributes})
	}
	return out, nil
}

// withoutKey drops one key from a JSON object, as Phoenix reports the span
// kind beside the attributes rather than among them.
func withoutKey(obj json.RawMessage, key string) (json.RawMessage, error) {
	if !strings.Contains(string(obj), `"`+key+`"`) {
		return obj, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(obj, &m); err != nil {
		return nil, err
	}
	delete(m, key)
	return json.Marshal(m)
}

func (a *API) listSpans(r *http.Request) (any, error) {
	records, next, err := a.querySpans(r)
	if err != nil {
		return nil, err
	}
	data := make([]spanJSON, 0, len(records))
	for _, rec := range records {
		sj, err := toSpanJSON(rec)
		if err != nil {
			return nil, err
		}
		data = append(data, sj)
	}
	return page{Data: data, NextCursor: next}, nil
}

// querySpans runs GET …/spans's query and returns a page of records and
// the next page's cursor.
func (a *API) querySpans(r *http.Request) ([]store.SpanRecord, *string, error) {
	p, err := a.project(r)
	if err != nil {
		return nil, nil, err
	}
	q := r.URL.Query()
	sq := store.SpanQuery{ProjectID: p.ID,
		TraceIDs: listParam(q, "trace_id"), SpanIDs: listParam(q, "span_id"), Names: listParam(q, "name")}
	if sq.Limit, err = limitParam(q, 100, 1000); err != nil {
		return nil, nil, err
	}
	// sort and order (Phoenix 20.16). The cursor names the next page's
	// first span: its Span GlobalID in row id order, its start time and row
	// id in start-time order.
	switch o := q.Get("order"); o {
	case "", "desc":
	case "asc":
		sq.Ascending = true
	default:
		return nil, nil, errorf(http.StatusUnprocessableEntity, "order must be asc or desc, got %q", o)
	}
	switch srt := q.Get("sort"); srt {
	case "", "id":
		if sq.Cursor, err = cursorParam(q, "Span"); err != nil {
			return nil, nil, err
		}
	case "start_time":
		sq.OrderByStartTime = true
		if c := q.Get("cursor"); c != "" {
			if sq.Cursor, sq.CursorStartTime, err = parseSortCursor(c, cursorDatetime); err != nil {
				return nil, nil, err
			}
		}
	default:
		return nil, nil, errorf(http.StatusUnprocessableEntity, "sort must be id or start_time, got %q", srt)
	}
	if sq.StartTime, err = timeParam(q, "start_time"); err != nil {
		return nil, nil, err
	}
	if sq.EndTime, err = timeParam(q, "end_time"); err != nil {
		return nil, nil, err
	}
	for _, k := range listParam(q, "span_kind") {
		k = strings.ToUpper(k)
		if !span.ValidKind(k) {
			return nil, nil, errorf(http.StatusUnprocessableEntity, "invalid span_kind %q: use one of %v", k, span.Kinds)
		}
		sq.Kinds = append(sq.Kinds, k)
	}
	for _, c := range listParam(q, "status_code") {
		c = strings.ToUpper(c)
		if c != string(span.StatusOK) && c != string(span.StatusError) && c != string(span.StatusUnset) {
			return nil, nil, errorf(http.StatusUnprocessableEntity, "invalid status_code %q: use OK, ERROR or UNSET", c)
		}
		sq.StatusCodes = append(sq.StatusCodes, c)
	}
	switch pid := q.Get("parent_id"); pid {
	case "":
	case "null":
		sq.RootsOnly = true
	default:
		return nil, nil, errorf(http.StatusUnprocessableEntity, "parent_id only accepts \"null\" (root spans), got %q", pid)
	}
	if f := strings.TrimSpace(q.Get("filter")); f != "" {
		e, err := query.Parse(f)
		if err == nil {
			err = query.Check(e)
		}
		if err != nil {
			return nil, nil, errorf(http.StatusUnprocessableEntity, "invalid filter: %v", err)
		}
		sq.Filter = e
	}
	for _, raw := range listParam(q, "attribute") {
		m, err := parseAttributeFilter(raw)
		if err != nil {
			return nil, nil, err
		}
		sq.Attributes = append(sq.Attributes, m)
	}
	// q= is Loupe's full-text search over span text (Phoenix has none).
	sq.Search = strings.TrimSpace(q.Get("q"))
	limit := sq.Limit
	sq.Limit++
	records, err := a.Store.Spans(r.Context(), sq)
	if err != nil {
		return nil, nil, err
	}
	var next *string
	if len(records) > limit {
		n := GlobalID("Span", records[limit].RowID)
		if sq.OrderByStartTime {
			n = timeCursor(records[limit].RowID, records[limit].StartTime)
		}
		next = &n
		records = records[:limit]
	}
	return records, next, nil
}

// parseAttributeFilter reads "key:value", the value being JSON: a bool, a
// number or a string; a bare word is taken as a string.
func parseAttributeFilter(raw string) (store.AttributeMatch, error) {
	key, val, ok := strings.Cut(raw, ":")
	key = strings.TrimSpace(key)
	if !ok || key == "" {
		return store.AttributeMatch{}, errorf(http.StatusUnprocessableEntity, "attribute filter %q must look like key:value", raw)
	}
	dec := json.NewDecoder(strings.NewReader(val))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return store.AttributeMatch{Key: key, Value: val}, nil
	}
	switch x := v.(type) {
	case bool, string:
		return store.AttributeMatch{Key: key, Value: x}, nil
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return store.AttributeMatch{Key: key, Value: n}, nil
		}
		f, _ := x.Float64()
		return store.AttributeMatch{Key: key, Value: f}, nil
	}
	return store.AttributeMatch{}, errorf(http.StatusUnprocessableEntity, "attribute filter %q: value must be a string, number or boolean", raw)
}
