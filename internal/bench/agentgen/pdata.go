package agentgen

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Resource names the application that sends spans.
type Resource struct {
	ServiceName string
	Project     string // openinference.project.name; empty for none
}

// ScopeName is the instrumentation scope generated spans come from.
const ScopeName = "github.com/loupe-dev/loupe/internal/bench/agentgen"

// Traces converts spans to pdata, as one export request from res carries them.
func Traces(res Resource, spans []Span) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	ra := rs.Resource().Attributes()
	ra.PutStr("service.name", res.ServiceName)
	ra.PutStr("telemetry.sdk.language", "go")
	ra.PutStr("telemetry.sdk.name", "opentelemetry")
	if res.Project != "" {
		ra.PutStr(KeyProjectName, res.Project)
	}
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName(ScopeName)
	out := ss.Spans()
	out.EnsureCapacity(len(spans))
	for i := range spans {
		s := &spans[i]
		ps := out.AppendEmpty()
		ps.SetTraceID(pcommon.TraceID(s.TraceID))
		ps.SetSpanID(pcommon.SpanID(s.SpanID))
		if s.ParentID.IsValid() {
			ps.SetParentSpanID(pcommon.SpanID(s.ParentID))
		}
		ps.SetName(s.Name)
		ps.SetKind(spanKind(s.Kind))
		ps.SetStartTimestamp(pcommon.NewTimestampFromTime(s.Start))
		ps.SetEndTimestamp(pcommon.NewTimestampFromTime(s.End))
		putAttrs(ps.Attributes(), s.Attrs)
		for _, e := range s.Events {
			pe := ps.Events().AppendEmpty()
			pe.SetName(e.Name)
			pe.SetTimestamp(pcommon.NewTimestampFromTime(e.Time))
			putAttrs(pe.Attributes(), e.Attrs)
		}
		if s.Err != "" {
			ps.Status().SetCode(ptrace.StatusCodeError)
			ps.Status().SetMessage(s.Err)
		}
	}
	return td
}

func spanKind(k trace.SpanKind) ptrace.SpanKind {
	switch k {
	case trace.SpanKindServer:
		return ptrace.SpanKindServer
	case trace.SpanKindClient:
		return ptrace.SpanKindClient
	case trace.SpanKindProducer:
		return ptrace.SpanKindProducer
	case trace.SpanKindConsumer:
		return ptrace.SpanKindConsumer
	}
	return ptrace.SpanKindInternal
}

func putAttrs(m pcommon.Map, attrs []attribute.KeyValue) {
	m.EnsureCapacity(len(attrs))
	for _, kv := range attrs {
		k := string(kv.Key)
		switch kv.Value.Type() {
		case attribute.STRING:
			m.PutStr(k, kv.Value.AsString())
		case attribute.INT64:
			m.PutInt(k, kv.Value.AsInt64())
		case attribute.FLOAT64:
			m.PutDouble(k, kv.Value.AsFloat64())
		case attribute.BOOL:
			m.PutBool(k, kv.Value.AsBool())
		case attribute.STRINGSLICE:
			sl := m.PutEmptySlice(k)
			for _, s := range kv.Value.AsStringSlice() {
				sl.AppendEmpty().SetStr(s)
			}
		case attribute.INT64SLICE:
			sl := m.PutEmptySlice(k)
			for _, n := range kv.Value.AsInt64Slice() {
				sl.AppendEmpty().SetInt(n)
			}
		case attribute.FLOAT64SLICE:
			sl := m.PutEmptySlice(k)
			for _, f := range kv.Value.AsFloat64Slice() {
				sl.AppendEmpty().SetDouble(f)
			}
		case attribute.BOOLSLICE:
			sl := m.PutEmptySlice(k)
			for _, b := range kv.Value.AsBoolSlice() {
				sl.AppendEmpty().SetBool(b)
			}
		default:
			m.PutStr(k, kv.Value.Emit())
		}
	}
}
