package sqlite_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/loupe-dev/loupe/internal/bench/agentgen"
	"github.com/loupe-dev/loupe/internal/otlp"
	"github.com/loupe-dev/loupe/internal/store/sqlite"
)

// BenchmarkWriteSpans measures one WriteSpans transaction of agent-shaped or
// small spans, durable on return, into a database that grows as the benchmark runs.
// The bytes per operation are the spans' OTLP protobuf size.
func BenchmarkWriteSpans(b *testing.B) {
	for _, shape := range []agentgen.Shape{agentgen.Agent, agentgen.Small} {
		for _, n := range []int{1_000, 10_000} {
			b.Run(fmt.Sprintf("%s/spans=%d", shape, n), func(b *testing.B) {
				benchmarkWriteSpans(b, shape, n)
			})
		}
	}
}

func benchmarkWriteSpans(b *testing.B, shape agentgen.Shape, n int) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, b.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	res := agentgen.Resource{ServiceName: "bench", Project: "bench"}
	gen := agentgen.New(shape, 1, time.Unix(1_750_000_000, 0))
	wire, err := ptraceotlp.NewExportRequestFromTraces(agentgen.Traces(res, gen.Spans(n))).MarshalProto()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(wire)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		// Fresh span IDs each time: a re-sent span would be skipped.
		spans := otlp.Decode(agentgen.Traces(res, gen.Spans(n)), "").Spans
		b.StartTimer()
		wr, err := st.WriteSpans(ctx, spans)
		if err != nil {
			b.Fatal(err)
		}
		if wr.Inserted != n {
			b.Fatalf("inserted %d spans, want %d", wr.Inserted, n)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "spans/s")
}
