package web

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/span"
)

// BenchmarkHugeTrace measures the first view of a trace of 100,000 spans (a
// root with 1,000 steps of 99 spans each) and the opening of one step.
func BenchmarkHugeTrace(b *testing.B) {
	e := newEnv(b)
	const n = 100_000
	traceID := fmt.Sprintf("%032x", 0xabc)
	start := time.Now().Add(-time.Hour).UnixNano()
	id := func(i int) string { return fmt.Sprintf("%016x", i+1) }
	batch := make([]span.Span, 0, 10_000)
	for i := range n {
		s := span.Span{Project: "big", TraceID: traceID, SpanID: id(i), Name: fmt.Sprintf("step %d", i),
			StartTime: start + int64(i)*1e6, EndTime: start + int64(i)*1e6 + 5e5, StatusCode: span.StatusOK,
			Attributes: span.Attributes{str(span.AttrSpanKind, "TOOL"), str("input.value", "some input")}}
		switch {
		case i == 0:
			s.EndTime = start + n*1e6
		case i%100 == 1:
			s.ParentID = id(0)
		default:
			s.ParentID = id(i - i%100 + 1)
		}
		batch = append(batch, s)
		if len(batch) == cap(batch) {
			e.write(batch...)
			batch = batch[:0]
		}
	}
	page := "/projects/big/traces/" + traceID
	b.Run("page", func(b *testing.B) {
		for b.Loop() {
			if rec := e.do(page); rec.Code != http.StatusOK {
				b.Fatalf("GET %s = %d", page, rec.Code)
			}
		}
	})
	b.Run("open-a-step", func(b *testing.B) {
		for b.Loop() {
			if rec := e.do(page + "/tree?parent=" + id(501)); rec.Code != http.StatusOK {
				b.Fatalf("tree fragment = %d", rec.Code)
			}
		}
	})
}

// BenchmarkBigTrace measures a trace of 5,253 spans with three failures deep
// in it: its page, its page opened on the deepest failure, in the
// errors-only view, a search over all its spans; and beside it the page of
// an ordinary five-span agent trace.
func BenchmarkBigTrace(b *testing.B) {
	e := newEnv(b)
	e.write(bigTrace("big", bigTraceStart())...)
	e.write(agentRun("big", agentTrace, "s1", time.Now().Add(-time.Hour))...)
	page := "/projects/big/traces/" + bigTraceID
	for _, c := range []struct{ name, path string }{
		{"normal-trace", "/projects/big/traces/" + agentTrace},
		{"page", page},
		{"page-on-a-failure", page + "?span=" + bigScoreID(bigFailedScore())},
		{"errors-only", page + "?view=errors"},
		{"search", page + "/search?q=umbrella"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if rec := e.do(c.path); rec.Code != http.StatusOK {
					b.Fatalf("GET %s = %d", c.path, rec.Code)
				}
			}
		})
	}
}
