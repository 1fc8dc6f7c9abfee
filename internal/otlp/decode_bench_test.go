package otlp_test

import (
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/loupe-dev/loupe/internal/bench/agentgen"
	"github.com/loupe-dev/loupe/internal/otlp"
)

// agentRequest is an export request of n agent-shaped spans, as protobuf
// and as JSON.
func agentRequest(b *testing.B, n int) (pb, js []byte) {
	spans := agentgen.New(agentgen.Agent, 1, time.Unix(1_750_000_000, 0)).Spans(n)
	req := ptraceotlp.NewExportRequestFromTraces(agentgen.Traces(agentgen.Resource{ServiceName: "bench", Project: "bench"}, spans))
	pb, err := req.MarshalProto()
	if err != nil {
		b.Fatal(err)
	}
	js, err = req.MarshalJSON()
	if err != nil {
		b.Fatal(err)
	}
	return pb, js
}

// BenchmarkDecode measures what a receiver does with one export request of
// 200 agent-shaped spans before queueing it: check its depth, unmarshal,
// convert, normalize.
func BenchmarkDecode(b *testing.B) {
	const n = 200
	pb, js := agentRequest(b, n)
	for _, enc := range []struct {
		name      string
		body      []byte
		unmarshal func(ptraceotlp.ExportRequest, []byte) error
	}{
		{"protobuf", pb, otlp.UnmarshalProto},
		{"json", js, otlp.UnmarshalJSON},
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
