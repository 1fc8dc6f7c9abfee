// Package phoenixclient_test checks that Arize Phoenix's own Python client,
// arize-phoenix-client from PyPI, works unchanged against Loupe: projects,
// spans, span DataFrames through the SpanQuery endpoint (filters, select,
// explode, concat), and span annotations written and read back.
//
// The client runs from a virtual environment that scripts/test.sh creates
// with pinned versions: $LOUPE_PY_VENV, or ~/.cache/loupe-test/venv. Without
// it the test skips, unless LOUPE_E2E_REQUIRE=1 (set in CI), where it fails
// instead so that a broken setup cannot pass as a skip.
package phoenixclient_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/loupe-dev/loupe/e2e/e2etest"
)

func TestMain(m *testing.M) { e2etest.Main(m) }

const project = "client-e2e"

// exportProject holds exportSpans small spans, which the client exports
// all at once as a DataFrame.
const (
	exportProject = "client-export"
	exportSpans   = 50_000
)

// runs is how many agent runs the test sends; each has 5 spans (AGENT,
// 2 LLM, TOOL, RETRIEVER with 2 documents).
const runs = 3

// models are the LLM model names, one per run, for the first LLM call of
// each run; the second call names no model and fails.
var models = []string{"gpt-4o-mini", "claude-3-5-haiku", "gpt-4o-mini"}

// emitAgentRun records one agent run with the OpenTelemetry SDK.
func emitAgentRun(ctx context.Context, tp trace.TracerProvider, run int) {
	tr := tp.Tracer("loupe-e2e-phoenixclient")
	ctx, root := tr.Start(ctx, "agent.run", trace.WithAttributes(
		attribute.String("openinference.span.kind", "AGENT"),
		attribute.String("input.value", fmt.Sprintf("question %d: what is our refund policy?", run)),
		attribute.String("output.value", "Refunds within 30 days."),
		attribute.String("session.id", fmt.Sprintf("session-%d", run)),
		attribute.String("metadata", `{"tier":"gold"}`),
	))
	_, llm := tr.Start(ctx, "llm.chat", trace.WithAttributes(
		attribute.String("openinference.span.kind", "LLM"),
		attribute.String("llm.model_name", models[run]),
		attribute.String("llm.input_messages.0.message.role", "system"),
		attribute.String("llm.input_messages.0.message.content", "You are helpful."),
		attribute.String("llm.input_messages.1.message.role", "user"),
		attribute.String("llm.input_messages.1.message.content", "What is our refund policy?"),
		attribute.String("llm.output_messages.0.message.role", "assistant"),
		attribute.String("llm.output_messages.0.message.tool_calls.0.tool_call.function.name", "search_docs"),
		attribute.Int("llm.token_count.prompt", 100+run),
		attribute.Int("llm.token_count.completion", 20),
		attribute.Int("llm.token_count.total", 120+run),
		attribute.StringSlice("tag.tags", []string{"prod", "eu"}),
	))
	llm.End()
	tctx, tool := tr.Start(ctx, "tool.search_docs", trace.WithAttributes(
		attribute.String("openinference.span.kind", "TOOL"),
		attribute.String("tool.name", "search_docs"),
		attribute.String("tool.parameters", `{"query":"refund policy"}`)))
	_, ret := tr.Start(tctx, "retrieval", trace.WithAttributes(
		attribute.String("openinference.span.kind", "RETRIEVER"),
		attribute.String("input.value", "refund policy"),
		attribute.String("retrieval.documents.0.document.id", "doc-7"),
		attribute.Float64("retrieval.documents.0.document.score", 0.92),
		attribute.String("retrieval.documents.0.document.content", "Refunds are accepted within 30 days."),
		attribute.String("retrieval.documents.0.document.metadata", `{"source":"policy.md"}`),
		attribute.String("retrieval.documents.1.document.id", "doc-9"),
		attribute.Float64("retrieval.documents.1.document.score", 0.41),
		attribute.String("retrieval.documents.1.document.content", "Shipping takes 5 days."),
	))
	ret.End()
	tool.End()
	_, bad := tr.Start(ctx, "llm.chat", trace.WithAttributes(
		attribute.String("openinference.span.kind", "LLM"),
		attribute.Int("llm.token_count.prompt", 200),
	))
	bad.RecordError(fmt.Errorf("rate limited"))
	bad.SetStatus(codes.Error, "rate limited")
	bad.End()
	root.End()
}

