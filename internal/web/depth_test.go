package web

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/span"
)

// A span stored by a build that did not limit value depth, its attributes
// nested past what encoding/json decodes, still opens, and its trace still
// downloads whole.
func TestPoisonSpanPages(t *testing.T) {
	e := newEnv(t)
	deep := span.StringValue("bottom")
	for range 10_001 {
		deep = span.Value{Type: span.TypeMap, Map: span.Attributes{{Key: "k", Value: deep}}}
	}
	start := time.Now().Add(-time.Minute).UnixNano()
	s := span.Span{Project: "old", TraceID: agentTrace, SpanID: rootSpan, Name: "old.run",
		StartTime: start, EndTime: start + 1e9, StatusCode: span.StatusOK,
		Attributes: span.Attributes{str(span.AttrSpanKind, "CHAIN"), str("app.note", "still here"), {Key: "deep", Value: deep}},
		Events:     []span.Event{{Name: "exception", Time: start, Attributes: span.Attributes{str("exception.message", "boom"), {Key: "deep", Value: deep}}}},
	}
	// Written as is: span.Normalize would limit the value.
	if _, err := e.store.WriteSpans(context.Background(), []span.Span{s}); err != nil {
		t.Fatal(err)
	}
	body := e.mustGet("/projects/old/spans/" + rootSpan + "?tab=attributes")
	contains(t, "span page", body, "still here", "app.note")
	body = e.mustGet("/projects/old/spans/" + rootSpan + "?tab=events")
	contains(t, "span events", body, "boom")
	e.mustGet("/projects/old/spans/" + rootSpan + "/value?key=app.note")

	export := e.mustGet("/projects/old/traces/" + agentTrace + "/export")
	var doc struct {
		Spans []struct {
			Attributes map[string]any `json:"attributes"`
		} `json:"spans"`
	}
	if err := json.Unmarshal([]byte(export), &doc); err != nil || len(doc.Spans) != 1 || doc.Spans[0].Attributes["app.note"] != "still here" {
		t.Errorf("export = %v, %.300s", err, export)
	}
}
