package sqlite

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/span"
)

func TestKnownTracesFilter(t *testing.T) {
	k := newKnownTraces()
	const stored = 100_000
	for i := range stored {
		k.add(fmt.Sprintf("%032x", i))
	}
	for i := range stored {
		if id := fmt.Sprintf("%032x", i); !k.mayBeStored(id) {
			t.Fatalf("trace %s was added but the filter says it is not stored", id)
		}
	}
	falsePositives := 0
	for i := stored; i < 2*stored; i++ {
		if k.mayBeStored(fmt.Sprintf("%032x", i)) {
			falsePositives++
		}
	}
	// 11 bits an id with 7 probes gives under 0.5%; far fewer ids than the
	// filter's capacity give fewer still.
	if rate := float64(falsePositives) / stored; rate > 0.005 {
		t.Errorf("%d of %d new trace ids pass the filter (%.2f%%)", falsePositives, stored, 100*rate)
	}
}

func TestKnownTracesRememberTwoGenerations(t *testing.T) {
	defer func(n int) { recentTraces = n }(recentTraces)
	recentTraces = 2
	k := newKnownTraces()
	for i, id := range []string{"a", "b", "c", "d", "e"} {
		k.remember(id, int64(i+1))
	}
	for id, want := range map[string]int64{"c": 3, "d": 4, "e": 5} {
		if got, ok := k.rowID(id); !ok || got != want {
			t.Errorf("rowID(%s) = %d, %v; want %d", id, got, ok, want)
		}
	}
	if _, ok := k.rowID("a"); ok {
		t.Error("the oldest generation is still remembered")
	}
}

// traceSpans is a trace of n spans: a root, then children.
func traceSpans(traceID string, n int, start int64) []span.Span {
	out := make([]span.Span, n)
	for i := range out {
		sp := span.Span{Project: "p", TraceID: traceID, SpanID: fmt.Sprintf("%s%02x", traceID[:14], i), Name: "step",
			StartTime: start + int64(i)*int64(time.Millisecond), EndTime: start + int64(i+1)*int64(time.Millisecond),
			StatusCode: span.StatusOK}
		if i > 0 {
			sp.ParentID = out[0].SpanID
		}
		span.Normalize(&sp)
		out[i] = sp
	}
	return out
}

// traceRows counts the rows a trace id has, reading the whole table.
func traceRows(t *testing.T, s *Store, traceID string) (rows, spans int64) {
	t.Helper()
	err := s.read.QueryRowContext(context.Background(),
		"SELECT count(*), coalesce(sum(span_count), 0) FROM traces NOT INDEXED WHERE trace_id = ?", traceID).Scan(&rows, &spans)
	if err != nil {
		t.Fatal(err)
	}
	return rows, spans
}

