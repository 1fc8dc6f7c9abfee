package store

import (
	"encoding/json"

	"github.com/loupe-dev/loupe/internal/span"
)

// FeedbackAnnotation is the annotation that feedback a span carried as
// attributes becomes, with the row id of what it annotates: the span's row,
// its trace's, or its trace's session's. ok is false when there is nothing
// to annotate: feedback on the session of a trace without one (sessionRow
// 0), or about something else.
func FeedbackAnnotation(f span.Feedback, spanRow, traceRow, sessionRow int64) (a Annotation, entityRow int64, ok bool) {
	a = Annotation{Name: f.Name, Label: f.Label, Score: f.Score, Explanation: f.Explanation,
		AnnotatorKind: f.AnnotatorKind, Identifier: f.Identifier, Source: "API"}
	if f.Metadata != "" && json.Valid([]byte(f.Metadata)) {
		a.Metadata = json.RawMessage(f.Metadata)
	}
	switch f.Target {
	case span.FeedbackSpan:
		a.Kind, entityRow = SpanAnnotation, spanRow
	case span.FeedbackTrace:
		a.Kind, entityRow = TraceAnnotation, traceRow
	case span.FeedbackSession:
		a.Kind, entityRow = SessionAnnotation, sessionRow
	}
	return a, entityRow, a.Kind != "" && entityRow != 0
}
