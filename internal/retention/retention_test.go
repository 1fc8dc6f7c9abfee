package retention_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/retention"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/sqlite"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// writeAged writes n one-span traces to project, trace i started i days ago.
func writeAged(t *testing.T, s store.Store, project string, n int) {
	t.Helper()
	var spans []span.Span
	for i := range n {
		start := now.Add(-time.Duration(i) * 24 * time.Hour).Add(-time.Minute).UnixNano()
		sp := span.Span{Project: project, TraceID: fmt.Sprintf("%016x%016x", len(project), i), SpanID: fmt.Sprintf("%08x%08x", len(project), i),
			Name: "run", StartTime: start, EndTime: start + 1e6, StatusCode: span.StatusOK}
		span.Normalize(&sp)
		spans = append(spans, sp)
	}
	if _, err := s.WriteSpans(context.Background(), spans); err != nil {
		t.Fatal(err)
	}
}

func traceCount(t *testing.T, s store.Store, project string) int {
	t.Helper()
	p, err := s.ProjectByName(context.Background(), project)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := s.Traces(context.Background(), store.TraceQuery{ProjectID: p.ID})
	if err != nil {
		t.Fatal(err)
	}
	return len(ts)
}

func TestSweep(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	writeAged(t, s, "by-default", 10)
	writeAged(t, s, "by-count", 10)
	writeAged(t, s, "forever", 10)
	if err := s.SetRetentionPolicy(ctx, store.DefaultPolicy, store.RetentionPolicy{MaxDays: 3}); err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]store.RetentionPolicy{"by-count": {MaxTraces: 4}, "forever": {}} {
		proj, err := s.ProjectByName(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetRetentionPolicy(ctx, proj.ID, p); err != nil {
			t.Fatal(err)
		}
	}
	sw := &retention.Sweeper{Store: s, Log: slog.New(slog.DiscardHandler), Batch: 2, Pause: time.Millisecond,
		Now: func() time.Time { return now }}
	del, err := sw.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if del.Traces != 7+6 || del.Spans != 13 {
		t.Errorf("Sweep deleted %+v, want 13 traces and spans", del)
	}
	for name, want := range map[string]int{"by-default": 3, "by-count": 4, "forever": 10} {
		if got := traceCount(t, s, name); got != want {
			t.Errorf("%s keeps %d traces, want %d", name, got, want)
		}
	}
	if again, err := sw.Sweep(ctx); err != nil || again.Traces != 0 {
		t.Errorf("a second sweep deleted %+v, %v; want nothing", again, err)
	}
}

func TestRunSweepsUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s, err := sqlite.Open(ctx, t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	writeAged(t, s, "p", 5)
	if err := s.SetRetentionPolicy(ctx, store.DefaultPolicy, store.RetentionPolicy{MaxTraces: 1}); err != nil {
		t.Fatal(err)
	}
	sw := &retention.Sweeper{Store: s, Log: slog.New(slog.DiscardHandler), Interval: 10 * time.Millisecond}
	done := make(chan error, 1)
	go func() { done <- sw.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for traceCount(t, s, "p") != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the sweeper did not apply the policy")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil after cancel", err)
	}
}