// A trace goes on in later batches however the writer finds it: by the row
// id it wrote it under, through the filter of stored ids after a restart,
// or block by block once it has forgotten the row id.
func TestTraceContinuesAcrossBatches(t *testing.T) {
	defer func(n int) { recentTraces = n }(recentTraces)
	recentTraces = 4
	ctx := context.Background()
	dir := t.TempDir()
	open := func() *Store {
		s, err := Open(ctx, dir, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	const base = int64(1_750_000_000e9)
	recent := strings.Repeat("1", 32)
	reopened := strings.Repeat("2", 32)
	forgotten := strings.Repeat("3", 32)
	recentSpans, reopenedSpans, forgottenSpans := traceSpans(recent, 4, base), traceSpans(reopened, 4, base), traceSpans(forgotten, 4, base)

	s := open()
	for _, batch := range [][]span.Span{recentSpans[:2], reopenedSpans[:2], forgottenSpans[:2], recentSpans[2:]} {
		if _, err := s.WriteSpans(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()

	s = open()
	defer s.Close()
	if _, err := s.WriteSpans(ctx, reopenedSpans[2:]); err != nil {
		t.Fatal(err)
	}
	// Enough other traces that the writer forgets the row id of the third.
	for i := range 3 * recentTraces {
		if _, err := s.WriteSpans(ctx, traceSpans(fmt.Sprintf("%032x", 0xf000+i), 1, base)); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := s.known.rowID(forgotten); ok {
		t.Fatal("the writer still remembers the trace's row id; the test needs more traces between the batches")
	}
	if _, err := s.WriteSpans(ctx, forgottenSpans[2:]); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{recent, reopened, forgotten} {
		if rows, spans := traceRows(t, s, id); rows != 1 || spans != 4 {
			t.Errorf("trace %s: %d rows counting %d spans, want one row of 4", id, rows, spans)
		}
		tr, err := s.Trace(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if tr.SpanCount != 4 || len(tr.Spans) != 4 {
			t.Errorf("trace %s reads %d spans (%d in its row), want 4", id, len(tr.Spans), tr.SpanCount)
		}
	}
}

// A deleted trace's spans sent again make a new trace, though the writer
// remembers the row id the trace had.
func TestDeletedTraceSentAgain(t *testing.T) {
	ctx := context.Background()
	s := openTempStore(t)
	id := strings.Repeat("4", 32)
	spans := traceSpans(id, 3, 1_750_000_000e9)
	if _, err := s.WriteSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTrace(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.known.rowID(id); !ok {
		t.Fatal("the writer does not remember the trace; the test would not cover a stale row id")
	}
	if _, err := s.WriteSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	if rows, n := traceRows(t, s, id); rows != 1 || n != 3 {
		t.Errorf("after sending the deleted trace again: %d rows counting %d spans, want one row of 3", rows, n)
	}
}

// A rebuild drops the ids deleted before it read and keeps those the
// writer added while it read.
func TestKnownTracesRebuild(t *testing.T) {
	defer func(n int) { rebuildAfterDeletes = n }(rebuildAfterDeletes)
	rebuildAfterDeletes = 2
	k := newKnownTraces()
	for _, id := range []string{"kept", "deleted"} {
		k.add(id)
	}
	if k.forget(1) {
		t.Fatal("a rebuild starts before rebuildAfterDeletes traces are deleted")
	}
	if !k.forget(1) {
		t.Fatal("no rebuild after rebuildAfterDeletes traces are deleted")
	}
	if k.forget(5) {
		t.Fatal("a second rebuild starts during the first")
	}
	k.add("added meanwhile")
	read := k.addTo(nil, "kept") // what the rebuild read
	k.replace(read)
	for id, want := range map[string]bool{"kept": true, "added meanwhile": true, "deleted": false} {
		if got := k.mayBeStored(id); got != want {
			t.Errorf("after the rebuild, mayBeStored(%q) = %v, want %v", id, got, want)
		}
	}
	if k.deleted != 0 || k.rebuilding || k.recorded != nil {
		t.Errorf("the rebuild left deleted=%d rebuilding=%v recorded=%q", k.deleted, k.rebuilding, k.recorded)
	}
}

// Deleting traces empties the writer's filters of their ids: a server that
// deletes as much as it stores keeps them bounded.
func TestDeletedTracesLeaveTheFilters(t *testing.T) {
	defer func(n int) { rebuildAfterDeletes = n }(rebuildAfterDeletes)
	rebuildAfterDeletes = 3
	ctx := context.Background()
	s := openTempStore(t)
	var ids []string
	for i := range 5 {
		id := strings.Repeat(fmt.Sprint(i+1), 32)
		ids = append(ids, id)
		if _, err := s.WriteSpans(ctx, traceSpans(id, 2, 1_750_000_000e9)); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range ids[:3] {
		if err := s.DeleteTrace(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	s.background.Wait()
	unlock := s.lockAnyWrites()
	defer unlock()
	for i, id := range ids {
		if got, want := s.known.mayBeStored(id), i >= 3; got != want {
			t.Errorf("trace %d: mayBeStored = %v, want %v", i, got, want)
		}
	}
}

func TestMigrationKeepsTracesFindable(t *testing.T) {
	ctx := context.Background()
	s := openSeededV9(t)
	indexes := indexNames(t, s, "traces")
	want := []string{"traces_project_cost", "traces_project_start", "traces_project_stats", "traces_project_tokens", "traces_session", "traces_trace_id"}
	if !slices.Equal(indexes, want) {
		t.Errorf("indexes on traces: %v, want %v (no UNIQUE on trace_id)", indexes, want)
	}
	const id = "0102030405060708090a0b0c0d0e0f10"
	tr, err := s.Trace(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if tr.RowID != 3 || len(tr.Spans) != 3 {
		t.Errorf("trace after migration: row %d with %d spans, want row 3 with 3", tr.RowID, len(tr.Spans))
	}
	// A span arriving after the upgrade joins the stored trace.
	late := traceSpans(id, 1, 500)[0]
	late.SpanID, late.ParentID, late.Project = "a000000000000004", "a000000000000001", "p"
	if _, err := s.WriteSpans(ctx, []span.Span{late}); err != nil {
		t.Fatal(err)
	}
	if n, spans := traceRows(t, s, id); n != 1 || spans != 4 {
		t.Errorf("after a late span: %d rows counting %d spans, want one row of 4", n, spans)
	}
}

func TestOneProcessAtATime(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	first, err := Open(ctx, dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if second, err := Open(ctx, dir, slog.New(slog.DiscardHandler)); err == nil {
		second.Close()
		t.Fatal("a second store opened a database in use")
	} else if !strings.Contains(err.Error(), "in use by another Loupe server") {
		t.Errorf("second open: %v, want it to say the database is in use", err)
	}
	first.Close()
	again, err := Open(ctx, dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("open after the first store closed: %v", err)
	}
	again.Close()
}
