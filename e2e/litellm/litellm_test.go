// Package litellm_test checks, with the Python packages a Phoenix user runs,
// that one model call is counted once: phoenix.otel.register(
// auto_instrument=True) instruments litellm and the OpenAI SDK it calls, so
// one litellm.completion leaves litellm's LLM span with the SDK's inside it,
// both with the call's tokens.
//
// The application runs from the virtual environment scripts/test.sh creates
// with pinned versions: $LOUPE_PY_VENV, or ~/.cache/loupe-test/venv. Without
// litellm, the OpenInference instrumentations or arize-phoenix-otel there,
// the test skips, unless LOUPE_E2E_REQUIRE=1 (set in CI), where it fails
// instead so that a broken setup cannot pass as a skip.
package litellm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
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

const project = "litellm-e2e"

// The fake model answers 30 prompt and 19 completion tokens, and 8 for an
// embedding. At the built-in prices of gpt-4o-mini ($0.15 and $0.60 per
// million) and text-embedding-3-small ($0.02):
const (
	callTokens     = 49
	callCost       = 30*0.15e-6 + 19*0.60e-6 // $0.0000159
	embedTokens    = 8
	embedCost      = 8 * 0.02e-6
	callModel      = "gpt-4o-mini-2024-07-18" // the model the SDK's span names
	litellmModel   = "openai/gpt-4o-mini"     // the one litellm's names
	embeddingModel = "text-embedding-3-small"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

func TestLitellmCallCountedOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test; skipped in -short mode")
	}
	python := e2etest.Python(t, "litellm", "openai", "openinference-instrumentation-litellm",
		"openinference-instrumentation-openai", "arize-phoenix-otel")
	srv := e2etest.Start(t, e2etest.Build(t))

	script, err := filepath.Abs("litellm_app.py")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, script, srv.HTTPURL, project)
	// The application's own settings must not leak in; litellm reads its
	// price list from the package rather than from the internet.
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "PHOENIX_") || strings.HasPrefix(kv, "OTEL_") || strings.HasPrefix(kv, "OPENAI_")
	}), "LITELLM_LOCAL_MODEL_COST_MAP=True")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("litellm_app.py: %v\nstderr:\n%s\nstdout:\n%s", err, stderr.String(), stdout.String())
	}
	var app struct {
		AnswerTrace      string `json:"answer_trace"`
		IndexTrace       string `json:"index_trace"`
		CompletionTokens int64  `json:"completion_tokens"`
		EmbeddingTokens  int64  `json:"embedding_tokens"`
		Answer           string `json:"answer"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &app); err != nil {
		t.Fatalf("litellm_app.py printed no JSON result: %v\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	if app.CompletionTokens != callTokens || app.EmbeddingTokens != embedTokens || app.Answer == "" {
		t.Fatalf("litellm reported %+v; want the fake model's %d and %d tokens", app, callTokens, embedTokens)
	}

	// Both calls were recorded twice, each span with the call's tokens.
	var spans struct {
		Data []struct {
			Name     string `json:"name"`
			SpanKind string `json:"span_kind"`
			Context  struct {
				TraceID string `json:"trace_id"`
				SpanID  string `json:"span_id"`
			} `json:"context"`
			Attributes map[string]any `json:"attributes"`
			Cost       *struct {
				Total   *float64 `json:"total"`
				Counted bool     `json:"counted"`
			} `json:"cost"`
		} `json:"data"`
	}
	srv.GetJSON(t, "/v1/projects/"+project+"/spans?limit=100", &spans)
	var calls []string // name, model, counted
	var wrapperID string
	for _, s := range spans.Data {
		model, _ := s.Attributes["llm.model_name"].(string)
		if model == "" {
			model, _ = s.Attributes["embedding.model_name"].(string)
		}
		if s.Cost == nil {
			continue
		}
		tokens, _ := s.Attributes["llm.token_count.total"].(float64)
		if s.SpanKind == "LLM" && tokens != callTokens {
			t.Errorf("span %s (%s) reports %v tokens, want the call's own %d", s.Name, model, tokens, callTokens)
		}
		if model == litellmModel {
			wrapperID = s.Context.SpanID
			if s.Context.TraceID != app.AnswerTrace || s.Cost.Total == nil || !near(*s.Cost.Total, callCost) {
				t.Errorf("litellm's span: %+v, want in trace %s with its own cost $%g", s, app.AnswerTrace, callCost)
			}
		}
		calls = append(calls, fmt.Sprintf("%s %s counted=%v", s.Name, model, s.Cost.Counted))
	}
	slices.Sort(calls)
	// litellm names its embedding span as the SDK does.
	wantCalls := []string{"ChatCompletion " + callModel + " counted=true", "CreateEmbeddings " + embeddingModel + " counted=false",
		"CreateEmbeddings " + embeddingModel + " counted=true", "completion " + litellmModel + " counted=false"}
	if !slices.Equal(calls, wantCalls) {
		t.Errorf("model call spans:\n%s\nwant litellm's not counted and the SDK's counted, for the completion and the embedding:\n%s",
			strings.Join(calls, "\n"), strings.Join(wantCalls, "\n"))
	}

	// The trace counts the call once: 49 tokens, not 98, and one call's cost.
	type traceJSON struct {
		TraceID  string  `json:"trace_id"`
		Tokens   int64   `json:"token_count_total"`
		Cost     float64 `json:"total_cost"`
		Unpriced int64   `json:"unpriced_spans"`
		LLMSpans int64   `json:"llm_span_count"`
	}
	var traces struct{ Data []traceJSON }
	srv.GetJSON(t, "/v1/projects/"+project+"/traces", &traces)
	byID := map[string]traceJSON{}
	for _, tr := range traces.Data {
		byID[tr.TraceID] = tr
	}
	if tr := byID[app.AnswerTrace]; tr.Tokens != callTokens || !near(tr.Cost, callCost) || tr.Unpriced != 0 || tr.LLMSpans != 2 {
		t.Errorf("the completion's trace: %+v, want %d tokens and $%g, of its 2 LLM spans", tr, callTokens, callCost)
	}
	if tr := byID[app.IndexTrace]; tr.Tokens != embedTokens || !near(tr.Cost, embedCost) || tr.Unpriced != 0 {
		t.Errorf("the embedding's trace: %+v, want %d tokens and $%g", tr, embedTokens, embedCost)
	}

	// The usage report lists each call once, under the model that served it.
	type usage struct {
		Key      string  `json:"key"`
		Calls    int64   `json:"llm_spans"`
		Tokens   int64   `json:"total_tokens"`
		Cost     float64 `json:"cost"`
		Unpriced int64   `json:"unpriced_spans"`
	}
	usageBy := func(dim string) map[string]usage {
		var u struct{ Data []usage }
		srv.GetJSON(t, "/v1/projects/"+project+"/usage?by="+dim, &u)
		out := map[string]usage{}
		for _, r := range u.Data {
			out[r.Key] = r
		}
		return out
	}
	byModel := usageBy("model")
	if len(byModel) != 2 || byModel[callModel].Calls != 1 || byModel[callModel].Tokens != callTokens || !near(byModel[callModel].Cost, callCost) ||
		byModel[embeddingModel].Calls != 1 || byModel[embeddingModel].Tokens != embedTokens || !near(byModel[embeddingModel].Cost, embedCost) {
		t.Errorf("usage by model = %+v, want %s once ($%g) and %s once ($%g)", byModel, callModel, callCost, embeddingModel, embedCost)
	}
	if u := usageBy("user")["litellm-user"]; u.Calls != 2 || u.Tokens != callTokens+embedTokens || !near(u.Cost, callCost+embedCost) {
		t.Errorf("usage by user = %+v, want 2 calls, %d tokens, $%g", u, callTokens+embedTokens, callCost+embedCost)
	}
	var session struct {
		Data struct {
			Tokens int64   `json:"token_count_total"`
			Cost   float64 `json:"total_cost"`
		} `json:"data"`
	}
	srv.GetJSON(t, "/v1/sessions/litellm-session", &session)
	if s := session.Data; s.Tokens != callTokens+embedTokens || !near(s.Cost, callCost+embedCost) {
		t.Errorf("session = %+v, want %d tokens, $%g", s, callTokens+embedTokens, callCost+embedCost)
	}

	// /metrics and the UI agree.
	metrics := srv.GetText(t, "/metrics")
	var metricTokens float64
	for _, line := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(line, "loupe_llm_tokens_total{") && strings.Contains(line, `project="`+project+`"`) {
			if strings.Contains(line, litellmModel) {
				t.Errorf("/metrics counts litellm's span: %s", line)
			}
			var v float64
			fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v)
			metricTokens += v
		}
	}
	if metricTokens != callTokens+embedTokens {
		t.Errorf("/metrics counts %v tokens of the project, want %d", metricTokens, callTokens+embedTokens)
	}
	page := srv.GetText(t, "/projects/"+project+"/traces/"+app.AnswerTrace+"?span="+wrapperID)
	for _, want := range []string{"counted in its child", "<b>ChatCompletion</b>", "$0.0000159"} {
		if !strings.Contains(page, want) {
			t.Errorf("litellm's span in the UI lacks %q", want)
		}
	}
	srv.Stop(t)
}
