package view

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/loupe-dev/loupe/internal/span"
)

// TestListsStoredAsJSONStrings reads a span stored before ingest expanded
// lists sent as one JSON string: the Overview shows the transcript and the
// documents, the Attributes tab the string as stored.
func TestListsStoredAsJSONStrings(t *testing.T) {
	rec := record(t, span.KindLLM, map[string]any{
		"llm.input_messages": `[{"role": "user", "content": "Refund after 40 days?"}, ` +
			`{"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "policy", "arguments": "{\"q\": 1}"}}]}, ` +
			`{"role": "tool", "tool_call_id": "c1", "content": "30 days"}]`,
		"llm.output_messages": `[{"role": "assistant", "content": "No, within 30 days only."}]`,
		"llm.tools":           `[{"type": "function", "function": {"name": "policy", "description": "Look up a policy"}}]`,
	}, "[]")
	v, err := Build(rec, 1000)
	if err != nil {
		t.Fatal(err)
	}
	l := v.LLM
	if l == nil || len(l.Input) != 3 || len(l.Output) != 1 {
		t.Fatalf("LLM view = %+v", l)
	}
	if l.Input[0].Content.Value != "Refund after 40 days?" || l.Output[0].Content.Value != "No, within 30 days only." {
		t.Errorf("transcript = %q … %q", l.Input[0].Content.Value, l.Output[0].Content.Value)
	}
	call := l.Input[1].ToolCalls
	if len(call) != 1 || call[0].Name != "policy" || call[0].ResultAnchor != "msg-in-2" || l.Input[2].Name != "policy" {
		t.Errorf("tool call = %+v, its result named %q", call, l.Input[2].Name)
	}
	if len(l.Tools) != 1 || l.Tools[0].Name != "policy" || l.Tools[0].Description != "Look up a policy" {
		t.Errorf("tools = %+v", l.Tools)
	}
	var keys []string
	for _, a := range v.Attributes {
		keys = append(keys, a.Key)
	}
	if diff := cmp.Diff([]string{"llm.input_messages", "llm.output_messages", "llm.tools"}, keys); diff != "" {
		t.Errorf("Attributes tab (-want +got):\n%s", diff)
	}
	full, ok, err := FullValue(rec, l.Input[0].Content.Key)
	if err != nil || !ok || full.Value != "Refund after 40 days?" {
		t.Errorf("FullValue(%q) = %q, %v, %v", l.Input[0].Content.Key, full.Value, ok, err)
	}

	docs := build(t, span.KindRetriever, map[string]any{
		"retrieval.documents": `[{"id": "doc-7", "score": 0.92, "text": "Refunds within 30 days."}, {"id": "doc-9", "score": 0.46, "text": "Shipping."}]`,
	}).Retrieval
	if docs == nil || len(docs.Documents) != 2 {
		t.Fatalf("retrieval = %+v", docs)
	}
	d := docs.Documents[1]
	if d.ID != "doc-9" || !d.HasScore || d.Score != 0.46 || d.ScorePct != 50 || d.Content.Value != "Shipping." {
		t.Errorf("second document = %+v", d)
	}

	// A string that is not such a list is shown as it is.
	v = build(t, span.KindLLM, map[string]any{"llm.input_messages": "[not json"})
	if v.LLM == nil || len(v.LLM.Input) != 0 || len(v.Attributes) != 1 {
		t.Errorf("a string that is not a list: %+v", v.LLM)
	}
}

// TestTemplateVariablesForms checks that variables show as name → value
// however they come: a JSON string, a map value, or flattened keys.
func TestTemplateVariablesForms(t *testing.T) {
	want := []KV{{Key: "city", Value: "Paris"}, {Key: "days", Value: "3"}, {Key: "opts", Value: `{"units":"metric"}`}}
	for name, attrs := range map[string]map[string]any{
		"JSON string": {"llm.prompt_template.variables": `{"city": "Paris", "days": 3, "opts": {"units": "metric"}}`},
		"map value":   {"llm.prompt_template.variables": map[string]any{"city": "Paris", "days": 3, "opts": map[string]any{"units": "metric"}}},
		"flattened": {"llm.prompt_template.variables.city": "Paris", "llm.prompt_template.variables.days": 3,
			"llm.prompt_template.variables.opts": `{"units":"metric"}`},
	} {
		attrs["llm.prompt_template.template"] = "Weather in {city} for {days} days"
		l := build(t, span.KindLLM, attrs).LLM
		if l.Template == nil {
			t.Errorf("%s: no template", name)
			continue
		}
		if diff := cmp.Diff(want, l.Template.Variables); diff != "" {
			t.Errorf("%s: variables (-want +got):\n%s", name, diff)
		}
	}
	l := build(t, span.KindLLM, map[string]any{"llm.prompt_template.variables": "city=Paris"}).LLM
	if diff := cmp.Diff([]KV{{Key: "variables", Value: "city=Paris"}}, l.Template.Variables); diff != "" {
		t.Errorf("variables that are not an object (-want +got):\n%s", diff)
	}
}

// TestCustomAttributes checks that the Overview lists the attributes the
// application chose, and not OpenInference's, which it shows otherwise.
func TestCustomAttributes(t *testing.T) {
	v := build(t, span.KindAgent, map[string]any{
		"agent.name":                         "support",
		"agent.stop_reason":                  "final_answer",
		"agent.iterations":                   3,
		"retrieval.top_k":                    5,
		"input.value":                        "q",
		"session.id":                         "s",
		"llm.token_count.prompt":             10,
		"llm.input_messages.0.message.role":  "user",
		"gen_ai.request.model":               "m",
		"openinference.span.kind":            "AGENT",
		"app.flags":                          `{"beta":true}`,
		"retrieval.documents.0.document.id":  "d",
		"llm.prompt_template.variables.city": "Paris",
	})
	var got []string
	for _, a := range v.Custom {
		got = append(got, a.Key+"="+a.Value.Value)
	}
	want := []string{"agent.iterations=3", "agent.stop_reason=final_answer", "app.flags={\n  \"beta\": true\n}", "retrieval.top_k=5"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("custom attributes (-want +got):\n%s", diff)
	}

	many := map[string]any{}
	for i := range MaxCustom + 7 {
		many[fmt.Sprintf("app.k%03d", i)] = i
	}
	v = build(t, span.KindChain, many)
	if len(v.Custom) != MaxCustom || v.MoreCustom != 7 || v.Custom[0].Key != "app.k000" {
		t.Errorf("%d custom attributes and %d more, first %q; want %d and 7 more", len(v.Custom), v.MoreCustom, v.Custom[0].Key, MaxCustom)
	}
}
