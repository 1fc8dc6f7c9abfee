// Package storetest is the conformance suite every storage backend passes:
// the same fixtures and assertions, run against each backend.
package storetest

import (
	"fmt"

	"github.com/loupe-dev/loupe/internal/span"
)

// base is the start of every fixture, in unix nanoseconds (2024-05-01T10:00:00Z).
const base int64 = 1714557600_000_000_000

const ms = int64(1_000_000)

// traceID and spanID make deterministic hex ids from small numbers.
func traceID(n int) string { return fmt.Sprintf("%032x", n) }
func spanID(n int) string  { return fmt.Sprintf("%016x", n) }

// spanSpec is a compact description of a fixture span.
type spanSpec struct {
	project        string
	trace, id, par int
	name           string
	kind           span.Kind
	startMs, durMs int64
	status         span.StatusCode
	prompt, compl  int64
	session, user  string
	input, output  string
	attrs          span.Attributes
}

func (s spanSpec) build() span.Span {
	sp := span.Span{
		Project:    s.project,
		TraceID:    traceID(s.trace),
		SpanID:     spanID(s.id),
		Name:       s.name,
		StartTime:  base + s.startMs*ms,
		EndTime:    base + (s.startMs+s.durMs)*ms,
		StatusCode: s.status,
	}
	if sp.Project == "" {
		sp.Project = span.DefaultProject
	}
	if s.par != 0 {
		sp.ParentID = spanID(s.par)
	}
	if s.kind != "" {
		sp.Attributes = append(sp.Attributes, span.Attr{Key: span.AttrSpanKind, Value: span.StringValue(string(s.kind))})
	}
	if s.prompt != 0 {
		sp.Attributes = append(sp.Attributes, span.Attr{Key: span.AttrTokensPrompt, Value: span.IntValue(s.prompt)})
	}
	if s.compl != 0 {
		sp.Attributes = append(sp.Attributes, span.Attr{Key: span.AttrTokensComplete, Value: span.IntValue(s.compl)})
	}
	if s.session != "" {
		sp.Attributes = append(sp.Attributes, span.Attr{Key: span.AttrSessionID, Value: span.StringValue(s.session)})
	}
	if s.user != "" {
		sp.Attributes = append(sp.Attributes, span.Attr{Key: span.AttrUserID, Value: span.StringValue(s.user)})
	}
	if s.input != "" {
		sp.Attributes = append(sp.Attributes, span.Attr{Key: span.AttrInputValue, Value: span.StringValue(s.input)})
	}
	if s.output != "" {
		sp.Attributes = append(sp.Attributes, span.Attr{Key: span.AttrOutputValue, Value: span.StringValue(s.output)})
	}
	sp.Attributes = append(sp.Attributes, s.attrs...)
	span.Normalize(&sp)
	return sp
}

func build(specs ...spanSpec) []span.Span {
	out := make([]span.Span, len(specs))
	for i, s := range specs {
		out[i] = s.build()
	}
	return out
}

// agentTrace is an agent run: a root AGENT, two LLM calls (one of them an
// error), a TOOL with a RETRIEVER child. The trace spans 0–1000 ms after start.
func agentTrace(project string, trace int, startMs int64, session, user string) []spanSpec {
	id := trace * 100
	return []spanSpec{
		{project: project, trace: trace, id: id + 1, name: "agent.run", kind: span.KindAgent, startMs: startMs, durMs: 1000,
			status: span.StatusOK, session: session, user: user, input: fmt.Sprintf("question %d", trace), output: fmt.Sprintf("answer %d", trace)},
		{project: project, trace: trace, id: id + 2, par: id + 1, name: "llm.chat", kind: span.KindLLM, startMs: startMs + 10, durMs: 300,
			status: span.StatusOK, prompt: 100, compl: 20, session: session},
		{project: project, trace: trace, id: id + 3, par: id + 1, name: "tool.search_docs", kind: span.KindTool, startMs: startMs + 320, durMs: 200, status: span.StatusOK},
		{project: project, trace: trace, id: id + 4, par: id + 3, name: "retrieval", kind: span.KindRetriever, startMs: startMs + 330, durMs: 150, status: span.StatusOK},
		{project: project, trace: trace, id: id + 5, par: id + 1, name: "llm.chat", kind: span.KindLLM, startMs: startMs + 530, durMs: 460,
			status: span.StatusError, prompt: 300, compl: 50},
	}
}
