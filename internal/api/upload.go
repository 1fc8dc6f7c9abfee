package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/loupe-dev/loupe/internal/ingest"
	"github.com/loupe-dev/loupe/internal/isotime"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// Submitter writes spans durably (the ingest pipeline).
type Submitter interface {
	Submit(ctx context.Context, spans []span.Span) error
}

// uploadSpan is a span as GET …/spans returns it, for POST …/spans.
type uploadSpan struct {
	Name    string `json:"name"`
	Context struct {
		TraceID string `json:"trace_id"`
		SpanID  string `json:"span_id"`
	} `json:"context"`
	SpanKind      string          `json:"span_kind"`
	ParentID      *string         `json:"parent_id"`
	StartTime     string          `json:"start_time"`
	EndTime       string          `json:"end_time"`
	StatusCode    string          `json:"status_code"`
	StatusMessage string          `json:"status_message"`
	Attributes    json.RawMessage `json:"attributes"`
	Events        []struct {
		Name       string          `json:"name"`
		Timestamp  string          `json:"timestamp"`
		Attributes json.RawMessage `json:"attributes"`
	} `json:"events"`
}

var (
	hexSpanID  = regexp.MustCompile(`^[0-9a-f]{16}$`)
	errInvalid = errors.New("invalid span")
)

func (u uploadSpan) toSpan(project string) (span.Span, error) {
	s := span.Span{Project: project, Name: u.Name, TraceID: strings.ToLower(u.Context.TraceID), SpanID: strings.ToLower(u.Context.SpanID),
		StatusCode: span.StatusCode(strings.ToUpper(u.StatusCode)), StatusMessage: u.StatusMessage}
	if !hexTraceID.MatchString(s.TraceID) || !hexSpanID.MatchString(s.SpanID) {
		return s, fmt.Errorf("%w: context.trace_id must be 32 and context.span_id 16 hex digits", errInvalid)
	}
	if u.ParentID != nil && *u.ParentID != "" {
		s.ParentID = strings.ToLower(*u.ParentID)
		if !hexSpanID.MatchString(s.ParentID) {
			return s, fmt.Errorf("%w: parent_id must be 16 hex digits", errInvalid)
		}
	}
	switch s.StatusCode {
	case "":
		s.StatusCode = span.StatusUnset
	case span.StatusOK, span.StatusError, span.StatusUnset:
	default:
		return s, fmt.Errorf("%w: status_code %q", errInvalid, u.StatusCode)
	}
	start, err := isotime.Parse(u.StartTime)
	if err != nil {
		return s, fmt.Errorf("%w: start_time: %v", errInvalid, err)
	}
	end, err := isotime.Parse(u.EndTime)
	if err != nil {
		return s, fmt.Errorf("%w: end_time: %v", errInvalid, err)
	}
	if s.StartTime, err = unixNano(start); err != nil {
		return s, fmt.Errorf("%w: start_time: %v", errInvalid, err)
	}
	if s.EndTime, err = unixNano(end); err != nil {
		return s, fmt.Errorf("%w: end_time: %v", errInvalid, err)
	}
	if s.Attributes, err = flatAttributes(u.Attributes); err != nil {
		return s, fmt.Errorf("%w: attributes: %v", errInvalid, err)
	}
	if u.SpanKind != "" {
		s.Attributes.SetDefault(span.AttrSpanKind, span.StringValue(strings.ToUpper(u.SpanKind)))
	}
	for _, e := range u.Events {
		t, err := isotime.Parse(e.Timestamp)
		if err != nil {
			return s, fmt.Errorf("%w: event %q timestamp: %v", errInvalid, e.Name, err)
		}
		attrs, err := flatAttributes(e.Attributes)
		if err != nil {
			return s, fmt.Errorf("%w: event %q attributes: %v", errInvalid, e.Name, err)
		}
		ns, err := unixNano(t)
		if err != nil {
			return s, fmt.Errorf("%w: event %q timestamp: %v", errInvalid, e.Name, err)
		}
		s.Events = append(s.Events, span.Event{Name: e.Name, Time: ns, Attributes: attrs})
	}
	span.Normalize(&s)
	return s, nil
}

