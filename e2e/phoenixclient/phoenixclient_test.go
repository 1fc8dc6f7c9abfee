// Package phoenixclient_test checks that Arize Phoenix's own Python client,
// arize-phoenix-client from PyPI, works unchanged against Loupe: every
// tracing method of the current client (projects, spans, traces, sessions,
// annotations, notes, DataFrames, SpanQuery), each asserted on what it
// returns against what the test sent; and, in rest_test.go, the parts of
// Phoenix's REST surface the client does not call.
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

// tracesProject holds turnCount one-turn traces for the trace list's
// filters, sorts and pages (the client pages 100 traces at a time).
const (
	tracesProject = "client-traces"
	turnCount     = 130
	deletedTurn   = 7 // whose spans spans.delete deletes
)

// turn is one trace emitTurns sent.
type turn struct {
	id      string
	latency int64 // ms
	failed  bool
	session string
}

// emitTurns sends n traces, a CHAIN root "turn i" with an LLM child: turn i
// starts i seconds after base and lasts 100 + (i%10)*100 ms; its LLM call
// fails when i%4 == 0; turns 0–5 belong to session turns-(i%2).
func emitTurns(ctx context.Context, tp trace.TracerProvider, base time.Time, n int) []turn {
	tr := tp.Tracer("loupe-e2e-phoenixclient")
	out := make([]turn, n)
	for i := range n {
		start := base.Add(time.Duration(i) * time.Second)
		t := turn{latency: 100 + int64(i%10)*100, failed: i%4 == 0}
		attrs := []attribute.KeyValue{
			attribute.String("openinference.span.kind", "CHAIN"),
			attribute.String("input.value", fmt.Sprintf("question %d", i)),
			attribute.String("output.value", fmt.Sprintf("answer %d", i)),
		}
		if i < 6 {
			t.session = fmt.Sprintf("turns-%d", i%2)
			attrs = append(attrs, attribute.String("session.id", t.session))
		}
		rctx, root := tr.Start(ctx, fmt.Sprintf("turn %d", i), trace.WithTimestamp(start), trace.WithAttributes(attrs...))
		_, llm := tr.Start(rctx, "llm.chat", trace.WithTimestamp(start.Add(10*time.Millisecond)), trace.WithAttributes(
			attribute.String("openinference.span.kind", "LLM"), attribute.String("llm.model_name", "gpt-4o-mini")))
		if t.failed {
			llm.SetStatus(codes.Error, "upstream failed")
		}
		llm.End(trace.WithTimestamp(start.Add(50 * time.Millisecond)))
		root.End(trace.WithTimestamp(start.Add(time.Duration(t.latency) * time.Millisecond)))
		t.id = root.SpanContext().TraceID().String()
		out[i] = t
	}
	return out
}

// turnIDs lists the ids of the turns keep selects, sorted.
func turnIDs(turns []turn, keep func(i int, t turn) bool) []string {
	out := []string{}
	for i, t := range turns {
		if keep(i, t) {
			out = append(out, t.id)
		}
	}
	slices.Sort(out)
	return out
}

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
	tracingResult
}

