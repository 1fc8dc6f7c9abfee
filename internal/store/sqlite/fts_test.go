package sqlite

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/loupe-dev/loupe/internal/span"
)

// The indexer reads a batch's text before it takes the write lock. A trace
// deleted in between does not come back in the index, and the rest of the
// batch is indexed.
func TestIndexerSkipsSpansDeletedAfterItsRead(t *testing.T) {
	ctx := context.Background()
	s := openTempStore(t)
	s.stopIndexer()
	kept, gone := strings.Repeat("1", 32), strings.Repeat("2", 32)
	var spans []span.Span
	for _, traceID := range []string{kept, gone} {
		for _, sp := range traceSpans(traceID, 2, 1_750_000_000_000_000_000) {
			sp.Attributes.Set(span.AttrInputValue, span.StringValue("needle in "+traceID[:1]))
			span.Normalize(&sp)
			spans = append(spans, sp)
		}
	}
	if _, err := s.WriteSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	b, err := s.readSearchBatch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.docs) != 4 {
		t.Fatalf("read %d spans' text, want 4", len(b.docs))
	}
	if err := s.DeleteTrace(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if err := s.addSearchBatch(ctx, b); err != nil {
		t.Fatal(err)
	}
	matched := column[int64](t, s, `SELECT rowid FROM span_search WHERE span_search MATCH 'needle' ORDER BY rowid`)
	stored := column[int64](t, s, `SELECT id FROM spans ORDER BY id`)
	if len(stored) != 2 || !slices.Equal(matched, stored) {
		t.Errorf("the index matches spans %v; the spans left are %v", matched, stored)
	}
}