// checkResult is what client_check.py prints, one member per step. A step
// that raised holds {"error": …, "trace": …} instead, which decodes into the
// Error field of every step type.
type checkResult struct {
	Projects struct {
		stepError
		Names    []string `json:"names"`
		ID       string   `json:"id"`
		Name     string   `json:"name"`
		ByIDName string   `json:"by_id_name"`
	} `json:"projects"`
	Spans struct {
		stepError
		Count int            `json:"count"`
		Kinds map[string]int `json:"kinds"`
	} `json:"spans"`
	AllSpansFrame struct {
		stepError
		Rows           int      `json:"rows"`
		Index          []string `json:"index"`
		Columns        []string `json:"columns"`
		StartTimeDtype string   `json:"start_time_dtype"`
		NewestFirst    bool     `json:"newest_first"`
	} `json:"all_spans_frame"`
	LLMFrame struct {
		stepError
		Rows              int            `json:"rows"`
		Kinds             []string       `json:"kinds"`
		Models            map[string]int `json:"models"`
		PromptTokens      float64        `json:"prompt_tokens"`
		FirstMessageRoles []string       `json:"first_message_roles"`
		Errors            int            `json:"errors"`
		HasSpanIDColumn   bool           `json:"has_span_id_column"`
	} `json:"llm_frame"`
	Selected struct {
		stepError
		Rows        int      `json:"rows"`
		Columns     []string `json:"columns"`
		Index       []string `json:"index"`
		Models      []string `json:"models"`
		TotalTokens float64  `json:"total_tokens"`
	} `json:"selected"`
	Exploded struct {
		stepError
		Rows       int       `json:"rows"`
		Index      []string  `json:"index"`
		Columns    []string  `json:"columns"`
		Positions  []int     `json:"positions"`
		Scores     []float64 `json:"scores"`
		References []string  `json:"references"`
	} `json:"exploded"`
	Concatenated struct {
		stepError
		Rows    int      `json:"rows"`
		Columns []string `json:"columns"`
		First   string   `json:"first"`
	} `json:"concatenated"`
	EmptyWindow struct {
		stepError
		Rows    int      `json:"rows"`
		Columns []string `json:"columns"`
	} `json:"empty_window"`
	Roots struct {
		stepError
		Rows  int      `json:"rows"`
		Kinds []string `json:"kinds"`
	} `json:"roots"`
	BadFilter struct {
		stepError
		Status int    `json:"status"`
		Body   string `json:"body"`
	} `json:"bad_filter"`
	Annotations struct {
		stepError
		Inserted             int      `json:"inserted"`
		InsertedFromFrame    int      `json:"inserted_from_frame"`
		Listed               []string `json:"listed"`
		FrameRows            int      `json:"frame_rows"`
		FrameColumns         []string `json:"frame_columns"`
		FrameLabels          []string `json:"frame_labels"`
		FilteredByAnnotation int      `json:"filtered_by_annotation"`
		ExpectedCorrect      int      `json:"expected_correct"`
	} `json:"annotations"`
	LargeExport struct {
		stepError
		Rows           int      `json:"rows"`
		SpanIDs        []string `json:"span_ids"`
		NewestFirst    bool     `json:"newest_first"`
		StartTimeDtype string   `json:"start_time_dtype"`
		Columns        []string `json:"columns"`
	} `json:"large_export"`
}

type stepError struct {
	Error string `json:"error"`
	Trace string `json:"trace"`
}

// failed reports a step that raised in Python, and whether it did.
func (e stepError) failed(t *testing.T, step string) bool {
	t.Helper()
	if e.Error == "" {
		return false
	}
	t.Errorf("%s: the client raised %s\n%s", step, e.Error, e.Trace)
	return true
}

