package sqlite_test

import (
	"context"
	"io"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store/sqlite"
)

// BenchmarkUsageByTool walks down from the newest tool calls of a project of
// 300k spans: 20,000 agent traces of 10 spans, in which two of the six tool
// calls call an LLM, and one trace of 100k spans, a root with 1000 tool
// calls of 99 spans each, one in five an LLM call.
//
//	go test ./internal/store/sqlite -run '^$' -bench BenchmarkUsageByTool
func BenchmarkUsageByTool(b *testing.B) {
	st, err := sqlite.Open(context.Background(), b.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	ctx := context.Background()
	now := time.Now().UnixNano()
	week := int64(7 * 24 * time.Hour)
	batch := make([]span.Span, 0, 10_000)
	flush := func() {
		if _, err := st.WriteSpans(ctx, batch); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	for t := range defaultBenchTraces {
		spans := agentSpans(t, now-week+int64(t)*week/defaultBenchTraces)
		spans[4].ParentID, spans[7].ParentID = spans[3].SpanID, spans[6].SpanID
		batch = append(batch, spans...)
		if len(batch) >= 10_000 {
			flush()
		}
	}
	root := mkSpan("bench", hugeID(0), hugeID(0), "", "agent.run", "AGENT", now-time.Minute.Nanoseconds(), 60_000)
	batch = append(batch, root)
	for i := 1; i < hugeTraceSpans; i++ {
		parent, kind := hugeID(0), "TOOL"
		if i%100 != 1 {
			parent = hugeID(i - i%100 + 1)
			if i%5 == 0 {
				kind = "LLM"
			}
		}
		s := mkSpan("bench", hugeID(0), hugeID(i), parent, "step", kind, root.StartTime+int64(i)*1000, 1)
		span.Normalize(&s)
		batch = append(batch, s)
		if len(batch) >= 10_000 {
			flush()
		}
	}
	flush()
	p, err := st.ProjectByName(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	hourAgo := now - int64(time.Hour)
	for _, r := range []struct {
		name       string
		start, end int64
	}{{"agent-traces", now - week, hourAgo}, {"100k-span-trace", hourAgo, math.MaxInt64}} {
		b.Run(r.name, func(b *testing.B) {
			for b.Loop() {
				if _, sampled, err := st.UsageByTool(ctx, p.ID, r.start, r.end); err != nil || !sampled {
					b.Fatalf("UsageByTool: sampled %v, %v", sampled, err)
				}
			}
		})
	}
}