// tracingResult is what client_check.py's tracing_steps print.
type tracingResult struct {
	ProjectsCRUD struct {
		stepError
		Created  string   `json:"created"`
		Updated  string   `json:"updated"`
		Got      []string `json:"got"`
		Listed   bool     `json:"listed"`
		Filtered []string `json:"filtered"`
	} `json:"projects_crud"`
	LogSpans struct {
		stepError
		Queued          int      `json:"queued"`
		QueuedFromFrame int      `json:"queued_from_frame"`
		Names           []string `json:"names"`
		ErrorInputs     []string `json:"error_inputs"`
	} `json:"log_spans"`
	SpanFilters struct {
		stepError
		All        int `json:"all"`
		TraceIDs   int `json:"trace_ids"`
		SpanIDs    int `json:"span_ids"`
		Name       int `json:"name"`
		SpanKind   int `json:"span_kind"`
		StatusCode int `json:"status_code"`
		Roots      int `json:"roots"`
		Attribute  int `json:"attribute"`
		Combined   int `json:"combined"`
		Limit      int `json:"limit"`
	} `json:"span_filters"`
	SpanAnnotations struct {
		stepError
		AnnotationID       bool     `json:"annotation_id"`
		NoteID             bool     `json:"note_id"`
		DocumentID         bool     `json:"document_id"`
		Documents          int      `json:"documents"`
		DocumentsFromFrame int      `json:"documents_from_frame"`
		Listed             []string `json:"listed"`
		Notes              []string `json:"notes"`
		FrameNames         []string `json:"frame_names"`
	} `json:"span_annotations_and_notes"`
	Traces struct {
		stepError
		All                   []string   `json:"all"`
		Pages                 int        `json:"pages"`
		LaterPagesHaveCursors bool       `json:"later_pages_have_cursors"`
		OldestFirst           []string   `json:"oldest_first"`
		Slowest               []int64    `json:"slowest"`
		Errors                []string   `json:"errors"`
		NoErrors              []string   `json:"no_errors"`
		LatencyWindow         []string   `json:"latency_window"`
		SlowErrors            []string   `json:"slow_errors"`
		Session               []string   `json:"session"`
		Sessions              []string   `json:"sessions"`
		TimeWindow            []string   `json:"time_window"`
		Limited               int        `json:"limited"`
		WithSpans             [][]string `json:"with_spans"`
		WithSpansIDs          []string   `json:"with_spans_ids"`
	} `json:"traces"`
	TraceAnnotations struct {
		stepError
		TraceIDs        []string `json:"trace_ids"`
		AnnotationID    bool     `json:"annotation_id"`
		Logged          int      `json:"logged"`
		LoggedFromFrame int      `json:"logged_from_frame"`
		Read            []string `json:"read"`
	} `json:"trace_annotations"`
	Sessions struct {
		stepError
		Listed            []string `json:"listed"`
		FrameRows         int      `json:"frame_rows"`
		FrameHasSessionID bool     `json:"frame_has_session_id"`
		GotSessionID      string   `json:"got_session_id"`
		GotTraceIDs       []string `json:"got_trace_ids"`
		TurnInputs        []string `json:"turn_inputs"`
		TurnOutputs       []string `json:"turn_outputs"`
		AnnotationID      bool     `json:"annotation_id"`
		Logged            int      `json:"logged"`
		LoggedFromFrame   int      `json:"logged_from_frame"`
		Read              []string `json:"read"`
	} `json:"sessions"`
	SpanDelete struct {
		stepError
		AfterChild int  `json:"after_child"`
		AfterRoot  int  `json:"after_root"`
		Again      int  `json:"again"`
		TraceGone  bool `json:"trace_gone"`
		TracesLeft int  `json:"traces_left"`
	} `json:"span_delete"`
	SessionDeletes struct {
		stepError
		AfterDelete  int `json:"after_delete"`
		SessionsLeft int `json:"sessions_left"`
		TracesLeft   int `json:"traces_left"`
	} `json:"session_deletes"`
	ProjectDelete struct {
		stepError
		Status int  `json:"status"`
		Listed bool `json:"listed"`
	} `json:"project_delete"`
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
	python := e2etest.Python(t, "arize-phoenix-client", "pandas")
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
	// A provider's shutdown shuts its exporter down: the turns need their own.
	turnsExp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(strings.TrimPrefix(srv.HTTPURL, "http://")),
		otlptracehttp.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	turnsTP := sdktrace.NewTracerProvider(sdktrace.WithBatcher(turnsExp),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("openinference.project.name", tracesProject))))
	turns := emitTurns(ctx, turnsTP, time.Now().Add(-time.Hour).Truncate(time.Second), turnCount)
	if err := turnsTP.Shutdown(ctx); err != nil {
		t.Fatalf("exporting: %v", err)
	}

	script, err := filepath.Abs("client_check.py")
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, python, script, srv.HTTPURL, project, exportProject, tracesProject, turns[deletedTurn].id)
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
	checkTracing(t, &res.tracingResult, turns)
	if r := res.LargeExport; !r.failed(t, "large_export") {
		slices.Sort(exportIDs)
		if r.Rows != exportSpans || !slices.Equal(r.SpanIDs, exportIDs) || !r.NewestFirst ||
			!strings.HasPrefix(r.StartTimeDtype, "datetime64") || !slices.Contains(r.Columns, "attributes.llm.model_name") {
			t.Errorf("get_spans_dataframe of %d spans: %d rows (the stored spans' ids: %v), newest first %v, start_time %s, columns %v",
				exportSpans, r.Rows, slices.Equal(r.SpanIDs, exportIDs), r.NewestFirst, r.StartTimeDtype, r.Columns)
		}
	}
}

