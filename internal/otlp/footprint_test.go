package otlp

import (
	"runtime"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/loupe-dev/loupe/internal/bench/agentgen"
)

// The ingest queue bounds its memory by span.Footprint: the estimate must
// stay close to what decoded spans really keep on the heap.
func TestFootprintMatchesRetainedHeap(t *testing.T) {
	for _, shape := range []agentgen.Shape{agentgen.Agent, agentgen.Small} {
		t.Run(shape.String(), func(t *testing.T) {
			gen := agentgen.New(shape, 1, time.Unix(1_750_000_000, 0))
			wire, err := ptraceotlp.NewExportRequestFromTraces(agentgen.Traces(agentgen.Resource{ServiceName: "svc"}, gen.Spans(512))).MarshalProto()
			if err != nil {
				t.Fatal(err)
			}
			const requests = 20
			kept := make([]Decoded, 0, requests)
			var before, after runtime.MemStats
			// Twice: pools (gRPC's buffers, the body pool) keep what an
			// earlier test left through one collection, and freeing it
			// during the measurement would read as less retained.
			runtime.GC()
			runtime.GC()
			runtime.ReadMemStats(&before)
			for range requests {
				req := ptraceotlp.NewExportRequest()
				if err := req.UnmarshalProto(wire); err != nil {
					t.Fatal(err)
				}
				kept = append(kept, Decode(req.Traces(), ""))
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			retained := float64(after.HeapAlloc-before.HeapAlloc) / requests
			estimate := 0
			for i := range kept[0].Spans {
				estimate += kept[0].Spans[i].Footprint()
			}
			runtime.KeepAlive(kept)
			ratio := float64(estimate) / retained
			t.Logf("wire %d B, retained %.0f B, estimate %d B (%.2f of retained)", len(wire), retained, estimate, ratio)
			if ratio < 0.75 || ratio > 1.33 {
				t.Errorf("Footprint estimates %.2f times the heap decoded spans retain; want within a third", ratio)
			}
		})
	}
}
