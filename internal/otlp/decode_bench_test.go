package otlp_test

import (
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/loupe-dev/loupe/internal/bench/agentgen"
	"github.com/loupe-dev/loupe/internal/otlp"
)

// BenchmarkDecode measures what a receiver does with one export request of
// 200 agent-shaped spans before queueing it: unmarshal, convert, normalize.
func BenchmarkDecode(b *testing.B) {
	const n = 200
	spans := agentgen.New(agentgen.Agent, 1, time.Unix(1_750_000_000, 0)).Spans(n)
	req := ptraceotlp.NewExportRequestFromTraces(agentgen.Traces(agentgen.Resource{ServiceName: "bench", Project: "bench"}, spans))
	pb, err := req.MarshalProto()
	if err != nil {
		b.Fatal(err)
	}
	js, err := req.MarshalJSON()
	if err != nil {
		b.Fatal(err)
	}
	for _, enc := range []struct {
		name      string
		body      []byte
		unmarshal func(ptraceotlp.ExportRequest, []byte) error
	}{
		{"protobuf", pb, ptraceotlp.ExportRequest.UnmarshalProto},
		{"json", js, ptraceotlp.ExportRequest.UnmarshalJSON},
	} {
		b.Run(enc.name, func(b *testing.B) {
			b.SetBytes(int64(len(enc.body)))
			b.ReportAllocs()
			for b.Loop() {
				r := ptraceotlp.NewExportRequest()
				if err := enc.unmarshal(r, enc.body); err != nil {
					b.Fatal(err)
				}
				if d := otlp.Decode(r.Traces(), ""); len(d.Spans) != n {
					b.Fatalf("decoded %d spans, want %d", len(d.Spans), n)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "spans/s")
		})
	}
}
