// Package spantest makes spans for tests.
package spantest

import (
	"fmt"

	"github.com/loupe-dev/loupe/internal/span"
)

// T0 is when the spans of New start counting: 2024-05-01T10:00:00Z, in
// unix ns.
const T0 = int64(1714557600_000_000_000)

// New is span id of trace in project, a root when parent is 0, named "op-"
// and its kind: it starts id ms after T0 and lasts 1.5 ms, and its ids are
// the numbers in hex (HexID).
func New(project string, trace, id, parent int, kind span.Kind, attrs ...span.Attr) span.Span {
	s := span.Span{
		Project: project, TraceID: HexID(trace, 32), SpanID: HexID(id, 16), Name: "op-" + string(kind),
		StartTime: T0 + int64(id)*1e6, EndTime: T0 + int64(id)*1e6 + 1_500_000, StatusCode: span.StatusOK,
		Attributes: append(span.Attributes{{Key: span.AttrSpanKind, Value: span.StringValue(string(kind))}}, attrs...),
	}
	if parent != 0 {
		s.ParentID = HexID(parent, 16)
	}
	span.Normalize(&s)
	return s
}

// HexID writes n in width hex digits.
func HexID(n, width int) string { return fmt.Sprintf("%0*x", width, n) }
