package span_test

import (
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/bench/agentgen"
	"github.com/loupe-dev/loupe/internal/otlp"
	"github.com/loupe-dev/loupe/internal/span"
)

// BenchmarkNormalize measures deriving the OpenInference view of
// agent-shaped spans. Normalizing a span again gives the same view, so the
// same spans serve every iteration.
func BenchmarkNormalize(b *testing.B) {
	const n = 1000
	td := agentgen.Traces(agentgen.Resource{ServiceName: "bench"},
		agentgen.New(agentgen.Agent, 1, time.Unix(1_750_000_000, 0)).Spans(n))
	spans := otlp.Decode(td, "").Spans
	b.ReportAllocs()
	for b.Loop() {
		for i := range spans {
			span.Normalize(&spans[i])
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "spans/s")
}
