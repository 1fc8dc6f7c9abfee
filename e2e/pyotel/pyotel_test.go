// Package pyotel_test checks what a Python application traced with the
// plain OpenTelemetry SDK shows in Loupe, the way the "Observability with
// Phoenix" tutorial traces one: hand-set OpenInference attributes whose
// messages, answers and documents are each one JSON string.
//
// tutorial_app.py runs from the virtual environment scripts/test.sh creates
// ($LOUPE_PY_VENV, or ~/.cache/loupe-test/venv), sending to the real binary;
// the test then asserts through the REST API, Phoenix's own client
// (SpanQuery DataFrames) and the UI in headless Chromium, saving
// screenshots as pyotel-*.png under $LOUPE_TEST_OUTPUT/screenshots
// (default: testdata-out/screenshots).
package pyotel_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/e2e/e2etest"
)

func TestMain(m *testing.M) { e2etest.Main(m) }

const project = "support-bot"

// The texts tutorial_app.py sends.
const (
	question       = "Can I get a refund 40 days after buying?"
	answer         = "No: refunds are accepted within 30 days of purchase, with the receipt."
	shipping       = "Do you ship to Canada?"
	shippingAnswer = "Yes, we ship to Canada; delivery takes 5 to 7 days."
)

type spanRef struct {
	TraceID string `json:"trace_id"`
	SpanID  string `json:"span_id"`
}

// appResult is what tutorial_app.py prints.
type appResult struct {
	Sent     map[string]spanRef `json:"sent"`
	ReadBack struct {
		LLMMessages map[string][]map[string]any `json:"llm_messages"`
		Documents   []struct {
			ID        string  `json:"id"`
			Score     float64 `json:"score"`
			Reference string  `json:"reference"`
		} `json:"documents"`
	} `json:"read_back"`
}

type restSpan struct {
	Name       string         `json:"name"`
	Context    spanRef        `json:"context"`
	Attributes map[string]any `json:"attributes"`
}

func TestTutorialTracing(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test; skipped in -short mode")
	}
	python := e2etest.Python(t, "opentelemetry-sdk", "opentelemetry-exporter-otlp-proto-http", "arize-phoenix-client")
	srv := e2etest.Start(t, e2etest.Build(t))

	script, err := filepath.Abs("tutorial_app.py")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, script, srv.HTTPURL, project)
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "PHOENIX_") || strings.HasPrefix(kv, "OTEL_")
	})
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tutorial_app.py: %v\nstderr:\n%s\nstdout:\n%s", err, stderr.String(), stdout.String())
	}
	var app appResult
	if err := json.Unmarshal(stdout.Bytes(), &app); err != nil {
		t.Fatalf("tutorial_app.py printed no JSON result: %v\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	for _, name := range []string{"support_agent", "plan", "search_policy", "answer", "chat"} {
		if app.Sent[name].SpanID == "" {
			t.Fatalf("tutorial_app.py sent no %s span: %s", name, stdout.String())
		}
	}

	t.Run("rest", func(t *testing.T) { checkREST(t, srv, app) })
	t.Run("phoenix client", func(t *testing.T) { checkReadBack(t, app) })
	t.Run("ui", func(t *testing.T) { checkUI(t, srv, app) })
}

