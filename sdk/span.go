package loupe

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	oi "github.com/loupe-dev/loupe/sdk/openinference"
)

// Span is an OpenTelemetry span started by a Tracer. It is a trace.Span whose
// SetAttributes applies the Tracer's masking and whose RecordError also marks
// the span as failed.
type Span struct {
	trace.Span
	config *TraceConfig
}

// SetAttributes sets attributes after masking them.
func (s *Span) SetAttributes(kv ...attribute.KeyValue) {
	s.Span.SetAttributes(s.config.maskAll(kv)...)
}

// SetInput sets input.value and input.mime_type: text/plain for strings,
// booleans and numbers, application/json for anything else (a
// json.RawMessage is written as it is).
func (s *Span) SetInput(v any) {
	s.SetAttributes(valueAttrs(oi.InputValue, oi.InputMimeType, v)...)
}

// SetOutput sets output.value and output.mime_type, like SetInput.
func (s *Span) SetOutput(v any) {
	s.SetAttributes(valueAttrs(oi.OutputValue, oi.OutputMimeType, v)...)
}

// RecordError records err as an exception event and sets the span status to
// ERROR with the error's message. A nil err is ignored.
func (s *Span) RecordError(err error, opts ...trace.EventOption) {
	if err == nil {
		return
	}
	s.Span.RecordError(err, opts...)
	s.Span.SetStatus(codes.Error, err.Error())
}

// Finish ends the span with the outcome of the work it covers: on error it
// records err, otherwise it sets the output (unless nil) and the status OK.
func (s *Span) Finish(output any, err error) {
	if err != nil {
		s.RecordError(err)
	} else {
		if output != nil {
			s.SetOutput(output)
		}
		s.Span.SetStatus(codes.Ok, "")
	}
	s.End()
}

// valueAttrs returns the value and mime type attributes for v, or nothing
// for a nil v.
func valueAttrs(valueKey, mimeKey string, v any) []attribute.KeyValue {
	if v == nil {
		return nil
	}
	value, mime := encodeValue(v)
	return []attribute.KeyValue{attribute.String(valueKey, value), attribute.String(mimeKey, mime)}
}
