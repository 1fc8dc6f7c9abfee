package agentgen_test

import (
	"reflect"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/loupe-dev/loupe/internal/bench/agentgen"
)

var t0 = time.Unix(1_750_000_000, 0)

func attrs(s agentgen.Span) map[string]attribute.Value {
	m := make(map[string]attribute.Value, len(s.Attrs))
	for _, kv := range s.Attrs {
		m[string(kv.Key)] = kv.Value
	}
	return m
}

func TestAgentTraceShape(t *testing.T) {
	g := agentgen.New(agentgen.Agent, 7, t0)
	wantKind := map[string]string{
		"agent.run": "AGENT", "llm.chat": "LLM", "search_docs": "TOOL", "fetch_chunk": "TOOL", "retrieval": "RETRIEVER",
	}
	wantParent := map[string]string{
		"llm.chat": "agent.run", "search_docs": "agent.run", "fetch_chunk": "agent.run", "retrieval": "search_docs",
	}
	wantKeys := map[string][]string{
		"agent.run": {"input.value", "output.value", "session.id", "user.id"},
		"llm.chat": {"llm.model_name", "llm.provider", "llm.invocation_parameters",
			"llm.input_messages.0.message.role", "llm.input_messages.0.message.content",
			"llm.input_messages.1.message.content", "llm.output_messages.0.message.role",
			"llm.token_count.prompt", "llm.token_count.completion", "llm.token_count.total",
			"llm.token_count.prompt_details.cache_read", "input.value", "output.value", "session.id", "user.id"},
		"search_docs": {"tool.name", "input.value", "output.value"},
		"fetch_chunk": {"tool.name", "input.value", "output.value"},
		"retrieval": {"retrieval.documents.0.document.id", "retrieval.documents.0.document.score",
			"retrieval.documents.0.document.content", "retrieval.documents.2.document.id"},
	}
	seen := map[string]int{}
	toolCalls, errorSpans := 0, 0
	for range 200 {
		tr := g.Trace()
		root := tr.Spans[0]
		if root.Name != "agent.run" || root.Parent != -1 || root.ParentID.IsValid() {
			t.Fatalf("first span is %q (parent %d), want the agent.run root", root.Name, root.Parent)
		}
		if !root.TraceID.IsValid() {
			t.Fatal("trace has an invalid trace ID")
		}
		ids := map[trace.SpanID]bool{}
		for i, s := range tr.Spans {
			seen[s.Name]++
			a := attrs(s)
			if got := a["openinference.span.kind"].AsString(); got != wantKind[s.Name] {
				t.Errorf("span %q has kind %q, want %q", s.Name, got, wantKind[s.Name])
			}
			for _, k := range wantKeys[s.Name] {
				if _, ok := a[k]; !ok {
					t.Errorf("span %q lacks %s", s.Name, k)
				}
			}
			if s.TraceID != root.TraceID || !s.SpanID.IsValid() || ids[s.SpanID] {
				t.Errorf("span %d (%q) has trace %s span %s: want the root's trace and a new valid span ID", i, s.Name, s.TraceID, s.SpanID)
			}
			ids[s.SpanID] = true
			if i > 0 {
				if s.Parent < 0 || s.Parent >= i {
					t.Fatalf("span %d (%q) has parent index %d: parents come first", i, s.Name, s.Parent)
				}
				p := tr.Spans[s.Parent]
				if p.Name != wantParent[s.Name] || s.ParentID != p.SpanID {
					t.Errorf("span %q has parent %q (%s), want %q (%s)", s.Name, p.Name, s.ParentID, wantParent[s.Name], p.SpanID)
				}
				if s.Start.Before(p.Start) || s.End.After(p.End) {
					t.Errorf("span %q [%v, %v] is not within its parent %q [%v, %v]", s.Name, s.Start, s.End, p.Name, p.Start, p.End)
				}
			}
			if _, ok := a["llm.output_messages.0.message.tool_calls.0.tool_call.function.name"]; ok {
				toolCalls++
				if _, ok := a["llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments"]; !ok {
					t.Errorf("tool call without arguments in %q", s.Name)
				}
			}
			if s.Err != "" {
				errorSpans++
				if len(s.Events) != 1 || s.Events[0].Name != "exception" {
					t.Errorf("error span %q has events %v, want one exception", s.Name, s.Events)
				}
				ea := attrs(agentgen.Span{Attrs: s.Events[0].Attrs})
				for _, k := range []string{"exception.type", "exception.message", "exception.stacktrace"} {
					if _, ok := ea[k]; !ok {
						t.Errorf("exception event lacks %s", k)
					}
				}
			}
		}
	}
	for name := range wantKind {
		if seen[name] == 0 {
			t.Errorf("no %q span in 200 traces", name)
		}
	}
	if toolCalls == 0 || errorSpans == 0 {
		t.Errorf("200 traces had %d LLM tool calls and %d error spans; want some of each", toolCalls, errorSpans)
	}
}