func TestPhoenixClient(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test; skipped in -short mode")
	}
	python := requirePython(t)
	srv := e2etest.Start(t, e2etest.Build(t))
	ctx := context.Background()

	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(strings.TrimPrefix(srv.HTTPURL, "http://")),
		otlptracehttp.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("openinference.project.name", project))))
	for run := range runs {
		emitAgentRun(ctx, tp, run)
	}
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("exporting: %v", err)
	}
	exportIDs := srv.SendSmallSpans(t, exportProject, exportSpans, 2)

	script, err := filepath.Abs("client_check.py")
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, python, script, srv.HTTPURL, project, exportProject)
	// The client reads PHOENIX_* for its defaults; the test's own must not leak in.
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "PHOENIX_") })
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("client_check.py: %v\nstderr:\n%s\nstdout:\n%s", err, stderr.String(), stdout.String())
	}
	var res checkResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("client_check.py printed no JSON result: %v\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	t.Logf("client_check.py: %.20000s", stdout.String())

	const spans = runs * 5
	if r := res.Projects; !r.failed(t, "projects") {
		if !slices.Contains(r.Names, project) || r.Name != project || r.ByIDName != project || r.ID == "" {
			t.Errorf("projects: list %v, get by name %q (id %q), get by id %q; want %s found both ways", r.Names, r.Name, r.ID, r.ByIDName, project)
		}
	}
	if r := res.Spans; !r.failed(t, "spans") {
		want := map[string]int{"AGENT": runs, "LLM": 2 * runs, "TOOL": runs, "RETRIEVER": runs}
		if r.Count != spans || !mapsEqual(r.Kinds, want) {
			t.Errorf("get_spans: %d spans of kinds %v, want %d of %v", r.Count, r.Kinds, spans, want)
		}
	}
	if r := res.AllSpansFrame; !r.failed(t, "all_spans_frame") {
		for _, c := range []string{"name", "span_kind", "parent_id", "start_time", "end_time", "status_code",
			"status_message", "events", "context.span_id", "context.trace_id", "attributes.input.value",
			"attributes.llm.input_messages", "attributes.retrieval.documents", "attributes.metadata"} {
			if !slices.Contains(r.Columns, c) {
				t.Errorf("spans DataFrame has no column %s: %v", c, r.Columns)
			}
		}
		if r.Rows != spans || !slices.Equal(r.Index, []string{"context.span_id"}) ||
			!strings.HasPrefix(r.StartTimeDtype, "datetime64") || !r.NewestFirst {
			t.Errorf("spans DataFrame: %d rows indexed by %v, start_time %s, newest first %v; want %d rows by context.span_id, datetime64, newest first",
				r.Rows, r.Index, r.StartTimeDtype, r.NewestFirst, spans)
		}
	}
	if r := res.LLMFrame; !r.failed(t, "llm_frame") {
		wantModels := map[string]int{"gpt-4o-mini": 2, "claude-3-5-haiku": 1}
		if r.Rows != 2*runs || !slices.Equal(r.Kinds, []string{"LLM"}) || !mapsEqual(r.Models, wantModels) ||
			r.Errors != runs || !r.HasSpanIDColumn {
			t.Errorf("span_kind == 'LLM' DataFrame: %d rows, kinds %v, models %v, %d errors, span id column %v; want %d rows, [LLM], %v, %d errors, a span id column",
				r.Rows, r.Kinds, r.Models, r.Errors, r.HasSpanIDColumn, 2*runs, wantModels, runs)
		}
		if want := float64(100+101+102) + 200*runs; r.PromptTokens != want {
			t.Errorf("prompt tokens sum to %v, want %v", r.PromptTokens, want)
		}
		if !slices.Equal(r.FirstMessageRoles, []string{"system", "user"}) {
			t.Errorf("attributes.llm.input_messages roles = %v, want [system user]", r.FirstMessageRoles)
		}
	}
	if r := res.Selected; !r.failed(t, "selected") {
		if r.Rows != runs || !slices.Equal(r.Columns, []string{"name", "model", "llm.token_count.total"}) ||
			!slices.Equal(r.Index, []string{"context.span_id"}) ||
			!slices.Equal(r.Models, []string{"claude-3-5-haiku", "gpt-4o-mini"}) || r.TotalTokens != 120+121+122 {
			t.Errorf("select/rename: %d rows, columns %v, index %v, models %v, total tokens %v", r.Rows, r.Columns, r.Index, r.Models, r.TotalTokens)
		}
	}
	if r := res.Exploded; !r.failed(t, "exploded") {
		wantScores := []float64{0.41, 0.41, 0.41, 0.92, 0.92, 0.92}
		if r.Rows != 2*runs || !slices.Equal(r.Index, []string{"context.span_id", "document_position"}) ||
			!slices.Equal(r.Columns, []string{"reference", "score"}) || !slices.Equal(r.Positions, []int{0, 1}) ||
			!slices.Equal(r.Scores, wantScores) ||
			!slices.Equal(r.References, []string{"Refunds are accepted within 30 days.", "Shipping takes 5 days."}) {
			t.Errorf("explode retrieval.documents: %d rows, index %v, columns %v, positions %v, scores %v, references %v",
				r.Rows, r.Index, r.Columns, r.Positions, r.Scores, r.References)
		}
	}
	if r := res.Concatenated; !r.failed(t, "concatenated") {
		if r.Rows != runs || !slices.Equal(r.Columns, []string{"reference"}) ||
			r.First != "Refunds are accepted within 30 days.\n\nShipping takes 5 days." {
			t.Errorf("concat retrieval.documents: %d rows, columns %v, first %q", r.Rows, r.Columns, r.First)
		}
	}
	if r := res.EmptyWindow; !r.failed(t, "empty_window") {
		if r.Rows != 0 || !slices.Contains(r.Columns, "context.trace_id") {
			t.Errorf("a future start_time gave %d rows with columns %v; want an empty DataFrame with the span columns", r.Rows, r.Columns)
		}
	}
	if r := res.Roots; !r.failed(t, "roots") {
		if r.Rows != runs || !slices.Equal(r.Kinds, []string{"AGENT"}) {
			t.Errorf("root_spans_only: %d rows of kinds %v, want %d AGENT", r.Rows, r.Kinds, runs)
		}
	}
	if r := res.BadFilter; !r.failed(t, "bad_filter") {
		if r.Status != 422 || !strings.Contains(r.Body, "did you mean 'latency_ms'") {
			t.Errorf("a misspelt filter gave %d %q, want 422 naming latency_ms", r.Status, r.Body)
		}
	}
	if r := res.Annotations; !r.failed(t, "annotations") {
		n := 2 * runs
		if r.Inserted != n || r.InsertedFromFrame != n {
			t.Errorf("log_span_annotations inserted %d, the DataFrame variant %d; want %d each", r.Inserted, r.InsertedFromFrame, n)
		}
		labels := map[string]int{}
		for _, l := range r.Listed {
			parts := strings.Split(l, ":")
			labels[parts[1]+":"+parts[2]]++
		}
		wantLabels := map[string]int{"correctness:correct": runs, "correctness:incorrect": runs, "latency:fast": n}
		if len(r.Listed) != 2*n || !mapsEqual(labels, wantLabels) {
			t.Errorf("get_span_annotations read back %v, want labels %v", r.Listed, wantLabels)
		}
		if r.FrameRows != 2*n || !slices.Contains(r.FrameColumns, "annotation_name") || !slices.Contains(r.FrameColumns, "result.label") {
			t.Errorf("get_span_annotations_dataframe: %d rows, columns %v", r.FrameRows, r.FrameColumns)
		}
		if r.FilteredByAnnotation != r.ExpectedCorrect || r.ExpectedCorrect != runs {
			t.Errorf("annotations['correctness'].label == 'correct' matched %d spans, want %d", r.FilteredByAnnotation, r.ExpectedCorrect)
		}
	}
	if r := res.LargeExport; !r.failed(t, "large_export") {
		slices.Sort(exportIDs)
		if r.Rows != exportSpans || !slices.Equal(r.SpanIDs, exportIDs) || !r.NewestFirst ||
			!strings.HasPrefix(r.StartTimeDtype, "datetime64") || !slices.Contains(r.Columns, "attributes.llm.model_name") {
			t.Errorf("get_spans_dataframe of %d spans: %d rows (the stored spans' ids: %v), newest first %v, start_time %s, columns %v",
				exportSpans, r.Rows, slices.Equal(r.SpanIDs, exportIDs), r.NewestFirst, r.StartTimeDtype, r.Columns)
		}
	}
}

func mapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// requirePython returns the test virtual environment's python, skipping
// (or, under LOUPE_E2E_REQUIRE=1, failing) when it is missing or lacks the
// client.
func requirePython(t *testing.T) string {
	t.Helper()
	venv := os.Getenv("LOUPE_PY_VENV")
	if venv == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			missing(t, "no LOUPE_PY_VENV and no home directory")
		}
		venv = filepath.Join(home, ".cache", "loupe-test", "venv")
	}
	python := filepath.Join(venv, "bin", "python")
	out, err := exec.Command(python, "-c",
		"from importlib.metadata import version; print(version('arize-phoenix-client'), version('pandas'))").CombinedOutput()
	if err != nil {
		missing(t, fmt.Sprintf("no Python environment with arize-phoenix-client and pandas at %s (scripts/test.sh creates it): %v %s",
			venv, err, bytes.TrimSpace(out)))
	}
	t.Logf("arize-phoenix-client and pandas versions: %s", bytes.TrimSpace(out))
	return python
}

func missing(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("LOUPE_E2E_REQUIRE") == "1" {
		t.Fatalf("LOUPE_E2E_REQUIRE=1 but %s", why)
	}
	t.Skipf("%s; set LOUPE_E2E_REQUIRE=1 to make this a failure", why)
}
