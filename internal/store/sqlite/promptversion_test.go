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

// The report reads the version from the attributes of spans stored before
// the column (NULL there), and gives them what it gives spans stored since.
func TestPromptVersionReportOlderSpans(t *testing.T) {
	ctx := context.Background()
	s := openTempStore(t)
	now := time.Now().UnixNano()
	var spans []span.Span
	for i, v := range []string{"v1", "v2", "v2", ""} {
		sp := span.Span{Project: "pv", TraceID: fmt.Sprintf("%032x", i+1), SpanID: fmt.Sprintf("%016x", i+1), Name: "llm",
			StartTime: now + int64(i)*1e6, EndTime: now + int64(i)*1e6 + 1e6, StatusCode: span.StatusOK,
			Attributes: span.Attributes{{Key: span.AttrSpanKind, Value: span.StringValue("LLM")}}}
		if v != "" {
			sp.Attributes = append(sp.Attributes, span.Attr{Key: span.AttrTemplateVersion, Value: span.StringValue(v)})
		}
		span.Normalize(&sp)
		spans = append(spans, sp)
	}
	if _, err := s.WriteSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	p, err := s.ProjectByName(ctx, "pv")
	if err != nil {
		t.Fatal(err)
	}
	report := func() string {
		rep, err := s.PromptVersionReport(ctx, p.ID, now-1e9, 0)
		if err != nil {
			t.Fatal(err)
		}
		out := fmt.Sprintf("sample %d, unversioned %d:", rep.Sample, rep.Unversioned)
		for _, v := range rep.Versions {
			out += fmt.Sprintf(" %s×%d", v.Version, v.Spans)
		}
		return out
	}
	const want = "sample 4, unversioned 1: v2×2 v1×1"
	if got := report(); got != want {
		t.Errorf("report = %q, want %q", got, want)
	}
	if _, err := s.write.ExecContext(ctx, "UPDATE spans SET prompt_version = NULL"); err != nil {
		t.Fatal(err)
	}
	if got := report(); got != want {
		t.Errorf("report of spans stored before the column = %q, want %q", got, want)
	}
}