func TestDeterministic(t *testing.T) {
	a := agentgen.New(agentgen.Agent, 42, t0).Spans(300)
	b := agentgen.New(agentgen.Agent, 42, t0).Spans(300)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed gave different spans")
	}
	c := agentgen.New(agentgen.Agent, 43, t0).Spans(300)
	if reflect.DeepEqual(a, c) {
		t.Fatal("different seeds gave the same spans")
	}
}

func TestSpansCutsTraces(t *testing.T) {
	g := agentgen.New(agentgen.Small, 1, t0)
	whole := agentgen.New(agentgen.Small, 1, t0)
	var want []agentgen.Span
	for len(want) < 30 {
		want = append(want, whole.Trace().Spans...)
	}
	var got []agentgen.Span
	for len(got) < len(want) {
		got = append(got, g.Spans(4)...)
	}
	if !reflect.DeepEqual(got[:len(want)], want) {
		t.Fatal("spans taken 4 at a time differ from whole traces")
	}
}

// wireBytesPerSpan is the average OTLP protobuf size of a span of shape.
func wireBytesPerSpan(t *testing.T, shape agentgen.Shape) float64 {
	t.Helper()
	const n = 5000
	spans := agentgen.New(shape, 3, t0).Spans(n)
	b, err := ptraceotlp.NewExportRequestFromTraces(agentgen.Traces(agentgen.Resource{ServiceName: "app", Project: "p"}, spans)).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return float64(len(b)) / n
}

func TestWireSize(t *testing.T) {
	if got := wireBytesPerSpan(t, agentgen.Agent); got < 1200 || got > 1800 {
		t.Errorf("agent spans average %.0f B on the wire, want 1.2–1.8 KB", got)
	}
	if got := wireBytesPerSpan(t, agentgen.Small); got < 150 || got > 250 {
		t.Errorf("small spans average %.0f B on the wire, want about 200 B", got)
	}
}

func TestShifted(t *testing.T) {
	tr := agentgen.New(agentgen.Agent, 1, t0).Trace()
	start := tr.Spans[0].Start
	sh := tr.Shifted(time.Hour)
	for i := range tr.Spans {
		if !sh.Spans[i].Start.Equal(tr.Spans[i].Start.Add(time.Hour)) || !sh.Spans[i].End.Equal(tr.Spans[i].End.Add(time.Hour)) {
			t.Fatalf("span %d not shifted by an hour", i)
		}
	}
	if !tr.Spans[0].Start.Equal(start) {
		t.Fatal("Shifted changed the original trace")
	}
}

func TestParseShape(t *testing.T) {
	for _, s := range []agentgen.Shape{agentgen.Agent, agentgen.Small} {
		if got, err := agentgen.ParseShape(s.String()); err != nil || got != s {
			t.Errorf("ParseShape(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := agentgen.ParseShape("huge"); err == nil {
		t.Error("ParseShape(huge) did not fail")
	}
}
