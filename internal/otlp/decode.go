// Package otlp receives OpenTelemetry traces over OTLP/HTTP (protobuf and
// JSON) and OTLP/gRPC and turns them into spans for the ingest queue.
package otlp

import (
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/loupe-dev/loupe/internal/span"
)

// Decoded is the result of converting one export request.
type Decoded struct {
	Spans    []span.Span
	Rejected int64  // spans left out, reported in partial_success
	Message  string // why the first rejected span was left out
	Bytes    int    // wire size of the request, for queue accounting
}

// Decode converts an export request to normalized spans. headerProject, when
// not empty, names the project for every span (HTTP x-project-name);
// otherwise each ResourceSpans' openinference.project.name decides, then "default".
// Spans with an invalid trace or span ID, or with times the stores cannot
// hold (checkTimes), are left out and counted. Values are stored to
// span.MaxValueDepth levels (span.Normalize, and here for the resource).
func Decode(td ptrace.Traces, headerProject string) Decoded {
	var out Decoded
	out.Spans = make([]span.Span, 0, td.SpanCount())
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		res := rs.Resource().Attributes()
		project := strings.TrimSpace(headerProject)
		if project == "" {
			if v, ok := res.Get(span.AttrProjectName); ok && v.Type() == pcommon.ValueTypeStr {
				project = strings.TrimSpace(v.Str())
			}
		}
		if project == "" {
			project = span.DefaultProject
		}
		resource := convertMap(res)
		resource.LimitDepth()
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			scope := span.Scope{Name: ss.Scope().Name(), Version: ss.Scope().Version()}
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				s, err := convertSpan(spans.At(k))
				if err != nil {
					if out.Rejected == 0 {
						out.Message = err.Error()
					}
					out.Rejected++
					continue
				}
				s.Project = project
				s.Resource = resource
				s.Scope = scope
				span.Normalize(&s)
				out.Spans = append(out.Spans, s)
			}
		}
	}
	if out.Rejected > 1 {
		out.Message = fmt.Sprintf("%d spans rejected; first: %s", out.Rejected, out.Message)
	}
	return out
}

func convertSpan(ps ptrace.Span) (span.Span, error) {
	tid, sid := ps.TraceID(), ps.SpanID()
	if tid.IsEmpty() {
		return span.Span{}, fmt.Errorf("span %q has an empty trace_id", ps.Name())
	}
	if sid.IsEmpty() {
		return span.Span{}, fmt.Errorf("span %q has an empty span_id", ps.Name())
	}
	if err := checkTimes(ps, sid); err != nil {
		return span.Span{}, err
	}
	s := span.Span{
		TraceID:       hex.EncodeToString(tid[:]),
		SpanID:        hex.EncodeToString(sid[:]),
		TraceState:    ps.TraceState().AsRaw(),
		Name:          ps.Name(),
		OTelKind:      int32(ps.Kind()),
		StartTime:     int64(ps.StartTimestamp()),
		EndTime:       int64(ps.EndTimestamp()),
		StatusCode:    statusCode(ps.Status().Code()),
		StatusMessage: ps.Status().Message(),
		Attributes:    convertMap(ps.Attributes()),
	}
	if pid := ps.ParentSpanID(); !pid.IsEmpty() {
		s.ParentID = hex.EncodeToString(pid[:])
	}
	if s.EndTime == 0 {
		s.EndTime = s.StartTime
	}
	if evs := ps.Events(); evs.Len() > 0 {
		s.Events = make([]span.Event, evs.Len())
		for i := range s.Events {
			e := evs.At(i)
			s.Events[i] = span.Event{Name: e.Name(), Time: int64(e.Timestamp()), Attributes: convertMap(e.Attributes())}
		}
	}
	if links := ps.Links(); links.Len() > 0 {
		s.Links = make([]span.Link, links.Len())
		for i := range s.Links {
			l := links.At(i)
			ltid, lsid := l.TraceID(), l.SpanID()
			s.Links[i] = span.Link{
				TraceID:    hex.EncodeToString(ltid[:]),
				SpanID:     hex.EncodeToString(lsid[:]),
				TraceState: l.TraceState().AsRaw(),
				Attributes: convertMap(l.Attributes()),
			}
		}
	}
	return s, nil
}

// latestTime is the last instant int64 nanoseconds since 1970 hold, as
// the stores keep times. OTLP's fixed64 times go on past it, to 2554.
var latestTime = time.Unix(0, math.MaxInt64).UTC().Format(time.RFC3339)

// checkTimes refuses a span whose times cannot be stored as they are. A
// time past latestTime would wrap to a date before 1970; a span without a
// start time would sit at 1970 with a latency of decades, outside every
// time-bounded page and inflating its trace's latency. Every SDK sets the
// start; an unset end (0) is read as the start, and an end before the
// start (clock skew) is kept as sent.
func checkTimes(ps ptrace.Span, sid pcommon.SpanID) error {
	late := func(what string, t pcommon.Timestamp) error {
		return fmt.Errorf("span %q (span_id %s) has %s %d, after %s, the latest time Loupe stores",
			ps.Name(), hex.EncodeToString(sid[:]), what, uint64(t), latestTime)
	}
	if ps.StartTimestamp() == 0 {
		return fmt.Errorf("span %q (span_id %s) has no start_time_unix_nano", ps.Name(), hex.EncodeToString(sid[:]))
	}
	if ps.StartTimestamp() > math.MaxInt64 {
		return late("start_time_unix_nano", ps.StartTimestamp())
	}
	if ps.EndTimestamp() > math.MaxInt64 {
		return late("end_time_unix_nano", ps.EndTimestamp())
	}
	evs := ps.Events()
	for i := 0; i < evs.Len(); i++ {
		if t := evs.At(i).Timestamp(); t > math.MaxInt64 {
			return late(fmt.Sprintf("event %d (%q) time_unix_nano", i+1, evs.At(i).Name()), t)
		}
	}
	return nil
}

func statusCode(c ptrace.StatusCode) span.StatusCode {
	switch c {
	case ptrace.StatusCodeOk:
		return span.StatusOK
	case ptrace.StatusCodeError:
		return span.StatusError
	}
	return span.StatusUnset
}

func convertMap(m pcommon.Map) span.Attributes {
	if m.Len() == 0 {
		return nil
	}
	attrs := make(span.Attributes, 0, m.Len())
	for k, v := range m.All() {
		attrs = append(attrs, span.Attr{Key: k, Value: convertValue(v)})
	}
	return attrs
}

func convertValue(v pcommon.Value) span.Value {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return span.Value{Type: span.TypeString, Str: v.Str()}
	case pcommon.ValueTypeInt:
		return span.Value{Type: span.TypeInt, Int: v.Int()}
	case pcommon.ValueTypeDouble:
		return span.Value{Type: span.TypeDouble, Float: v.Double()}
	case pcommon.ValueTypeBool:
		return span.BoolValue(v.Bool())
	case pcommon.ValueTypeBytes:
		return span.Value{Type: span.TypeBytes, Str: string(v.Bytes().AsRaw())}
	case pcommon.ValueTypeSlice:
		sl := v.Slice()
		items := make([]span.Value, sl.Len())
		for i := range items {
			items[i] = convertValue(sl.At(i))
		}
		return span.Value{Type: span.TypeSlice, Slice: items}
	case pcommon.ValueTypeMap:
		return span.Value{Type: span.TypeMap, Map: convertMap(v.Map())}
	}
	return span.Value{}
}
