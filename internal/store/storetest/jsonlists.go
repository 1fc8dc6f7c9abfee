package storetest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// tutorialTrace is a trace sent as the "Observability with Phoenix"
// tutorial sends it: the model call at the root, its messages and answer
// each one JSON string (json.dumps), a tool call and the tool's result in
// the history, and a retriever whose documents are one JSON string too.
func tutorialTrace() []spanSpec {
	str := func(key, value string) span.Attr { return span.Attr{Key: key, Value: span.StringValue(value)} }
	return []spanSpec{
		{project: "tutorial", trace: 5001, id: 5001, name: "llm_call", kind: span.KindLLM, durMs: 900,
			status: span.StatusOK, session: "conv-1", attrs: span.Attributes{
				str(span.AttrModelName, "gpt-4o-mini"),
				str("llm.input_messages", `[{"role": "system", "content": "You answer billing questions."}, `+
					`{"role": "user", "content": "Can I get a refund after 40 days?"}, `+
					`{"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "search_policy", "arguments": "{\"q\": \"refund window\"}"}}]}, `+
					`{"role": "tool", "tool_call_id": "call_1", "content": "Refund window: 30 days."}]`),
				str("llm.output_messages", `[{"role": "assistant", "content": "No: refunds are accepted within 30 days of purchase."}]`),
			}},
		{project: "tutorial", trace: 5001, id: 5002, par: 5001, name: "retrieve", kind: span.KindRetriever, startMs: 10, durMs: 100,
			status: span.StatusOK, input: "refund window", attrs: span.Attributes{
				str("retrieval.documents", `[{"id": "doc-7", "score": 0.92, "text": "Refunds are accepted within 30 days."}, `+
					`{"id": "doc-9", "score": 0.41, "text": "Shipping takes five days."}]`),
			}},
	}
}

// testJSONStringLists checks that messages and documents sent as JSON
// strings are stored as if flattened: found by full-text search and by
// filters on their keys, and previewed as the messages say.
func testJSONStringLists(t *testing.T, s store.Store) {
	ctx := context.Background()
	write(t, s, build(tutorialTrace()...))
	searchable(t, s)
	pid := project(t, s, "tutorial").ID
	llm, retriever := []string{spanID(5001)}, []string{spanID(5002)}

	for q, want := range map[string][]string{
		"refund after 40 days":      llm,
		`"accepted within 30 days"`: {spanID(5002), spanID(5001)}, // the answer, and a document
		"shipping":                  retriever,
		"billing questions":         llm,
	} {
		if diff := cmp.Diff(want, search(t, s, store.SpanQuery{ProjectID: pid, Search: q})); diff != "" {
			t.Errorf("search %q (-want +got):\n%s", q, diff)
		}
	}

	for filter, want := range map[string][]string{
		"llm.input_messages.0.message.role == 'system'":                                        llm,
		"llm.input_messages.1.message.role == 'user'":                                          llm,
		"'refund' in llm.input_messages.1.message.content":                                     llm,
		"llm.input_messages.2.message.tool_calls.0.tool_call.function.name == 'search_policy'": llm,
		"llm.input_messages.3.message.tool_call_id == 'call_1'":                                llm,
		"'30 days' in llm.output_messages.0.message.content":                                   llm,
		"retrieval.documents.0.document.id == 'doc-7'":                                         retriever,
		"retrieval.documents.1.document.score < 0.5":                                           retriever,
	} {
		e, err := query.Parse(filter)
		if err == nil {
			err = query.Check(e)
		}
		if err != nil {
			t.Errorf("%s: %v", filter, err)
			continue
		}
		got, err := s.Spans(ctx, store.SpanQuery{ProjectID: pid, Filter: e})
		if err != nil {
			t.Errorf("%s: %v", filter, err)
			continue
		}
		if diff := cmp.Diff(want, ids(got)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", filter, diff)
		}
	}

	// What a reader gets back: the flattened keys, not the JSON strings.
	recs, err := s.Spans(ctx, store.SpanQuery{ProjectID: pid, SpanIDs: llm})
	if err != nil || len(recs) != 1 {
		t.Fatalf("Spans = %v, %v", recs, err)
	}
	var attrs map[string]any
	if err := json.Unmarshal(recs[0].AttributesJSON, &attrs); err != nil {
		t.Fatal(err)
	}
	if _, ok := attrs["llm.input_messages"]; ok {
		t.Error("llm.input_messages is stored as a JSON string beside its flattened keys")
	}
	if got := attrs["llm.input_messages.2.message.tool_calls.0.tool_call.function.arguments"]; got != `{"q": "refund window"}` {
		t.Errorf("tool call arguments read back as %v", got)
	}

	// Lists preview what a person reads: the question and the answer.
	const question, answer = "Can I get a refund after 40 days?", "No: refunds are accepted within 30 days of purchase."
	if r := recs[0].View; r.InputPreview != question || r.OutputPreview != answer {
		t.Errorf("span record previews = %q / %q, want %q / %q", r.InputPreview, r.OutputPreview, question, answer)
	}
	tr := trace(t, s, 5001)
	if tr.InputPreview != question || tr.OutputPreview != answer {
		t.Errorf("trace previews = %q / %q, want %q / %q", tr.InputPreview, tr.OutputPreview, question, answer)
	}
	sess, err := s.Session(ctx, "conv-1")
	if err != nil {
		t.Fatal(err)
	}
	if sess.FirstInput != question || sess.LastOutput != answer {
		t.Errorf("session first input / last output = %q / %q, want %q / %q", sess.FirstInput, sess.LastOutput, question, answer)
	}
	rows, err := s.SpanList(ctx, store.SpanListQuery{ProjectID: pid, Ascending: true})
	if err != nil || len(rows) != 2 {
		t.Fatalf("SpanList = %v, %v", rows, err)
	}
	got := [][2]string{{rows[0].InputPreview, rows[0].OutputPreview}, {rows[1].InputPreview, rows[1].OutputPreview}}
	if diff := cmp.Diff([][2]string{{question, answer}, {"refund window", ""}}, got); diff != "" {
		t.Errorf("span list previews (-want +got):\n%s", diff)
	}
}
