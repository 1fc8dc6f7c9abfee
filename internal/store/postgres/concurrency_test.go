package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/postgres"
	"github.com/loupe-dev/loupe/internal/store/postgres/pgtest"
)

const (
	base = int64(1_714_557_600_000_000_000)
	ms   = int64(1_000_000)
)

// testSpan is span n of trace t: span 0 is the root, the odd ones are LLM
// calls with 10 prompt and 2 completion tokens.
func testSpan(t, n int) span.Span {
	sp := span.Span{
		Project:    fmt.Sprintf("p%d", t%3),
		TraceID:    fmt.Sprintf("%032x", t),
		SpanID:     fmt.Sprintf("%016x", t*1000+n),
		Name:       fmt.Sprintf("step %d", n),
		StartTime:  base + int64(t)*1000*ms + int64(n)*ms,
		EndTime:    base + int64(t)*1000*ms + int64(n+10)*ms,
		StatusCode: span.StatusOK,
		Attributes: span.Attributes{{Key: span.AttrSessionID, Value: span.StringValue(fmt.Sprintf("s%d", t%5))}},
	}
	if n > 0 {
		sp.ParentID = fmt.Sprintf("%016x", t*1000)
	}
	if n%2 == 1 {
		sp.Attributes = append(sp.Attributes,
			span.Attr{Key: span.AttrSpanKind, Value: span.StringValue("LLM")},
			span.Attr{Key: span.AttrTokensPrompt, Value: span.IntValue(10)},
			span.Attr{Key: span.AttrTokensComplete, Value: span.IntValue(2)})
	}
	span.Normalize(&sp)
	return sp
}

// TestServersShareTraces writes the spans of the same traces through two
// stores on one database (two servers), from many goroutines at once, in
// shuffled batches with re-sends, and checks that every span is stored once
// and every roll-up is exact.
func TestServersShareTraces(t *testing.T) {
	url := pgtest.URL(t)
	servers := []*postgres.Store{open(t, url), open(t, url)}
	const traces, perTrace = 60, 10
	var all []span.Span
	for tr := 1; tr <= traces; tr++ {
		for n := range perTrace {
			all = append(all, testSpan(tr, n))
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	var batches [][]span.Span
	for i := 0; i < len(all); i += 15 {
		b := all[i:min(i+15, len(all))]
		batches = append(batches, b)
		if rng.IntN(4) == 0 {
			batches = append(batches, b) // a client's retry, to the other server
		}
	}

	var inserted atomic.Int64
	var wg sync.WaitGroup
	next := make(chan []span.Span)
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range next {
				res, err := servers[w%2].WriteSpans(context.Background(), b)
				if err != nil {
					errs <- err
					return
				}
				inserted.Add(int64(res.Inserted))
			}
		}()
	}
	for _, b := range batches {
		next <- b
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("WriteSpans: %v", err)
	}
	if got := inserted.Load(); got != traces*perTrace {
		t.Errorf("inserted %d spans in all, want %d", got, traces*perTrace)
	}

	ctx := context.Background()
	for _, s := range servers {
		for tr := 1; tr <= traces; tr++ {
			got, err := s.Trace(ctx, fmt.Sprintf("%032x", tr))
			if err != nil {
				t.Fatal(err)
			}
			want := store.Trace{SpanCount: perTrace, LLMSpanCount: perTrace / 2,
				Tokens:    span.TokenCounts{Prompt: 10 * perTrace / 2, Completion: 2 * perTrace / 2, Total: 12 * perTrace / 2},
				StartTime: base + int64(tr)*1000*ms, EndTime: base + int64(tr)*1000*ms + int64(perTrace-1+10)*ms,
				RootSpanID: fmt.Sprintf("%016x", tr*1000), SessionID: fmt.Sprintf("s%d", tr%5)}
			gotRollup := store.Trace{SpanCount: got.SpanCount, LLMSpanCount: got.LLMSpanCount, Tokens: got.Tokens,
				StartTime: got.StartTime, EndTime: got.EndTime, RootSpanID: got.RootSpanID, SessionID: got.SessionID}
			if diff := cmp.Diff(want, gotRollup); diff != "" {
				t.Fatalf("trace %d (-want +got):\n%s", tr, diff)
			}
			if len(got.Spans) != perTrace {
				t.Fatalf("trace %d has %d spans, want %d", tr, len(got.Spans), perTrace)
			}
		}
		for sess := range 5 {
			got, err := s.Session(ctx, fmt.Sprintf("s%d", sess))
			if err != nil {
				t.Fatal(err)
			}
			if n := int64(traces / 5); got.TraceCount != n || got.Tokens.Total != n*12*perTrace/2 {
				t.Errorf("session s%d = %d traces, %d tokens; want %d traces, %d tokens", sess, got.TraceCount, got.Tokens.Total, n, n*12*perTrace/2)
			}
		}
		total := 0
		for p := range 3 {
			proj, err := s.ProjectByName(ctx, fmt.Sprintf("p%d", p))
			if err != nil {
				t.Fatal(err)
			}
			spans, err := s.Spans(ctx, store.SpanQuery{ProjectID: proj.ID})
			if err != nil {
				t.Fatal(err)
			}
			total += len(spans)
		}
		if total != traces*perTrace {
			t.Errorf("the projects hold %d spans, want %d", total, traces*perTrace)
		}
	}
}

// TestMigrateTogether starts several stores on an empty schema at once:
// the migration lock lets exactly one of them create the tables.
func TestMigrateTogether(t *testing.T) {
	url := pgtest.URL(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := postgres.Open(context.Background(), url, discard)
			if err != nil {
				errs <- err
				return
			}
			s.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Open: %v", err)
	}
}

// TestProjectDeletedElsewhere deletes, through one server, a project that
// another has cached: the other's next write recreates it.
func TestProjectDeletedElsewhere(t *testing.T) {
	url := pgtest.URL(t)
	a, b := open(t, url), open(t, url)
	ctx := context.Background()
	if _, err := a.WriteSpans(ctx, []span.Span{testSpan(3, 0)}); err != nil {
		t.Fatal(err)
	}
	p, err := b.ProjectByName(ctx, "p0")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteProject(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.WriteSpans(ctx, []span.Span{testSpan(6, 0)}); err != nil {
		t.Fatalf("write to a project deleted by another server: %v", err)
	}
	if p2, err := b.ProjectByName(ctx, "p0"); err != nil || p2.ID == p.ID {
		t.Errorf("recreated project = %+v, %v; want a new id", p2, err)
	}
}
