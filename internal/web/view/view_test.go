package view

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

func record(t *testing.T, kind span.Kind, attrs map[string]any, events string) store.SpanRecord {
	t.Helper()
	raw, err := json.Marshal(attrs)
	if err != nil {
		t.Fatal(err)
	}
	rec := store.SpanRecord{AttributesJSON: raw, EventsJSON: json.RawMessage(events)}
	rec.SpanID = "00000000000000aa"
	rec.View.Kind = kind
	return rec
}

func build(t *testing.T, kind span.Kind, attrs map[string]any) *Span {
	t.Helper()
	v, err := Build(record(t, kind, attrs, "[]"), 1000)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMessages(t *testing.T) {
	v := build(t, span.KindLLM, map[string]any{
		"llm.model_name":                                                          "gpt-4o",
		"llm.provider":                                                            "openai",
		"llm.input_messages.0.message.role":                                       "system",
		"llm.input_messages.0.message.content":                                    "Be brief.",
		"llm.input_messages.1.message.role":                                       "user",
		"llm.input_messages.1.message.contents.0.message_content.type":            "text",
		"llm.input_messages.1.message.contents.0.message_content.text":            "What is this?",
		"llm.input_messages.1.message.contents.1.message_content.type":            "image",
		"llm.input_messages.1.message.contents.1.message_content.image.image.url": "https://example.com/cat.png",
		"llm.input_messages.2.message.role":                                       "assistant",
		"llm.input_messages.2.message.tool_calls.0.tool_call.id":                  "call_1",
		"llm.input_messages.2.message.tool_calls.0.tool_call.function.name":       "lookup",
		"llm.input_messages.2.message.tool_calls.0.tool_call.function.arguments":  `{"q":"cat"}`,
		"llm.input_messages.3.message.role":                                       "tool",
		"llm.input_messages.3.message.tool_call_id":                               "call_1",
		"llm.input_messages.3.message.content":                                    "a cat",
		"llm.output_messages.0.message.role":                                      "assistant",
		"llm.output_messages.0.message.content":                                   "A cat.",
		"llm.invocation_parameters":                                               `{"temperature":0.2}`,
	})
	l := v.LLM
	if l == nil {
		t.Fatal("no LLM view")
	}
	if l.Model != "gpt-4o" || l.Provider != "openai" {
		t.Errorf("model, provider = %q, %q", l.Model, l.Provider)
	}
	var roles []string
	for _, m := range l.Input {
		roles = append(roles, m.Role)
	}
	if diff := cmp.Diff([]string{"system", "user", "assistant", "tool"}, roles); diff != "" {
		t.Errorf("input roles (-want +got):\n%s", diff)
	}
	user := l.Input[1]
	if len(user.Parts) != 2 || user.Parts[0].Text.Value != "What is this?" || user.Parts[1].ImageURL != "https://example.com/cat.png" {
		t.Errorf("multi-part message = %+v", user.Parts)
	}
	if user.Parts[0].Text.Key != "llm.input_messages.1.message.contents.0.message_content.text" {
		t.Errorf("part key = %q", user.Parts[0].Text.Key)
	}
	call := l.Input[2].ToolCalls[0]
	want := ToolCall{
		Anchor: "call-in-2-0", ID: "call_1", Name: "lookup", ResultAnchor: "msg-in-3",
		Arguments: Text{Value: "{\n  \"q\": \"cat\"\n}", JSON: true, FullBytes: 16,
			Key: "llm.input_messages.2.message.tool_calls.0.tool_call.function.arguments"},
	}
	if diff := cmp.Diff(want, call); diff != "" {
		t.Errorf("tool call (-want +got):\n%s", diff)
	}
	if res := l.Input[3]; res.CallAnchor != "call-in-2-0" || res.Name != "lookup" {
		t.Errorf("tool result not linked to its call: %+v", res)
	}
	if !l.Invocation.JSON || !strings.Contains(l.Invocation.Value, `"temperature": 0.2`) {
		t.Errorf("invocation parameters = %+v", l.Invocation)
	}
	if l.Output[0].Content.Value != "A cat." {
		t.Errorf("output = %+v", l.Output)
	}
}

func TestListSkipsGapsAndOrdersNumerically(t *testing.T) {
	a := Attrs{
		"x.10.v": "ten", "x.2.v": "two", "x.0.v": "zero", "x.bad.v": "no", "x.3": "no sub-key", "y.0.v": "other",
	}
	var got []string
	for _, it := range a.List("x") {
		got = append(got, it.Str("v"))
	}
	if diff := cmp.Diff([]string{"zero", "two", "ten"}, got); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
}

func TestDocuments(t *testing.T) {
	tests := []struct {
		name   string
		kind   span.Kind
		attrs  map[string]any
		ids    []string
		pcts   []float64
		inputs int
	}{
		{
			name: "retriever", kind: span.KindRetriever,
			attrs: map[string]any{
				"retrieval.documents.0.document.id": "a", "retrieval.documents.0.document.score": 0.8,
				"retrieval.documents.0.document.content": "alpha",
				"retrieval.documents.1.document.id":      "b", "retrieval.documents.1.document.score": 0.4,
				"retrieval.documents.1.document.metadata": `{"source":"wiki"}`,
			},
			ids: []string{"a", "b"}, pcts: []float64{100, 50},
		},
		{
			name: "reranker", kind: span.KindReranker,
			attrs: map[string]any{
				"reranker.query":                             "q",
				"reranker.input_documents.0.document.id":     "x",
				"reranker.input_documents.1.document.id":     "y",
				"reranker.output_documents.0.document.id":    "y",
				"reranker.output_documents.0.document.score": "2.5",
			},
			ids: []string{"y"}, pcts: []float64{100}, inputs: 2,
		},
	}
	for _, tc := range tests {
		r := build(t, tc.kind, tc.attrs).Retrieval
		if r == nil {
			t.Errorf("%s: no retrieval view", tc.name)
			continue
		}
		var ids []string
		var pcts []float64
		for _, d := range r.Documents {
			ids = append(ids, d.ID)
			pcts = append(pcts, d.ScorePct)
		}
		if diff := cmp.Diff(tc.ids, ids); diff != "" {
			t.Errorf("%s: ids (-want +got):\n%s", tc.name, diff)
		}
		if diff := cmp.Diff(tc.pcts, pcts); diff != "" {
			t.Errorf("%s: score bars (-want +got):\n%s", tc.name, diff)
		}
		if len(r.Inputs) != tc.inputs {
			t.Errorf("%s: %d reranker inputs, want %d", tc.name, len(r.Inputs), tc.inputs)
		}
	}
}

func TestEmbeddingShowsDimensionsNotVectors(t *testing.T) {
	e := build(t, span.KindEmbedding, map[string]any{
		"embedding.model_name":                    "text-embedding-3-small",
		"embedding.embeddings.0.embedding.text":   "hello",
		"embedding.embeddings.0.embedding.vector": []float64{3, 4, 0},
	}).Embedding
	want := &Embedding{Model: "text-embedding-3-small", Items: []EmbeddingItem{{
		Text: Text{Value: "hello", FullBytes: 5, Key: "embedding.embeddings.0.embedding.text"}, Dimensions: 3, Norm: 5,
	}}}
	if diff := cmp.Diff(want, e); diff != "" {
		t.Errorf("embedding (-want +got):\n%s", diff)
	}
}

func TestTemplate(t *testing.T) {
	l := build(t, span.KindLLM, map[string]any{
		"llm.prompt_template.template":  "Hi {name}, about {{ topic }}:",
		"llm.prompt_template.variables": `{"topic":"refunds","name":"Ann"}`,
		"llm.prompt_template.version":   "v3",
	}).LLM
	want := &Template{
		Version: "v3",
		Segments: []Segment{{Text: "Hi "}, {Text: "{name}", Var: true}, {Text: ", about "},
			{Text: "{{ topic }}", Var: true}, {Text: ":"}},
		Variables: []KV{{Key: "name", Value: "Ann"}, {Key: "topic", Value: "refunds"}},
	}
	if diff := cmp.Diff(want, l.Template); diff != "" {
		t.Errorf("template (-want +got):\n%s", diff)
	}
}

func TestToolAndCommonParts(t *testing.T) {
	rec := record(t, span.KindTool, map[string]any{
		"tool.name":        "search_docs",
		"tool.description": "Search the docs",
		"tool.parameters":  `{"type":"object"}`,
		"input.value":      `{"query":"refund"}`,
		"input.mime_type":  "application/json",
		"output.value":     "found 3",
		"metadata":         `{"env":"prod"}`,
		"tag.tags":         []string{"a", "b"},
	}, `[{"name":"exception","time_unix_nano":5,"attributes":{"exception.type":"ValueError","exception.message":"bad","exception.stacktrace":"line 1"}},
	    {"name":"retry","time_unix_nano":6,"attributes":{"attempt":2}}]`)
	v, err := Build(rec, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if v.Tool == nil || v.Tool.Name != "search_docs" || !v.Tool.Parameters.JSON {
		t.Errorf("tool = %+v", v.Tool)
	}
	if !v.Input.JSON || v.Input.Value != "{\n  \"query\": \"refund\"\n}" || v.Output.JSON {
		t.Errorf("input, output = %+v, %+v", v.Input, v.Output)
	}
	if diff := cmp.Diff([]string{"a", "b"}, v.Tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Exception{{Type: "ValueError", Message: "bad", Stacktrace: "line 1", Time: 5}}, v.Exceptions); diff != "" {
		t.Errorf("exceptions (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Event{{Name: "retry", Time: 6, Attributes: []KV{{Key: "attempt", Value: "2"}}}}, v.Events); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if len(v.Attributes) != 8 || v.Attributes[0].Key != "input.mime_type" {
		t.Errorf("attributes = %+v, want all 8 sorted by key", v.Attributes)
	}
}

func TestClipping(t *testing.T) {
	big := strings.Repeat("ü", 3000) // 6000 bytes
	v, err := Build(record(t, span.KindChain, map[string]any{"input.value": big}, ""), 1001)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Input.Clipped || len(v.Input.Value) != 1000 || v.Input.FullBytes != 6000 {
		t.Errorf("clipped input: %d bytes shown, clipped %v, full %d", len(v.Input.Value), v.Input.Clipped, v.Input.FullBytes)
	}
	full, ok, err := FullValue(record(t, span.KindChain, map[string]any{"input.value": big}, ""), "input.value")
	if err != nil || !ok || full.Value != big || full.Clipped {
		t.Errorf("FullValue = %d bytes, %v, %v", len(full.Value), ok, err)
	}
	if _, ok, _ := FullValue(record(t, span.KindChain, map[string]any{}, ""), "nope"); ok {
		t.Error("FullValue found a missing key")
	}
}

func TestPreview(t *testing.T) {
	tests := []struct {
		in    string
		limit int
		want  string
	}{
		{"short", 10, "short"},
		{"  many\n\nlines\there ", 40, "many lines here"},
		{"abcdefghij", 5, "abcde…"},
		{"ééééééé", 5, "ééééé…"},
	}
	for _, tc := range tests {
		if got := Preview(tc.in, tc.limit); got != tc.want {
			t.Errorf("Preview(%q, %d) = %q, want %q", tc.in, tc.limit, got, tc.want)
		}
	}
}
