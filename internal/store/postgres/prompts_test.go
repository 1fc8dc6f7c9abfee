package postgres

import (
	"context"
	"log/slog"
	"reflect"
	"testing"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/span/spantest"
	"github.com/loupe-dev/loupe/internal/store/postgres/pgtest"
)

// Spans stored before the prompt_version column have it NULL: the report
// reads their version from the attributes, and gives what it gives when
// the column is set.
func TestPromptVersionsBeforeTheColumn(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, pgtest.URL(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	version := func(v string) span.Attr { return span.Attr{Key: span.AttrTemplateVersion, Value: span.StringValue(v)} }
	spans := []span.Span{
		spantest.New("p", 1, 1, 0, span.KindChain),
		spantest.New("p", 1, 2, 1, span.KindLLM, version("v1")),
		spantest.New("p", 2, 3, 0, span.KindLLM, version("v2")),
		spantest.New("p", 3, 4, 0, span.KindLLM),
	}
	if _, err := s.WriteSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	p, err := s.ProjectByName(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	withColumn, err := s.PromptVersionReport(ctx, p.ID, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(withColumn.Versions) != 2 || withColumn.Unversioned != 1 {
		t.Fatalf("report = %+v, want v1 and v2 and one unversioned span", withColumn)
	}
	if _, err := s.pool.Exec(ctx, "UPDATE spans SET prompt_version = NULL"); err != nil {
		t.Fatal(err)
	}
	before, err := s.PromptVersionReport(ctx, p.ID, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before, withColumn) {
		t.Errorf("without the column: %+v\nwith it: %+v", before, withColumn)
	}
}
