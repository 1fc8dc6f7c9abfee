package bench

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/loupe-dev/loupe/internal/bench/agentgen"
)

// emit records t through tracer as instrumented code would: every span
// started inside its parent's context, children ended before their parent,
// and every timestamp moved by shift. The SDK assigns the IDs, so the same
// trace emitted twice is two traces.
func emit(ctx context.Context, tracer trace.Tracer, t agentgen.Trace, shift time.Duration) {
	ctxs := make([]context.Context, len(t.Spans))
	spans := make([]trace.Span, len(t.Spans))
	for i := range t.Spans {
		s := &t.Spans[i]
		parent := ctx
		if s.Parent >= 0 {
			parent = ctxs[s.Parent]
		}
		ctxs[i], spans[i] = tracer.Start(parent, s.Name,
			trace.WithTimestamp(s.Start.Add(shift)), trace.WithSpanKind(s.Kind), trace.WithAttributes(s.Attrs...))
		for _, e := range s.Events {
			spans[i].AddEvent(e.Name, trace.WithTimestamp(e.Time.Add(shift)), trace.WithAttributes(e.Attrs...))
		}
		if s.Err != "" {
			spans[i].SetStatus(codes.Error, s.Err)
		}
	}
	for i := len(spans) - 1; i >= 0; i-- {
		spans[i].End(trace.WithTimestamp(t.Spans[i].End.Add(shift)))
	}
}
