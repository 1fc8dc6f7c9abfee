package sqlite

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/span"
)

// The prompt_version column says what reading llm.prompt_template.version
// from the attributes says, whatever the value's type, or is NULL and
// left to the attributes.
func TestPromptVersionColumn(t *testing.T) {
	ctx := context.Background()
	s := openTempStore(t)
	versions := []span.Value{span.StringValue("v1"), span.IntValue(3), span.StringValue(""), span.BoolValue(true),
		span.DoubleValue(1.5), span.StringValue(`say "hi" ☃`), {}}
	var spans []span.Span
	for i, v := range versions {
		sp := span.Span{Project: "pv", TraceID: fmt.Sprintf("%032x", i+1), SpanID: fmt.Sprintf("%016x", i+1), Name: "llm",
			StartTime: time.Now().UnixNano(), EndTime: time.Now().UnixNano() + 1e6, StatusCode: span.StatusOK,
			Attributes: span.Attributes{{Key: span.AttrSpanKind, Value: span.StringValue("LLM")}}}
		if v.Type != span.TypeEmpty {
			sp.Attributes = append(sp.Attributes, span.Attr{Key: span.AttrTemplateVersion, Value: v})
		}
		span.Normalize(&sp)
		spans = append(spans, sp)
	}
	if _, err := s.WriteSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	rows, err := s.read.QueryContext(ctx, `SELECT span_id, prompt_version,
		coalesce(prompt_version, CAST(json_extract(loupe_json(attributes), '$."llm.prompt_template.version"') AS TEXT), ''),
		coalesce(CAST(json_extract(loupe_json(attributes), '$."llm.prompt_template.version"') AS TEXT), '')
		FROM spans ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id string
		var column any
		var read, fromAttributes string
		if err := rows.Scan(&id, &column, &read, &fromAttributes); err != nil {
			t.Fatal(err)
		}
		if read != fromAttributes {
			t.Errorf("span %s: version %q (column %v), the attributes say %q", id, read, column, fromAttributes)
		}
		// Strings and no version at all are in the column.
		if v := versions[n]; (v.Type == span.TypeString || v.Type == span.TypeEmpty) && column == nil {
			t.Errorf("span %s: no prompt_version for %+v", id, v)
		}
		n++
	}
	if n != len(versions) {
		t.Fatalf("%d spans read, want %d", n, len(versions))
	}
}
