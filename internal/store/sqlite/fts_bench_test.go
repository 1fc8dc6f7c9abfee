package sqlite

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/bench/agentgen"
	"github.com/loupe-dev/loupe/internal/otlp"
)

// BenchmarkWriteSpansSearch is BenchmarkWriteSpans (1,000 agent-shaped spans
// per transaction, durable on return) with the search indexer stopped and
// running beside it. With it running it also reports how far search trailed
// when the writes stopped (lag_spans) and how long the indexer then took to
// catch up (catchup_s).
//
//	go test ./internal/store/sqlite -run '^$' -bench BenchmarkWriteSpansSearch -benchtime 100x
func BenchmarkWriteSpansSearch(b *testing.B) {
	for _, indexing := range []bool{false, true} {
		name := "indexer=off"
		if indexing {
			name = "indexer=on"
		}
		b.Run(name, func(b *testing.B) {
			const n = 1_000
			ctx := context.Background()
			st, err := Open(ctx, b.TempDir(), slog.New(slog.DiscardHandler))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			if !indexing {
				st.stopIndexer()
			}
			res := agentgen.Resource{ServiceName: "bench", Project: "bench"}
			gen := agentgen.New(agentgen.Agent, 1, time.Unix(1_750_000_000, 0))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				spans := otlp.Decode(agentgen.Traces(res, gen.Spans(n)), "").Spans
				b.StartTimer()
				if _, err := st.WriteSpans(ctx, spans); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "spans/s")
			if !indexing {
				return
			}
			lag, err := st.SearchLag(ctx, 0)
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			if err := st.WaitIndexed(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(lag), "lag_spans")
			b.ReportMetric(time.Since(start).Seconds(), "catchup_s")
		})
	}
}
