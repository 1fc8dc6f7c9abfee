package spanquery

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/bench/agentgen"
	"github.com/loupe-dev/loupe/internal/otlp"
	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/sqlite"
)

// benchRecords stores n agent spans of the load generator's agent shape in
// SQLite and reads them back as a span query's two passes do: light
// records for the first, whole ones for the second.
func benchRecords(b testing.TB, n int) (light, whole []store.SpanRecord) {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, b.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	gen := agentgen.New(agentgen.Agent, 1, time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC))
	d := otlp.Decode(agentgen.Traces(agentgen.Resource{ServiceName: "bench", Project: "bench"}, gen.Spans(n)), "")
	if _, err := st.WriteSpans(ctx, d.Spans); err != nil {
		b.Fatal(err)
	}
	p, err := st.ProjectByName(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	keys, err := st.SpanKeys(ctx, store.SpanQuery{ProjectID: p.ID, OrderByStartTime: true})
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]int64, len(keys))
	for i, k := range keys {
		ids[i] = k.RowID
	}
	if light, err = st.SpansByRowID(ctx, ids, true); err != nil {
		b.Fatal(err)
	}
	if whole, err = st.SpansByRowID(ctx, ids, false); err != nil {
		b.Fatal(err)
	}
	return light, whole
}

// BenchmarkDefaultFrame is the CPU an export spends on a span between the
// store and the connection: the default frame's (get_spans_dataframe's)
// first pass over light records, its layout, and its second pass writing
// each span's row as JSON. The store's reads are left out. cpu-ns/span
// counts every goroutine's CPU, garbage collection included.
func BenchmarkDefaultFrame(b *testing.B) {
	light, whole := benchRecords(b, 2000)
	var q spanQuery
	out := make([]byte, 0, 1<<20)
	var bytes int
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		shape := q.shape().(*defaultShape)
		for i := range light {
			if err := shape.scan(&spanRow{rec: &light[i]}); err != nil {
				b.Fatal(err)
			}
		}
		t := newTable(shape.layout())
		out = t.appendHead(out[:0])
		bytes = len(out)
		for i := range whole {
			var ok bool
			var err error
			out, ok, err = shape.appendRow(out, &t, &spanRow{rec: &whole[i]}, i == 0)
			if err != nil || !ok {
				b.Fatalf("span %d: written %v, %v", i, ok, err)
			}
			if len(out) > 512<<10 {
				bytes += len(out)
				out = out[:0]
			}
		}
		bytes += len(out)
	}
	cpu := processCPU() - cpu0
	spans := float64(b.N) * float64(len(whole))
	// CPU time, garbage collection included, is what a loaded machine
	// changes least.
	b.ReportMetric(float64(cpu.Nanoseconds())/spans, "cpu-ns/span")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/spans, "ns/span")
	b.ReportMetric(float64(bytes)/float64(len(whole)), "B-out/span")
}
