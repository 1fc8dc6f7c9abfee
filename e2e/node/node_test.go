// Package node_test checks that a real Node.js application reaches Loupe
// unchanged: the official openai client, instrumented by
// @arizeai/openinference-instrumentation-openai and exported with the
// standard OpenTelemetry JS SDK over OTLP/HTTP, both protobuf and JSON.
//
// emit.mjs is the application; it needs `node` and this directory's
// node_modules (`npm ci`). Without them the test skips, unless
// LOUPE_E2E_REQUIRE=1 (set in CI), where it fails instead so that a broken
// setup cannot pass as a skip.
package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/e2e/e2etest"
)

func TestMain(m *testing.M) { e2etest.Main(m) }

// emitted is what emit.mjs prints on stdout.
type emitted struct {
	Project string `json:"project"`
	Format  string `json:"format"`
	Spans   []struct {
		Call    string `json:"call"`
		Name    string `json:"name"`
		TraceID string `json:"trace_id"`
		SpanID  string `json:"span_id"`
	} `json:"spans"`
	TraceIDs []string `json:"trace_ids"`
}

// apiSpan is a span as GET /v1/projects/{project}/spans returns it.
type apiSpan struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Context struct {
		TraceID string `json:"trace_id"`
		SpanID  string `json:"span_id"`
	} `json:"context"`
	SpanKind   string                     `json:"span_kind"`
	ParentID   *string                    `json:"parent_id"`
	StatusCode string                     `json:"status_code"`
	Attributes map[string]json.RawMessage `json:"attributes"`
}

// wantAttrs mirrors the scenario in emit.mjs: what each call sent, and what
// the fake OpenAI server answered, as the instrumentation records it.
var wantAttrs = map[string]map[string]any{
	"tool_call": {
		"llm.system":                                              "openai",
		"llm.model_name":                                          "gpt-4o-mini-2024-07-18", // the response's model, not the requested gpt-4o-mini
		"llm.input_messages.0.message.role":                       "system",
		"llm.input_messages.0.message.content":                    "You are a weather assistant.",
		"llm.input_messages.1.message.role":                       "user",
		"llm.input_messages.1.message.content":                    "What is the weather in Paris?",
		"llm.output_messages.0.message.role":                      "assistant",
		"llm.finish_reason":                                       "tool_calls",
		"input.mime_type":                                         "application/json",
		"output.mime_type":                                        "application/json",
		"llm.token_count.prompt":                                  87,
		"llm.token_count.completion":                              18,
		"llm.token_count.total":                                   105,
		"llm.output_messages.0.message.tool_calls.0.tool_call.id": "call_e2e_weather",
		"llm.output_messages.0.message.tool_calls.0.tool_call.function.name":      "get_weather",
		"llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": `{"city":"Paris"}`,
	},
	"plain": {
		"llm.system":                                   "openai",
		"llm.model_name":                               "gpt-4o-2024-08-06",
		"llm.input_messages.0.message.role":            "user",
		"llm.input_messages.0.message.content":         "Say hello in French.",
		"llm.output_messages.0.message.role":           "assistant",
		"llm.output_messages.0.message.content":        "Bonjour !",
		"llm.finish_reason":                            "stop",
		"llm.token_count.prompt":                       1200,
		"llm.token_count.completion":                   5,
		"llm.token_count.total":                        1205,
		"llm.token_count.prompt_details.cache_read":    1024, // from usage.prompt_tokens_details.cached_tokens
		"llm.token_count.completion_details.reasoning": 0,
	},
}

// wantPresent are attributes whose values are long JSON documents built by
// the instrumentation; that they arrive is the point, not their bytes.
var wantPresent = map[string][]string{
	"tool_call": {"input.value", "output.value", "llm.invocation_parameters", "llm.tools.0.tool.json_schema"},
	"plain":     {"input.value", "output.value", "llm.invocation_parameters"},
}

func TestOpenAIInstrumentationExportsToLoupe(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test; skipped in -short mode")
	}
	requireNode(t)

	srv := e2etest.Start(t, e2etest.Build(t))

	// Each format writes into its own project, so the assertions below also
	// show that the resource attribute routes spans and nothing leaks across.
	formats := []struct {
		format  string
		project string
	}{
		{"proto", "e2e-node-proto"},
		{"json", "e2e-node-json"},
	}
	runs := map[string]emitted{}
	for _, f := range formats {
		runs[f.format] = emit(t, srv.HTTPURL, f.project, f.format)
	}

	for _, f := range formats {
		t.Run(f.format, func(t *testing.T) {
			run := runs[f.format]
			if len(run.Spans) != len(wantAttrs) {
				t.Fatalf("emit.mjs reported %d spans, want %d: %+v", len(run.Spans), len(wantAttrs), run)
			}

			// Export is acknowledged only after the spans are committed, so
			// they must be readable now, without polling.
			var page struct {
				Data       []apiSpan `json:"data"`
				NextCursor *string   `json:"next_cursor"`
			}
			srv.GetJSON(t, "/v1/projects/"+url.PathEscape(f.project)+"/spans?limit=1000", &page)
			if page.NextCursor != nil {
				t.Errorf("next_cursor = %q, want null for %d spans", *page.NextCursor, len(page.Data))
			}
			got := map[string]apiSpan{}
			for _, s := range page.Data {
				got[s.Context.SpanID] = s
			}
			if len(got) != len(run.Spans) {
				t.Errorf("project %s holds %d spans %v, want exactly the %d emitted into it", f.project, len(got), spanIDs(page.Data), len(run.Spans))
			}

			for _, e := range run.Spans {
				t.Run(e.Call, func(t *testing.T) {
					s, ok := got[e.SpanID]
					if !ok {
						t.Fatalf("span %s (trace %s) not in project %s; the project has %v", e.SpanID, e.TraceID, f.project, spanIDs(page.Data))
					}
					if s.Context.TraceID != e.TraceID {
						t.Errorf("trace_id = %s, want %s", s.Context.TraceID, e.TraceID)
					}
					if s.Name != "OpenAI Chat Completions" {
						t.Errorf("name = %q, want %q", s.Name, "OpenAI Chat Completions")
					}
					if s.SpanKind != "LLM" {
						t.Errorf("span_kind = %q, want LLM", s.SpanKind)
					}
					if s.ParentID != nil {
						t.Errorf("parent_id = %q, want null (the client call is a root span)", *s.ParentID)
					}
					if s.StatusCode != "OK" {
						t.Errorf("status_code = %q, want OK", s.StatusCode)
					}
					checkAttrs(t, s.Attributes, wantAttrs[e.Call], wantPresent[e.Call])
				})
			}
		})
	}

	t.Run("projects", func(t *testing.T) {
		var page struct {
			Data []struct {
				Name string `json:"name"`
			} `json:"data"`
		}
		srv.GetJSON(t, "/v1/projects?limit=100", &page)
		have := map[string]bool{}
		for _, p := range page.Data {
			have[p.Name] = true
		}
		for _, f := range formats {
			if !have[f.project] {
				t.Errorf("GET /v1/projects lacks %q; got %+v", f.project, page.Data)
			}
		}
	})

	srv.Stop(t)
}

