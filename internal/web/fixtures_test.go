package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store/sqlite"
)

// testEnv is a UI over a real SQLite store in a temporary directory.
type testEnv struct {
	t     testing.TB
	store *sqlite.Store
	h     *Handler
	mux   http.Handler
}

func newEnv(t testing.TB) *testEnv {
	t.Helper()
	st, log := openTestStore(t)
	h := New(Config{Store: st, Log: log, GRPCAddr: "0.0.0.0:4317", PollInterval: 20 * time.Millisecond})
	mux := h.Handler()
	return &testEnv{t: t, store: st, h: h, mux: mux}
}

// openTestStore opens a SQLite store in a temporary directory, logging to
// the test.
func openTestStore(t testing.TB) (*sqlite.Store, *slog.Logger) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	st, err := sqlite.Open(context.Background(), t.TempDir(), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, log
}

func (e *testEnv) write(spans ...span.Span) {
	e.t.Helper()
	for i := range spans {
		span.Normalize(&spans[i])
	}
	if _, err := e.store.WriteSpans(context.Background(), spans); err != nil {
		e.t.Fatal(err)
	}
}

// get requests path and returns the status and body.
func (e *testEnv) get(path string) (int, string) {
	e.t.Helper()
	rec := e.do(path)
	return rec.Code, rec.Body.String()
}

func (e *testEnv) do(path string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Host = "loupe.example:6006"
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, req)
	return rec
}

// mustGet fails unless path answers 200 and returns the body.
func (e *testEnv) mustGet(path string) string {
	e.t.Helper()
	code, body := e.get(path)
	if code != http.StatusOK {
		e.t.Fatalf("GET %s = %d, want 200\n%s", path, code, body)
	}
	return body
}

func contains(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s: missing %q", what, w)
		}
	}
}

func lacks(t *testing.T, what, body string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(body, w) {
			t.Errorf("%s: unexpectedly has %q", what, w)
		}
	}
}

func str(k, v string) span.Attr       { return span.Attr{Key: k, Value: span.StringValue(v)} }
func num(k string, v int64) span.Attr { return span.Attr{Key: k, Value: span.IntValue(v)} }
func dbl(k string, v float64) span.Attr {
	return span.Attr{Key: k, Value: span.DoubleValue(v)}
}

const (
	agentTrace = "0af7651916cd43dd8448eb211c80319c"
	rootSpan   = "b7ad6b7169203331"
	llmSpan    = "00f067aa0ba902b7"
	toolSpan   = "1111111111111111"
	docSpan    = "2222222222222222"
	badSpan    = "3333333333333333"
)

// agentRun is a recent agent trace: an LLM call that asks for a tool, the
// tool with a retrieval under it, and a failing LLM call.
func agentRun(project, traceID, session string, at time.Time) []span.Span {
	base := at.UnixNano()
	ms := int64(time.Millisecond)
	sid := func(s string) string {
		if traceID == agentTrace {
			return s
		}
		return s[:8] + traceID[24:]
	}
	mk := func(id, parent, name, kind string, start, dur int64, attrs ...span.Attr) span.Span {
		s := span.Span{Project: project, TraceID: traceID, SpanID: sid(id), Name: name,
			StartTime: base + start*ms, EndTime: base + (start+dur)*ms, StatusCode: span.StatusOK,
			Attributes: append(span.Attributes{str(span.AttrSpanKind, kind)}, attrs...)}
		if parent != "" {
			s.ParentID = sid(parent)
		}
		return s
	}
	bad := mk(badSpan, rootSpan, "llm.chat", "LLM", 14000, 4000, num(span.AttrTokensPrompt, 200))
	bad.StatusCode, bad.StatusMessage = span.StatusError, "rate limited"
	bad.Events = []span.Event{{Name: "exception", Time: base + 18000*ms, Attributes: span.Attributes{
		str("exception.type", "RateLimitError"), str("exception.message", "rate limited"),
		str("exception.stacktrace", "Traceback (most recent call last):\n  File \"agent.py\", line 3"),
	}}}
	return []span.Span{
		mk(rootSpan, "", "agent.run", "AGENT", 0, 18400,
			str("input.value", "What is our refund policy?"), str("output.value", "Refunds within 30 days."),
			str("session.id", session), str("user.id", "alice")),
		mk(llmSpan, rootSpan, "llm.chat", "LLM", 100, 4200,
			str("llm.model_name", "gpt-4o-mini"), str("llm.provider", "openai"),
			str("llm.input_messages.0.message.role", "system"),
			str("llm.input_messages.0.message.content", "You are helpful."),
			str("llm.input_messages.1.message.role", "user"),
			str("llm.input_messages.1.message.content", "What is our refund policy?"),
			str("llm.output_messages.0.message.role", "assistant"),
			str("llm.output_messages.0.message.tool_calls.0.tool_call.id", "call_1"),
			str("llm.output_messages.0.message.tool_calls.0.tool_call.function.name", "search_docs"),
			str("llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments", `{"query":"refund policy"}`),
			str("llm.invocation_parameters", `{"temperature":0.2}`),
			num(span.AttrTokensPrompt, 1200), num(span.AttrTokensComplete, 30), num(span.AttrTokensCacheRead, 640)),
		mk(toolSpan, rootSpan, "tool.search_docs", "TOOL", 4400, 300,
			str("tool.name", "search_docs"), str("input.value", `{"query":"refund policy"}`), str("input.mime_type", "application/json")),
		mk(docSpan, toolSpan, "retrieval", "RETRIEVER", 4450, 200,
			str("input.value", "refund policy"),
			str("retrieval.documents.0.document.id", "doc-7"), dbl("retrieval.documents.0.document.score", 0.92),
			str("retrieval.documents.0.document.content", "Refunds are accepted within 30 days.")),
		bad,
	}
}

func traceIDn(n int) string { return fmt.Sprintf("%032x", n) }

// testWriter sends the handler's log to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
