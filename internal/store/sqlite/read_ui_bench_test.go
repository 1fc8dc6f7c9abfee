package sqlite_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/sqlite"
)

// benchTraces is the size of the UI read benchmarks' corpus: agent traces of
// 10 spans each over the last 7 days, plus one trace of hugeTraceSpans spans.
// Override with LOUPE_BENCH_TRACES.
const (
	defaultBenchTraces = 20_000
	hugeTraceSpans     = 100_000
)

func benchStore(b *testing.B) (*sqlite.Store, int64) {
	b.Helper()
	n := benchTraceCount()
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
	for t := range n {
		start := now - week + int64(t)*week/int64(n)
		batch = append(batch, agentSpans(t, start)...)
		if len(batch) >= 10_000 {
			flush()
		}
	}
	// One huge trace: a root with 1000 children of 99 spans each.
	root := mkSpan("bench", hugeID(0), hugeID(0), "", "agent.run", "AGENT", now-time.Minute.Nanoseconds(), 60_000)
	batch = append(batch, root)
	for i := 1; i < hugeTraceSpans; i++ {
		parent := hugeID(0)
		if i%100 != 1 {
			parent = hugeID(i - i%100 + 1)
		}
		batch = append(batch, mkSpan("bench", hugeID(0), hugeID(i), parent, "step", "TOOL", root.StartTime+int64(i)*1000, 1))
		if len(batch) >= 10_000 {
			flush()
		}
	}
	flush()
	if err := st.Optimize(ctx); err != nil {
		b.Fatal(err)
	}
	p, err := st.ProjectByName(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	return st, p.ID
}

// benchTraceCount is the number of agent traces in benchStore's corpus.
func benchTraceCount() int {
	if v, err := strconv.Atoi(os.Getenv("LOUPE_BENCH_TRACES")); err == nil && v > 0 {
		return v
	}
	return defaultBenchTraces
}

func hugeID(i int) string { return fmt.Sprintf("ff%014x", i) }

func mkSpan(project, traceID, spanID, parent, name, kind string, start, durMs int64) span.Span {
	s := span.Span{Project: project, TraceID: fmt.Sprintf("%032s", traceID), SpanID: spanID, ParentID: parent, Name: name,
		StartTime: start, EndTime: start + durMs*int64(time.Millisecond), StatusCode: span.StatusOK,
		Attributes: span.Attributes{{Key: span.AttrSpanKind, Value: span.StringValue(kind)}}}
	return s
}

// agentSpans is one agent trace of 10 spans with LLM messages and token counts.
func agentSpans(t int, start int64) []span.Span {
	tid := fmt.Sprintf("%016x", t)
	id := func(i int) string { return fmt.Sprintf("%014x%02x", t, i) }
	out := []span.Span{mkSpan("bench", tid, id(0), "", "agent.run", "AGENT", start, 5000+int64(t%7000))}
	out[0].Attributes = append(out[0].Attributes,
		span.Attr{Key: span.AttrInputValue, Value: span.StringValue("How do I reset my password? Please explain step by step.")},
		span.Attr{Key: span.AttrOutputValue, Value: span.StringValue("Open settings, choose Security, then Reset password and follow the email link.")},
		span.Attr{Key: span.AttrSessionID, Value: span.StringValue(fmt.Sprintf("s%d", t/5))})
	for i := 1; i < 10; i++ {
		kind := "TOOL"
		if i%3 == 1 {
			kind = "LLM"
		}
		s := mkSpan("bench", tid, id(i), id(0), "step", kind, start+int64(i)*int64(time.Millisecond)*400, 300)
		if kind == "LLM" {
			s.Attributes = append(s.Attributes,
				span.Attr{Key: span.AttrTokensPrompt, Value: span.IntValue(900)},
				span.Attr{Key: span.AttrTokensComplete, Value: span.IntValue(120)},
				span.Attr{Key: "llm.input_messages.0.message.role", Value: span.StringValue("user")},
				span.Attr{Key: "llm.input_messages.0.message.content", Value: span.StringValue("How do I reset my password? Please explain step by step, with the exact menu names.")})
		}
		out = append(out, s)
	}
	if t%20 == 0 {
		out[9].StatusCode = span.StatusError
	}
	for i := range out {
		span.Normalize(&out[i])
	}
	return out
}

// BenchmarkUIReads measures the UI's first screens over a corpus of
// defaultBenchTraces agent traces (10 spans each) and one 100k-span trace.
func BenchmarkUIReads(b *testing.B) {
	st, pid := benchStore(b)
	ctx := context.Background()
	weekAgo := time.Now().Add(-7 * 24 * time.Hour).UnixNano()
	huge, err := st.TraceInfo(ctx, fmt.Sprintf("%032s", hugeID(0)))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("ProjectStats/7d", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.ProjectStats(ctx, pid, weekAgo, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ProjectStats/1h", func(b *testing.B) {
		hourAgo := time.Now().Add(-time.Hour).UnixNano()
		for b.Loop() {
			if _, err := st.ProjectStats(ctx, pid, hourAgo, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Traces/newest/page", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.Traces(ctx, store.TraceQuery{ProjectID: pid, StartTime: weekAgo, Limit: 51}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Traces/slowest/page", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.Traces(ctx, store.TraceQuery{ProjectID: pid, StartTime: weekAgo, Sort: store.SortLatency, Limit: 51}); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The annotation chips of a page of traces: those of their root spans,
	// looked up by span id.
	b.Run("Traces/newest/root-annotations", func(b *testing.B) {
		page, err := st.Traces(ctx, store.TraceQuery{ProjectID: pid, StartTime: weekAgo, Limit: 51})
		if err != nil {
			b.Fatal(err)
		}
		var roots []string
		for _, t := range page {
			roots = append(roots, t.RootSpanID)
		}
		for b.Loop() {
			if _, err := st.Annotations(ctx, store.AnnotationQuery{Kind: store.SpanAnnotation, ProjectID: pid, EntityIDs: roots, Limit: 500}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("SpanList/newest/page", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.SpanList(ctx, store.SpanListQuery{ProjectID: pid, StartTime: weekAgo, Limit: 51}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("SpanList/roots/page", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.SpanList(ctx, store.SpanListQuery{ProjectID: pid, StartTime: weekAgo, RootsOnly: true, Limit: 51}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("SpanList/LLM/page", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.SpanList(ctx, store.SpanListQuery{ProjectID: pid, StartTime: weekAgo, Kinds: []string{"LLM"}, Limit: 51}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("TraceTree/10", func(b *testing.B) {
		t, err := st.TraceInfo(ctx, fmt.Sprintf("%032s", fmt.Sprintf("%016x", 1234)))
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := st.TraceTree(ctx, t.RowID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("TraceTree/100k", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.TraceTree(ctx, huge.RowID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("SpanByID", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.SpanByID(ctx, fmt.Sprintf("%014x%02x", 777, 1)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