// TestWithAPIKey sends to a server with authentication on, the key in
// the standard OTEL_EXPORTER_OTLP_HEADERS that every OpenTelemetry SDK
// reads, as a deployed application would carry it.
func TestWithAPIKey(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test; skipped in -short mode")
	}
	requireNode(t)
	srv := e2etest.StartEnv(t, e2etest.Build(t), e2etest.AuthEnv())
	_, key := srv.SystemKey(t, "node-app")
	const project = "e2e-node-key"
	run := emit(t, srv.HTTPURL, project, "proto", "OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20"+key)
	srv.Token = key
	var page struct {
		Data []apiSpan `json:"data"`
	}
	srv.GetJSON(t, "/v1/projects/"+project+"/spans", &page)
	if len(page.Data) != len(run.Spans) || len(page.Data) == 0 {
		t.Errorf("%d spans stored, emit.mjs sent %d", len(page.Data), len(run.Spans))
	}
	srv.Stop(t)
}

// requireNode skips, or under LOUPE_E2E_REQUIRE=1 fails, when the Node
// side cannot run.
func requireNode(t *testing.T) {
	t.Helper()
	var missing string
	if _, err := exec.LookPath("node"); err != nil {
		missing = "node is not on PATH"
	} else if _, err := os.Stat("node_modules"); err != nil {
		missing = "e2e/node/node_modules is missing (run `npm ci` in e2e/node, or scripts/test.sh)"
	}
	if missing == "" {
		return
	}
	e2etest.Missing(t, missing)
}

// emit runs emit.mjs against the server, with env added to the test's,
// and returns what it reports.
func emit(t *testing.T, loupeURL, project, format string, env ...string) emitted {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "emit.mjs")
	cmd.Env = append(append(os.Environ(), "LOUPE_URL="+loupeURL, "LOUPE_PROJECT="+project, "OTLP_FORMAT="+format), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("node emit.mjs (OTLP_FORMAT=%s): %v\nstderr:\n%s\nstdout:\n%s", format, err, stderr.String(), stdout.String())
	}
	t.Logf("emit.mjs OTLP_FORMAT=%s took %v", format, time.Since(start).Round(time.Millisecond))
	if stderr.Len() > 0 {
		t.Logf("emit.mjs stderr:\n%s", stderr.String())
	}
	var out emitted
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("emit.mjs stdout is not the expected JSON: %v\n%s", err, stdout.String())
	}
	if out.Project != project || out.Format != format {
		t.Fatalf("emit.mjs reported project %q format %q, want %q %q", out.Project, out.Format, project, format)
	}
	return out
}

// checkAttrs compares the attributes that have exact expected values and
// checks that the others are present and non-empty.
func checkAttrs(t *testing.T, got map[string]json.RawMessage, want map[string]any, present []string) {
	t.Helper()
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		raw, ok := got[k]
		if !ok {
			t.Errorf("attribute %s missing, want %v", k, want[k])
			continue
		}
		if err := equalJSON(raw, want[k]); err != nil {
			t.Errorf("attribute %s: %v", k, err)
		}
	}
	for _, k := range present {
		var s string
		if err := json.Unmarshal(got[k], &s); err != nil || s == "" {
			t.Errorf("attribute %s = %s, want a non-empty string", k, got[k])
		}
	}
}

// equalJSON reports how raw differs from want. Integers must arrive as JSON
// integers: a token count turned into a string or a float is a bug.
func equalJSON(raw json.RawMessage, want any) error {
	switch w := want.(type) {
	case string:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("= %s, want string %q", raw, w)
		}
		if s != w {
			return fmt.Errorf("= %q, want %q", s, w)
		}
	case int:
		if string(raw) != strconv.Itoa(w) {
			return fmt.Errorf("= %s, want integer %d", raw, w)
		}
	default:
		return fmt.Errorf("test bug: no comparison for %T", want)
	}
	return nil
}

func spanIDs(spans []apiSpan) []string {
	ids := make([]string, len(spans))
	for i, s := range spans {
		ids[i] = s.Context.SpanID
	}
	return ids
}