// checkTracing asserts on the tracing steps: every value against what the
// test sent.
func checkTracing(t *testing.T, res *tracingResult, turns []turn) {
	t.Helper()
	if r := res.ProjectsCRUD; !r.failed(t, "projects_crud") {
		if r.Created != "client-scratch" || r.Updated != "second words" || !slices.Equal(r.Got, []string{"client-scratch", "second words"}) ||
			!r.Listed || !slices.Equal(r.Filtered, []string{"client-scratch"}) {
			t.Errorf("projects create/update/get/list: %+v", r)
		}
	}
	if r := res.LogSpans; !r.failed(t, "log_spans") {
		if r.Queued != 1 || r.QueuedFromFrame != 1 || !slices.Equal(r.Names, []string{"uploaded", "uploaded-from-frame"}) ||
			!slices.Equal(r.ErrorInputs, []string{"framed question"}) {
			t.Errorf("log_spans and log_spans_dataframe: %+v", r)
		}
	}
	if r := res.SpanFilters; !r.failed(t, "span_filters") {
		want := struct{ All, TraceIDs, SpanIDs, Name, SpanKind, StatusCode, Roots, Attribute, Combined, Limit int }{
			runs * 5, 5, 1, runs, runs, runs, runs, 1, runs, 4}
		got := struct{ All, TraceIDs, SpanIDs, Name, SpanKind, StatusCode, Roots, Attribute, Combined, Limit int }{
			r.All, r.TraceIDs, r.SpanIDs, r.Name, r.SpanKind, r.StatusCode, r.Roots, r.Attribute, r.Combined, r.Limit}
		if got != want {
			t.Errorf("get_spans filters: got %+v, want %+v", got, want)
		}
	}
	if r := res.SpanAnnotations; !r.failed(t, "span_annotations_and_notes") {
		if !r.AnnotationID || !r.NoteID || !r.DocumentID || r.Documents != runs || r.DocumentsFromFrame != runs ||
			!slices.Equal(r.Listed, []string{"grounded:yes:v1"}) || !slices.Equal(r.Notes, []string{"check the second document"}) ||
			!slices.Equal(r.FrameNames, []string{"grounded"}) {
			t.Errorf("span annotations, notes and document annotations: %+v", r)
		}
	}
	all := func(int, turn) bool { return true }
	if r := res.Traces; !r.failed(t, "traces") {
		var newestFirst []string
		for i := len(turns) - 1; i >= 0; i-- {
			newestFirst = append(newestFirst, turns[i].id)
		}
		if !slices.Equal(r.All, newestFirst) || r.Pages != 2 || !r.LaterPagesHaveCursors {
			t.Errorf("get_traces(limit=1000): %d traces in %d requests (cursors on later pages %v), newest first %v; want %d in 2 pages",
				len(r.All), r.Pages, r.LaterPagesHaveCursors, slices.Equal(r.All, newestFirst), turnCount)
		}
		if want := []string{turns[0].id, turns[1].id, turns[2].id, turns[3].id, turns[4].id}; !slices.Equal(r.OldestFirst, want) {
			t.Errorf("order=asc: %v, want turns 0–4", r.OldestFirst)
		}
		if len(r.Slowest) != turnCount || r.Slowest[0] != 1000 || r.Slowest[turnCount-1] != 100 ||
			!slices.IsSortedFunc(r.Slowest, func(a, b int64) int { return int(b - a) }) {
			t.Errorf("sort=latency_ms, desc: %v", r.Slowest)
		}
		for _, c := range []struct {
			name      string
			got, want []string
		}{
			{"error=True", r.Errors, turnIDs(turns, func(_ int, t turn) bool { return t.failed })},
			{"error=False", r.NoErrors, turnIDs(turns, func(_ int, t turn) bool { return !t.failed })},
			{"min_latency_ms=500, max_latency_ms=800", r.LatencyWindow, turnIDs(turns, func(_ int, t turn) bool { return t.latency >= 500 && t.latency <= 800 })},
			{"error=True, min_latency_ms=900", r.SlowErrors, turnIDs(turns, func(_ int, t turn) bool { return t.failed && t.latency >= 900 })},
			{"session_id=turns-0", r.Session, turnIDs(turns, func(_ int, t turn) bool { return t.session == "turns-0" })},
			{"session_id=[turns-0, turns-1]", r.Sessions, turnIDs(turns, func(_ int, t turn) bool { return t.session != "" })},
			{"start_time, end_time", r.TimeWindow, turnIDs(turns, func(i int, _ turn) bool { return i >= 10 && i < 20 })},
		} {
			if !slices.Equal(c.got, c.want) {
				t.Errorf("get_traces(%s): %d traces, want %d: %v", c.name, len(c.got), len(c.want), c.got)
			}
		}
		if len(turnIDs(turns, all)) != turnCount || len(r.Errors) == 0 || len(r.SlowErrors) == 0 || len(r.LatencyWindow) == 0 {
			t.Errorf("the turns do not exercise every filter: %d errors, %d slow errors, %d in the latency window",
				len(r.Errors), len(r.SlowErrors), len(r.LatencyWindow))
		}
		wantWith := []string{turns[turnCount-1].id, turns[turnCount-2].id, turns[turnCount-3].id}
		if r.Limited != 7 || !slices.Equal(r.WithSpansIDs, wantWith) || len(r.WithSpans) != 3 ||
			!slices.Equal(r.WithSpans[0], []string{"llm.chat", fmt.Sprintf("turn %d", turnCount-1)}) {
			t.Errorf("limit=7 gave %d; include_spans: %v %v", r.Limited, r.WithSpansIDs, r.WithSpans)
		}
	}
	if r := res.TraceAnnotations; !r.failed(t, "trace_annotations") {
		ids := []string{turns[0].id, turns[1].id, turns[2].id}
		want := []string{ids[0] + ":resolved:yes", ids[0] + ":tone:polite", ids[1] + ":resolved:no", ids[1] + ":tone:polite",
			ids[2] + ":resolved:no", ids[2] + ":tone:polite"}
		slices.Sort(want)
		if !slices.Equal(r.TraceIDs, ids) || !r.AnnotationID || r.Logged != 2 || r.LoggedFromFrame != 3 || !slices.Equal(r.Read, want) {
			t.Errorf("trace annotations: %+v\nwant read back %v", r, want)
		}
	}
	if r := res.Sessions; !r.failed(t, "sessions") {
		want := []string{"turns-0:satisfied:yes", "turns-0:length:short", "turns-1:satisfied:no", "turns-1:length:long"}
		slices.Sort(want)
		if !slices.Equal(r.Listed, []string{"turns-0:3", "turns-1:3"}) || r.FrameRows != 2 || !r.FrameHasSessionID ||
			r.GotSessionID != "turns-0" || !slices.Equal(r.GotTraceIDs, turnIDs(turns, func(_ int, t turn) bool { return t.session == "turns-0" })) ||
			!slices.Equal(r.TurnInputs, []string{"question 0", "question 2", "question 4"}) ||
			!slices.Equal(r.TurnOutputs, []string{"answer 0", "answer 2", "answer 4"}) ||
			!r.AnnotationID || r.Logged != 1 || r.LoggedFromFrame != 2 || !slices.Equal(r.Read, want) {
			t.Errorf("sessions: %+v\nwant annotations %v", r, want)
		}
	}
	if r := res.SpanDelete; !r.failed(t, "span_delete") {
		if r.AfterChild != 1 || r.AfterRoot != 0 || r.Again != 404 || !r.TraceGone || r.TracesLeft != turnCount-1 {
			t.Errorf("spans.delete: %+v; want 1 span, then none, then 404, the trace gone, %d traces left", r, turnCount-1)
		}
	}
	if r := res.SessionDeletes; !r.failed(t, "session_deletes") {
		if r.AfterDelete != 404 || r.SessionsLeft != 0 || r.TracesLeft != turnCount-1-6 {
			t.Errorf("sessions.delete and bulk_delete: %+v; want 404 after, no sessions, %d traces left", r, turnCount-7)
		}
	}
	if r := res.ProjectDelete; !r.failed(t, "project_delete") {
		if r.Status != 404 || r.Listed {
			t.Errorf("projects.delete: then get = %d, listed %v", r.Status, r.Listed)
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
