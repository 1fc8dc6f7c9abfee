package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/loupe-dev/loupe/internal/bench/agentgen"
	"github.com/loupe-dev/loupe/internal/otlp"
	"github.com/loupe-dev/loupe/internal/store/postgres/pgtest"
)

// BenchmarkWriteSpans measures one WriteSpans transaction of agent-shaped
// spans, committed on return, into a database that grows as the benchmark
// runs: the same workload as the SQLite backend's benchmark of that name.
// The bytes per operation are the spans' OTLP protobuf size.
func BenchmarkWriteSpans(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("spans=%d", n), func(b *testing.B) {
			ctx := context.Background()
			st := open(b, pgtest.URL(b))
			res := agentgen.Resource{ServiceName: "bench", Project: "bench"}
			gen := agentgen.New(agentgen.Agent, 1, time.Unix(1_750_000_000, 0))
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
		})
	}
}
