package sqlite

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/store"
)

// BenchmarkSearch1M measures the first page (100 spans, as the REST API
// pages by default) of searches over 1,000,000 corpus spans: 990,000 in one
// project and 10,000 in another, spread over the same time. Building the
// database takes minutes; LOUPE_BENCH_DIR keeps it between runs.
//
//	LOUPE_BENCH_LARGE=1 LOUPE_BENCH_DIR=/tmp/loupe-search-1m go test ./internal/store/sqlite -run '^$' -bench BenchmarkSearch1M -v
func BenchmarkSearch1M(b *testing.B) {
	largeBenchmarks(b)
	const total, batch, small = 1_000_000, 5_000, 50 // small-project spans per batch
	ctx := context.Background()
	dir := os.Getenv("LOUPE_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	s, err := Open(ctx, dir, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	s.stopIndexer()
	var stored int64
	if err := s.read.QueryRow(`SELECT count(*) FROM spans`).Scan(&stored); err != nil {
		b.Fatal(err)
	}
	if stored < total {
		c := newCorpus(uint64(stored) + 1)
		c.n = int(stored)
		start := time.Now()
		for n := stored; n < total; n += batch {
			spans := append(c.spans("big", batch-small, 1_750_000_000_000_000_000), c.spans("small", small, 1_750_000_000_000_000_000)...)
			if _, err := s.WriteSpans(ctx, spans); err != nil {
				b.Fatal(err)
			}
		}
		b.Logf("wrote %d spans in %v", total-stored, time.Since(start).Round(time.Second))
	}
	start := time.Now()
	if err := s.WaitIndexed(ctx); err != nil {
		b.Fatal(err)
	}
	b.Logf("indexed in %v; index %.0f B/span", time.Since(start).Round(time.Second),
		float64(tableBytes(b, s.write, "span_search%"))/total)

	big, err := s.ProjectByName(ctx, "big")
	if err != nil {
		b.Fatal(err)
	}
	smallProject, err := s.ProjectByName(ctx, "small")
	if err != nil {
		b.Fatal(err)
	}
	llm, err := query.Parse("span_kind == 'LLM'")
	if err == nil {
		err = query.Check(llm)
	}
	if err != nil {
		b.Fatal(err)
	}
	var newest int64
	if err := s.read.QueryRow(`SELECT max(start_time) FROM spans`).Scan(&newest); err != nil {
		b.Fatal(err)
	}
	rare := word(english, 150_000)
	for _, tc := range []struct {
		name string
		q    store.SpanQuery
	}{
		{"common word", store.SpanQuery{ProjectID: big.ID, Search: "the"}},
		{"frequent word", store.SpanQuery{ProjectID: big.ID, Search: "refund"}},
		{"rare word", store.SpanQuery{ProjectID: big.ID, Search: rare}},
		{"absent word", store.SpanQuery{ProjectID: big.ID, Search: "zzyzx"}},
		{"French accent-free", store.SpanQuery{ProjectID: big.ID, Search: "cafe"}},
		{"Russian", store.SpanQuery{ProjectID: big.ID, Search: "заказ"}},
		{"Japanese", store.SpanQuery{ProjectID: big.ID, Search: "東京"}},
		{"phrase", store.SpanQuery{ProjectID: big.ID, Search: `"the database"`}},
		{"two words", store.SpanQuery{ProjectID: big.ID, Search: "refund invoice"}},
		{"common word and filter", store.SpanQuery{ProjectID: big.ID, Search: "the", Filter: llm}},
		{"common word, last 10 minutes", store.SpanQuery{ProjectID: big.ID, Search: "the", StartTime: newest - 600e9}},
		{"common word, first 10 minutes", store.SpanQuery{ProjectID: big.ID, Search: "the", EndTime: 1_750_000_000_000_000_000 + 600e9}},
		{"common word, small project", store.SpanQuery{ProjectID: smallProject.ID, Search: "the"}},
		{"rare word, small project", store.SpanQuery{ProjectID: smallProject.ID, Search: rare}},
	} {
		tc.q.Limit = 101
		b.Run(tc.name, func(b *testing.B) {
			var n int
			for b.Loop() {
				recs, err := s.Spans(ctx, tc.q)
				if err != nil {
					b.Fatal(err)
				}
				n = len(recs)
			}
			b.ReportMetric(float64(n), "rows")
		})
	}
}
