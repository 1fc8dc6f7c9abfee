package sqlite_test

import (
	"context"
	"testing"
	"time"
)

// BenchmarkMetricsReads measures the Metrics tab's reads over the UI
// benchmarks' corpus (see benchStore): a week of agent traces.
func BenchmarkMetricsReads(b *testing.B) {
	st, pid := benchStore(b)
	ctx := context.Background()
	weekAgo := time.Now().Add(-7 * 24 * time.Hour).UnixNano()
	hourAgo := time.Now().Add(-time.Hour).UnixNano()
	b.Run("TraceSeries/7d", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.TraceSeries(ctx, pid, weekAgo, 0, int64(6*time.Hour)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("TraceSeries/1h", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.TraceSeries(ctx, pid, hourAgo, 0, int64(5*time.Minute)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("AnnotationScoreSeries/7d", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.AnnotationScoreSeries(ctx, pid, weekAgo, 0, int64(6*time.Hour)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("PromptVersionReport/7d", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.PromptVersionReport(ctx, pid, weekAgo, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
}