// checkREST reads the spans and traces back as any client does.
func checkREST(t *testing.T, srv *e2etest.Server, app appResult) {
	var page struct{ Data []restSpan }
	srv.GetJSON(t, "/v1/projects/"+project+"/spans?limit=100", &page)
	spans := map[string]restSpan{}
	for _, s := range page.Data {
		spans[s.Name] = s
	}
	if len(spans) != 5 {
		t.Fatalf("%d spans listed, want 5: %v", len(page.Data), page.Data)
	}
	want := map[string]map[string]any{
		"plan": {
			"llm.input_messages.0.message.role":                                       "system",
			"llm.input_messages.1.message.role":                                       "user",
			"llm.input_messages.1.message.content":                                    question,
			"llm.output_messages.0.message.role":                                      "assistant",
			"llm.output_messages.0.message.tool_calls.0.tool_call.id":                 "call_1",
			"llm.output_messages.0.message.tool_calls.0.tool_call.function.name":      "search_policy",
			"llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": `{"query": "refund window"}`,
		},
		"answer": {
			"llm.input_messages.2.message.tool_calls.0.tool_call.function.name": "search_policy",
			"llm.input_messages.3.message.role":                                 "tool",
			"llm.input_messages.3.message.tool_call_id":                         "call_1",
			"llm.input_messages.3.message.name":                                 "search_policy",
			"llm.output_messages.0.message.content":                             answer,
		},
		"search_policy": {
			"retrieval.documents.0.document.id":      "policy-7",
			"retrieval.documents.0.document.score":   0.92,
			"retrieval.documents.0.document.content": "Refunds are accepted within 30 days of purchase, with the receipt.",
			"retrieval.documents.1.document.score":   0.41,
			"retrieval.top_k":                        2.0,
		},
		"support_agent": {"agent.stop_reason": "final_answer", "agent.iterations": 2.0},
	}
	for name, attrs := range want {
		got := spans[name].Attributes
		for k, v := range attrs {
			if got[k] != v {
				t.Errorf("span %s: %s = %#v, want %#v", name, k, got[k], v)
			}
		}
		for _, list := range []string{"llm.input_messages", "llm.output_messages", "retrieval.documents"} {
			if _, ok := got[list]; ok {
				t.Errorf("span %s still holds %s as a JSON string beside its flattened keys", name, list)
			}
		}
	}

	// The traces list previews what a person reads, not the request.
	var traces struct {
		Data []struct {
			TraceID string `json:"trace_id"`
			Input   string `json:"input"`
			Output  string `json:"output"`
		}
	}
	srv.GetJSON(t, "/v1/projects/"+project+"/traces?limit=10", &traces)
	previews := map[string][2]string{}
	for _, tr := range traces.Data {
		previews[tr.TraceID] = [2]string{tr.Input, tr.Output}
	}
	if got, want := previews[app.Sent["support_agent"].TraceID], [2]string{question, answer}; got != want {
		t.Errorf("agent trace previews %q, want %q", got, want)
	}
	if got, want := previews[app.Sent["chat"].TraceID], [2]string{shipping, shippingAnswer}; got != want {
		t.Errorf("model call trace previews %q, want %q (not the request's JSON)", got, want)
	}

	// Found by a filter on a message, and by full-text search on its text
	// (SQLite indexes a moment after the span is stored).
	filtered := spanNames(t, srv, "filter="+url.QueryEscape("llm.input_messages.3.message.role == 'tool'"))
	if !slices.Equal(filtered, []string{"answer"}) {
		t.Errorf("filter on a message's role found %v, want [answer]", filtered)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		found := spanNames(t, srv, "q="+url.QueryEscape(`"ship to Canada"`))
		if slices.Equal(found, []string{"chat"}) {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("search for a message's text found %v, want [chat]", found)
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if found := spanNames(t, srv, "q="+url.QueryEscape("gift cards")); !slices.Equal(found, []string{"search_policy"}) {
		t.Errorf("search for a document's text found %v, want [search_policy]", found)
	}
}

func spanNames(t *testing.T, srv *e2etest.Server, query string) []string {
	t.Helper()
	var page struct{ Data []restSpan }
	srv.GetJSON(t, "/v1/projects/"+project+"/spans?"+query, &page)
	names := []string{}
	for _, s := range page.Data {
		names = append(names, s.Name)
	}
	slices.Sort(names)
	return names
}

// checkReadBack asserts on what arize-phoenix-client's SpanQuery gave: the
// messages and documents as lists, as for an instrumented span.
func checkReadBack(t *testing.T, app appResult) {
	roles := map[string][]string{}
	for name, msgs := range app.ReadBack.LLMMessages {
		for _, m := range msgs {
			role, _ := m["message.role"].(string)
			roles[name] = append(roles[name], role)
		}
	}
	want := map[string][]string{
		"plan":   {"system", "user"},
		"answer": {"system", "user", "assistant", "tool"},
		"chat":   {"user"},
	}
	for name, w := range want {
		if !slices.Equal(roles[name], w) {
			t.Errorf("DataFrame attributes.llm.input_messages of %s: roles %v, want %v", name, roles[name], w)
		}
	}
	if tool := app.ReadBack.LLMMessages["answer"]; len(tool) == 4 && tool[3]["message.tool_call_id"] != "call_1" {
		t.Errorf("the tool message reads back as %v", tool[3])
	}
	docs := app.ReadBack.Documents
	if len(docs) != 2 || docs[0].ID != "policy-7" || math.Abs(docs[0].Score-0.92) > 1e-9 ||
		math.Abs(docs[1].Score-0.41) > 1e-9 || docs[1].Reference != "Gift cards cannot be refunded." {
		t.Errorf("exploded retrieval.documents = %+v", docs)
	}
}