// unixNano is t in the int64 nanoseconds the stores keep, which reach
// from 1677 to 2262; time.UnixNano would wrap a time outside them.
func unixNano(t time.Time) (int64, error) {
	if t.Before(time.Unix(0, math.MinInt64)) || t.After(time.Unix(0, math.MaxInt64)) {
		return 0, fmt.Errorf("%s is outside the times Loupe stores (1677-09-21 to 2262-04-11)", t.Format(time.RFC3339))
	}
	return t.UnixNano(), nil
}

// flatAttributes turns a JSON object of attributes into span attributes,
// flattening nested objects (and lists of objects) into dotted keys, as
// OpenTelemetry carries them.
func flatAttributes(raw json.RawMessage) (span.Attributes, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("must be a JSON object: %v", err)
	}
	var out span.Attributes
	flatten(&out, "", m)
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func flatten(out *span.Attributes, prefix string, v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, item := range x {
			key := k
			if prefix != "" {
				key = prefix + "." + k
			}
			flatten(out, key, item)
		}
	case []any:
		if len(x) > 0 {
			if _, ok := x[0].(map[string]any); ok {
				for i, item := range x {
					flatten(out, prefix+"."+strconv.Itoa(i), item)
				}
				return
			}
		}
		*out = append(*out, span.Attr{Key: prefix, Value: jsonValue(x)})
	default:
		*out = append(*out, span.Attr{Key: prefix, Value: jsonValue(x)})
	}
}

func jsonValue(v any) span.Value {
	switch x := v.(type) {
	case string:
		return span.StringValue(x)
	case bool:
		return span.BoolValue(x)
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return span.IntValue(n)
		}
		f, _ := x.Float64()
		return span.DoubleValue(f)
	case []any:
		items := make([]span.Value, len(x))
		for i, item := range x {
			items[i] = jsonValue(item)
		}
		return span.Value{Type: span.TypeSlice, Slice: items}
	case map[string]any:
		b, _ := json.Marshal(x)
		return span.StringValue(string(b))
	}
	return span.Value{}
}

func (a *API) uploadSpans(r *http.Request) (any, error) {
	p, err := a.project(r)
	if err != nil {
		return nil, err
	}
	var body struct {
		Data []uploadSpan `json:"data"`
	}
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	spans := make([]span.Span, 0, len(body.Data))
	ids := make([]string, 0, len(body.Data))
	var invalid []string
	for i, u := range body.Data {
		s, err := u.toSpan(p.Name)
		if err != nil {
			invalid = append(invalid, fmt.Sprintf("data[%d]: %v", i, err))
			continue
		}
		spans = append(spans, s)
		ids = append(ids, s.SpanID)
	}
	dups, err := a.Store.ExistingSpanIDs(r.Context(), ids)
	if err != nil {
		return nil, err
	}
	if len(dups) > 0 || len(invalid) > 0 {
		msg := "no spans were stored:"
		if len(invalid) > 0 {
			msg += " " + strings.Join(invalid, "; ")
		}
		if len(dups) > 0 {
			msg += fmt.Sprintf(" %d spans are already stored (e.g. %s)", len(dups), dups[0])
		}
		return nil, &uploadError{status: http.StatusBadRequest, body: map[string]any{
			"detail": msg, "total_received": len(body.Data), "total_duplicates": len(dups), "total_invalid": len(invalid)}}
	}
	if err := a.Ingest.Submit(r.Context(), spans); err != nil {
		if errors.Is(err, ingest.ErrOverloaded) || errors.Is(err, ingest.ErrStopped) {
			return nil, err
		}
		// Whatever else failed in the write may pass too: the input was
		// checked, so the client should send it again.
		return nil, store.Unavailable(fmt.Errorf("store uploaded spans: %w", err))
	}
	return accepted{map[string]int{"total_received": len(body.Data), "total_queued": len(spans)}}, nil
}

