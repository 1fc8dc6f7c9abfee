package sqlite_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
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
	written := bytesWritten(b)
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
	// Bytes written (log, checkpoints and all) vary far less from run to run
	// than time does on a shared machine.
	if w := bytesWritten(b); written >= 0 && w >= 0 {
		b.ReportMetric(float64(w-written)/float64(n*b.N), "written-B/span")
	}
}

// bytesWritten is what this process has written to files so far, or -1
// where /proc/self/io is not available.
func bytesWritten(b *testing.B) int64 {
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "wchar: "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				b.Fatalf("read /proc/self/io: %v", err)
			}
			return n
		}
	}
	return -1
}
