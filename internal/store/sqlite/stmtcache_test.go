package sqlite

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/bench/agentgen"
	"github.com/loupe-dev/loupe/internal/otlp"
)

func TestRowChunks(t *testing.T) {
	for _, tc := range []struct {
		n, max int
		want   []int
	}{
		{0, 32, nil},
		{1, 32, []int{1}},
		{31, 32, []int{16, 8, 4, 2, 1}},
		{32, 32, []int{32}},
		{33, 32, []int{32, 1}},
		{100, 32, []int{32, 32, 32, 4}},
		{200, 64, []int{64, 64, 64, 8}},
	} {
		items := make([]int, tc.n)
		for i := range items {
			items[i] = i
		}
		var sizes []int
		next := 0
		for start, chunk := range rowChunks(items, tc.max) {
			if start != next || chunk[0] != start {
				t.Fatalf("rowChunks(%d, %d): a chunk starts at %d, want %d", tc.n, tc.max, start, next)
			}
			sizes = append(sizes, len(chunk))
			next += len(chunk)
		}
		if !slices.Equal(sizes, tc.want) {
			t.Errorf("rowChunks(%d, %d) = %v, want %v", tc.n, tc.max, sizes, tc.want)
		}
		if got := countChunks(tc.n, tc.max); got != len(tc.want) {
			t.Errorf("countChunks(%d, %d) = %d, want %d", tc.n, tc.max, got, len(tc.want))
		}
	}
}

// The writer's statements stay prepared across transactions: after a few
// batches of each shape of span, a batch prepares nothing new and reuses
// the span insert of the batch before.
func TestKeptStatements(t *testing.T) {
	ctx := context.Background()
	s := openTempStore(t)
	res := agentgen.Resource{ServiceName: "svc", Project: "p"}
	for seed, shape := range []agentgen.Shape{agentgen.Small, agentgen.Agent} {
		gen := agentgen.New(shape, uint64(seed+1), time.Unix(1_750_000_000, 0))
		for i := range 30 {
			// Batches of many sizes, up to several hundred spans: every
			// chunk shape a larger batch uses.
			spans := otlp.Decode(agentgen.Traces(res, gen.Spans(40+i*53%700)), "").Spans
			if _, err := s.WriteSpans(ctx, spans); err != nil {
				t.Fatal(err)
			}
		}
	}
	kept := len(s.kept.stmts)
	if kept == 0 || kept > maxKeptStatements*3/4 {
		t.Fatalf("%d statements kept, want some and well under %d", kept, maxKeptStatements)
	}
	gen := agentgen.New(agentgen.Small, 3, time.Unix(1_750_000_000, 0))
	if _, err := s.WriteSpans(ctx, otlp.Decode(agentgen.Traces(res, gen.Spans(1024)), "").Spans); err != nil {
		t.Fatal(err)
	}
	if len(s.kept.stmts) != kept {
		t.Errorf("a batch like those before prepared %d new statements", len(s.kept.stmts)-kept)
	}
	const insert = "INSERT OR IGNORE INTO spans"
	reused := false
	for query, st := range s.kept.stmts {
		reused = reused || strings.HasPrefix(query, insert) && st.used == s.kept.txs-1
	}
	if !reused {
		t.Errorf("the last batch did not reuse a kept %q statement", insert)
	}
}

// Past its limit, the writer closes the statement it used longest ago.
func TestKeptStatementsEvictTheOldest(t *testing.T) {
	ctx := context.Background()
	s := openTempStore(t)
	k := &keptStatements{db: s.write, limit: 2}
	defer k.close()
	use := func(query string) {
		t.Helper()
		tx, err := s.write.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		st, err := k.in(ctx, tx, query)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.QueryContext(ctx); err != nil {
			t.Fatal(err)
		}
		tx.Rollback()
		if err := k.keepPending(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []int{1, 2, 1, 3} {
		use(fmt.Sprintf("SELECT %d", n))
	}
	var kept []string
	for query := range k.stmts {
		kept = append(kept, query)
	}
	slices.Sort(kept)
	if want := []string{"SELECT 1", "SELECT 3"}; !slices.Equal(kept, want) {
		t.Errorf("kept %q, want %q", kept, want)
	}
}