// uploadError answers with a JSON body, so clients can read the counts.
type uploadError struct {
	status int
	body   map[string]any
}

func (e *uploadError) Error() string { return fmt.Sprint(e.body["detail"]) }

// accepted makes the wrapper answer 202 with the value.
type accepted struct{ v any }

type otlpValue map[string]any

type otlpAttr struct {
	Key   string    `json:"key"`
	Value otlpValue `json:"value"`
}

type otlpSpanJSON struct {
	TraceID           string          `json:"trace_id"`
	SpanID            string          `json:"span_id"`
	ParentSpanID      *string         `json:"parent_span_id"`
	Name              string          `json:"name"`
	Kind              int32           `json:"kind"`
	StartTimeUnixNano string          `json:"start_time_unix_nano"`
	EndTimeUnixNano   string          `json:"end_time_unix_nano"`
	Attributes        []otlpAttr      `json:"attributes"`
	Events            []otlpEventJSON `json:"events"`
	Status            struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"status"`
}

type otlpEventJSON struct {
	Name         string     `json:"name"`
	TimeUnixNano string     `json:"time_unix_nano"`
	Attributes   []otlpAttr `json:"attributes"`
}

func toOTLPValue(v any) otlpValue {
	switch x := v.(type) {
	case string:
		return otlpValue{"string_value": x}
	case bool:
		return otlpValue{"bool_value": x}
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return otlpValue{"int_value": n}
		}
		f, _ := x.Float64()
		return otlpValue{"double_value": f}
	case []any:
		vals := make([]otlpValue, len(x))
		for i, item := range x {
			vals[i] = toOTLPValue(item)
		}
		return otlpValue{"array_value": map[string]any{"values": vals}}
	case map[string]any:
		return otlpValue{"kvlist_value": map[string]any{"values": toOTLPAttrs(x)}}
	}
	return otlpValue{}
}

func toOTLPAttrs(m map[string]any) []otlpAttr {
	out := make([]otlpAttr, 0, len(m))
	for k, v := range m {
		out = append(out, otlpAttr{Key: k, Value: toOTLPValue(v)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func decodeObject(raw json.RawMessage) (map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	var m map[string]any
	err := dec.Decode(&m)
	return m, err
}

func toOTLPSpan(r store.SpanRecord) (otlpSpanJSON, error) {
	out := otlpSpanJSON{TraceID: r.TraceID, SpanID: r.SpanID, Name: r.Name, Kind: r.OTelKind,
		StartTimeUnixNano: strconv.FormatInt(r.StartTime, 10), EndTimeUnixNano: strconv.FormatInt(r.EndTime, 10),
		Events: []otlpEventJSON{}}
	if r.ParentID != "" {
		out.ParentSpanID = &r.ParentID
	}
	// A document that does not decode is left out rather than failing the
	// page of spans it is on (span.ReadableJSON).
	attrs, _ := decodeObject(span.ReadableJSON(r.AttributesJSON))
	out.Attributes = toOTLPAttrs(attrs)
	for _, e := range span.ReadStoredEvents(r.EventsJSON) {
		ea, _ := decodeObject(e.Attributes)
		out.Events = append(out.Events, otlpEventJSON{Name: e.Name, TimeUnixNano: strconv.FormatInt(e.TimeUnixNano, 10), Attributes: toOTLPAttrs(ea)})
	}
	out.Status.Message = r.StatusMessage
	switch r.StatusCode {
	case span.StatusOK:
		out.Status.Code = 1
	case span.StatusError:
		out.Status.Code = 2
	}
	return out, nil
}

func (a *API) listSpansOTLP(r *http.Request) (any, error) {
	records, next, err := a.querySpans(r)
	if err != nil {
		return nil, err
	}
	data := make([]otlpSpanJSON, 0, len(records))
	for _, rec := range records {
		o, err := toOTLPSpan(rec)
		if err != nil {
			return nil, err
		}
		data = append(data, o)
	}
	return page{Data: data, NextCursor: next}, nil
}
