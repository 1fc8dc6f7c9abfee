// Package sdk_test runs the Go SDK's agent example against the real loupe
// binary and reads the trace back through the REST API.
package sdk_test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/loupe-dev/loupe/e2e/e2etest"
)

func TestMain(m *testing.M) { e2etest.Main(m) }

type spanJSON struct {
	Name    string `json:"name"`
	Context struct {
		TraceID string `json:"trace_id"`
		SpanID  string `json:"span_id"`
	} `json:"context"`
	SpanKind   string         `json:"span_kind"`
	ParentID   *string        `json:"parent_id"`
	Attributes map[string]any `json:"attributes"`
}

func TestAgentExample(t *testing.T) {
	srv := e2etest.Start(t, e2etest.Build(t))
	traceID := runExample(t, "PHOENIX_COLLECTOR_ENDPOINT="+srv.HTTPURL, "PHOENIX_PROJECT_NAME=sdk-agent")

	var page struct{ Data []spanJSON }
	srv.GetJSON(t, "/v1/projects/sdk-agent/spans?trace_id="+traceID, &page)
	byName := map[string][]spanJSON{}
	byID := map[string]spanJSON{}
	for _, s := range page.Data {
		byName[s.Name] = append(byName[s.Name], s)
		byID[s.Context.SpanID] = s
	}
	if len(page.Data) != 7 {
		t.Fatalf("trace has %d spans, want 7 (agent.run, 3 llm.chat, search_docs, retrieval, fetch_chunk): %v", len(page.Data), keys(byName))
	}
	parentName := func(s spanJSON) string {
		if s.ParentID == nil {
			return ""
		}
		return byID[*s.ParentID].Name
	}
	want := []struct{ name, kind, parent string }{
		{"agent.run", "AGENT", ""}, {"llm.chat", "LLM", "agent.run"}, {"search_docs", "TOOL", "agent.run"},
		{"retrieval", "RETRIEVER", "search_docs"}, {"fetch_chunk", "TOOL", "agent.run"},
	}
	for _, w := range want {
		spans := byName[w.name]
		if len(spans) == 0 {
			t.Errorf("no %s span", w.name)
			continue
		}
		for _, s := range spans {
			if s.SpanKind != w.kind || parentName(s) != w.parent {
				t.Errorf("%s: kind %s parent %q, want %s under %q", w.name, s.SpanKind, parentName(s), w.kind, w.parent)
			}
		}
	}
	if n := len(byName["llm.chat"]); n != 3 {
		t.Errorf("%d llm.chat spans, want 3", n)
	}
	first := byName["llm.chat"]
	var asksSearch bool
	for _, s := range first {
		a := s.Attributes
		if a["llm.input_messages.0.message.role"] == nil || a["llm.token_count.prompt"] == nil || a["llm.model_name"] == nil {
			t.Errorf("LLM span lacks messages, tokens or model: %v", a)
		}
		if a["llm.output_messages.0.message.tool_calls.0.tool_call.function.name"] == "search_docs" {
			asksSearch = true
		}
	}
	if !asksSearch {
		t.Error("no LLM span asks for the search_docs tool")
	}
	ret := byName["retrieval"]
	if len(ret) == 1 {
		if ret[0].Attributes["retrieval.documents.0.document.score"] == nil || ret[0].Attributes["retrieval.documents.0.document.content"] == nil {
			t.Errorf("retrieval span lacks scored documents: %v", ret[0].Attributes)
		}
	}
	var traces struct {
		Data []struct {
			TraceID         string `json:"trace_id"`
			NumSpans        int    `json:"num_spans"`
			TokenCountTotal int    `json:"token_count_total"`
		}
	}
	srv.GetJSON(t, "/v1/projects/sdk-agent/traces", &traces)
	if len(traces.Data) != 1 || traces.Data[0].TraceID != traceID || traces.Data[0].NumSpans != 7 || traces.Data[0].TokenCountTotal == 0 {
		t.Errorf("trace roll-up = %+v", traces.Data)
	}
	srv.Stop(t)
}

// runExample runs the SDK's agent example with env added to the test's,
// and returns the trace ID it printed.
func runExample(t *testing.T, env ...string) string {
	t.Helper()
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	sdkDir := filepath.Join(filepath.Dir(strings.TrimSpace(string(gomod))), "sdk")
	cmd := exec.Command("go", "run", "./examples/agent")
	cmd.Dir = sdkDir
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "PHOENIX_") }), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run ./examples/agent: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`trace ID: ([0-9a-f]{32})`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("the example printed no trace ID:\n%s", out)
	}
	return string(m[1])
}

// TestAgentExampleWithAPIKey sends with the key in PHOENIX_API_KEY to a
// server with authentication on, over HTTP and gRPC.
func TestAgentExampleWithAPIKey(t *testing.T) {
	srv := e2etest.StartEnv(t, e2etest.Build(t), e2etest.AuthEnv())
	_, key := srv.SystemKey(t, "sdk")
	srv.Token = key
	_, grpcPort, _ := net.SplitHostPort(srv.GRPCAddr)
	for _, tc := range []struct {
		project string
		env     []string
	}{
		{"sdk-http", []string{"PHOENIX_COLLECTOR_ENDPOINT=" + srv.HTTPURL}},
		// An endpoint on the gRPC port, without a path, is sent gRPC.
		{"sdk-grpc", []string{"PHOENIX_COLLECTOR_ENDPOINT=http://" + srv.GRPCAddr, "PHOENIX_GRPC_PORT=" + grpcPort}},
	} {
		traceID := runExample(t, append(tc.env, "PHOENIX_PROJECT_NAME="+tc.project, "PHOENIX_API_KEY="+key)...)
		var page struct{ Data []spanJSON }
		srv.GetJSON(t, "/v1/projects/"+tc.project+"/spans?trace_id="+traceID, &page)
		if len(page.Data) != 7 {
			t.Errorf("%s: %d spans stored, want 7", tc.project, len(page.Data))
		}
	}
	srv.Stop(t)
}

func keys(m map[string][]spanJSON) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
