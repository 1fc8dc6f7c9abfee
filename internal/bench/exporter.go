package bench

import (
	"context"
	"math/rand/v2"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"golang.org/x/sync/semaphore"
)

// Resends after a refusal wait between these, doubling: brief, so an
// overloaded server is tested at its limit rather than left idle.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = time.Second
)

// timedExporter wraps an OTLP exporter (its retries off) to time each
// request, count what the server did with it, and resend refused requests,
// so that an overload test both counts refusals and still delivers its data.
type timedExporter struct {
	next  sdktrace.SpanExporter
	probe *probe
	stats *stats
	abort <-chan struct{}     // closed when the run gives up on unsent spans
	room  *semaphore.Weighted // released as spans leave the processor's queue
}

func (e *timedExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	n := int64(len(spans))
	defer e.room.Release(n)
	backoff := minBackoff
	for {
		e.probe.reset()
		start := time.Now()
		err := e.next.ExportSpans(ctx, spans)
		elapsed := time.Since(start)
		bytes := e.probe.bytes.Load()
		e.stats.calls.Add(1)
		e.stats.bytesSent.Add(bytes)
		switch e.probe.outcome() {
		case outcomeAcked:
			// A partial success is still an answer after commit; the
			// generator never sends spans the server would reject.
			e.stats.spansAcked.Add(n)
			e.stats.bytesAcked.Add(bytes)
			e.stats.ack(elapsed)
			return nil
		case outcomeRefused:
			e.stats.callsRefused.Add(1)
			e.stats.spansRefused.Add(n)
			if !e.sleep(ctx, backoff+rand.N(backoff/2)) {
				return ctx.Err()
			}
			backoff = min(2*backoff, maxBackoff)
		default:
			e.stats.callsFailed.Add(1)
			if err != nil {
				e.stats.fail(err)
			}
			return err
		}
	}
}

// sleep waits d and reports whether to go on.
func (e *timedExporter) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-e.abort:
		return false
	}
}

func (e *timedExporter) Shutdown(ctx context.Context) error { return e.next.Shutdown(ctx) }
