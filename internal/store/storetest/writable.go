package storetest

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/loupe-dev/loupe/internal/store"
)

// testCheckWritable checks that a store that takes writes says so, again
// and again, without anything a reader sees changing.
func testCheckWritable(t *testing.T, s store.Store) {
	ctx := context.Background()
	write(t, s, build(agentTrace("w", 1, 0, "s1", "u1")...))
	before, err := s.Projects(ctx, store.ProjectQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := s.CheckWritable(ctx); err != nil {
			t.Fatalf("CheckWritable on a store that takes writes: %v", err)
		}
	}
	after, err := s.Projects(ctx, store.ProjectQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("projects changed by CheckWritable (-before +after):\n%s", diff)
	}
	if got := trace(t, s, 1); got.SpanCount != 5 {
		t.Errorf("trace after CheckWritable counts %d spans, want 5", got.SpanCount)
	}
}
