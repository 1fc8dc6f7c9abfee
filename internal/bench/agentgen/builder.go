package agentgen

import (
	"encoding/binary"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// builder assembles one trace.
type builder struct {
	g       *Generator
	traceID trace.TraceID
	spans   []Span
}

// add appends a span and returns its index.
func (b *builder) add(parent int, name string, kind trace.SpanKind, start, end time.Time, attrs []attribute.KeyValue) int {
	s := Span{TraceID: b.traceID, Parent: parent, Name: name, Kind: kind, Start: start, End: end, Attrs: attrs}
	binary.LittleEndian.PutUint64(s.SpanID[:], b.g.rng.Uint64()|1) // never the invalid zero ID
	if parent >= 0 {
		s.ParentID = b.spans[parent].SpanID
	}
	b.spans = append(b.spans, s)
	return len(b.spans) - 1
}

// ms returns a random duration between lo and hi milliseconds.
func (b *builder) ms(lo, hi int) time.Duration {
	return time.Duration(b.g.between(lo, hi)) * time.Millisecond
}
