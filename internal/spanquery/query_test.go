package spanquery

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/span/spantest"
	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/sqlite"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// The tests' spans: testSpan(project, trace, id, parent, kind, attrs...)
// starts id ms after t0.
const t0 = spantest.T0

var testSpan, hexID = spantest.New, spantest.HexID

// newStreamer is a Streamer over a watched SQLite store holding spans.
func newStreamer(t *testing.T, spans ...span.Span) (*Streamer, *watchedStore) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if len(spans) > 0 {
		if _, err := st.WriteSpans(context.Background(), spans); err != nil {
			t.Fatal(err)
		}
	}
	ws := &watchedStore{Store: st}
	return &Streamer{Store: ws, Log: slog.New(slog.DiscardHandler)}, ws
}

// answer has s answer body for project, as POST /v1/spans does.
func answer(t *testing.T, s *Streamer, project, body string) *httptest.ResponseRecorder {
	t.Helper()
	var b Body
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	req, err := Compile(b)
	if err != nil {
		t.Fatalf("Compile(%s): %v", body, err)
	}
	w := httptest.NewRecorder()
	if err := s.Answer(w, httptest.NewRequest("POST", "/v1/spans", nil), project, req); err != nil {
		t.Fatalf("Answer(%s): %v", body, err)
	}
	return w
}

// agentSpans is a small agent run in project "agent": an agent root,
// an LLM call with messages and a tool call, a retriever with two documents
// (one with JSON metadata), a second LLM call, a custom attribute group, and
// an orphan whose parent was never stored.
func agentSpans() []span.Span {
	str := span.StringValue
	root := testSpan("agent", 1, 1, 0, span.KindAgent,
		span.Attr{Key: span.AttrInputValue, Value: str("What is our refund policy?")},
		span.Attr{Key: span.AttrOutputValue, Value: str("30 days.")},
		span.Attr{Key: span.AttrSessionID, Value: str("s-1")},
		span.Attr{Key: "metadata", Value: str(`{"tier":"gold","region":"eu"}`)},
		span.Attr{Key: "app.flags.beta", Value: span.BoolValue(true)})
	llm := testSpan("agent", 1, 2, 1, span.KindLLM,
		span.Attr{Key: span.AttrModelName, Value: str("gpt-4o")},
		span.Attr{Key: span.AttrTokensPrompt, Value: span.IntValue(120)},
		span.Attr{Key: span.AttrTokensComplete, Value: span.IntValue(30)},
		span.Attr{Key: "llm.input_messages.0.message.role", Value: str("system")},
		span.Attr{Key: "llm.input_messages.0.message.content", Value: str("Be brief.")},
		span.Attr{Key: "llm.input_messages.1.message.role", Value: str("user")},
		span.Attr{Key: "llm.input_messages.1.message.content", Value: str("Refunds?")},
		span.Attr{Key: "llm.output_messages.0.message.role", Value: str("assistant")},
		span.Attr{Key: "llm.output_messages.0.message.tool_calls.0.tool_call.function.name", Value: str("search_docs")},
		span.Attr{Key: "llm.invocation_parameters", Value: str(`{"temperature":0.2}`)},
		span.Attr{Key: "tag.tags", Value: span.Value{Type: span.TypeSlice, Slice: []span.Value{str("prod"), str("eu")}}})
	retriever := testSpan("agent", 1, 3, 1, span.KindRetriever,
		span.Attr{Key: span.AttrInputValue, Value: str("refund policy")},
		span.Attr{Key: "retrieval.documents.0.document.id", Value: str("doc-1")},
		span.Attr{Key: "retrieval.documents.0.document.content", Value: str("Refunds within 30 days.")},
		span.Attr{Key: "retrieval.documents.0.document.score", Value: span.DoubleValue(0.92)},
		span.Attr{Key: "retrieval.documents.0.document.metadata", Value: str(`{"source":"policy.md"}`)},
		span.Attr{Key: "retrieval.documents.1.document.id", Value: str("doc-2")},
		span.Attr{Key: "retrieval.documents.1.document.content", Value: str("Shipping takes 5 days.")},
		span.Attr{Key: "retrieval.documents.1.document.score", Value: span.DoubleValue(0.5)})
	llm2 := testSpan("agent", 1, 4, 1, span.KindLLM,
		span.Attr{Key: span.AttrModelName, Value: str("claude-3-5-sonnet")},
		span.Attr{Key: span.AttrTokensPrompt, Value: span.IntValue(200)})
	llm2.StatusCode, llm2.StatusMessage = span.StatusError, "rate limited"
	llm2.Events = []span.Event{{Name: "exception", Time: t0 + 4_500_000,
		Attributes: span.Attributes{{Key: "exception.message", Value: str("429")}}}}
	orphan := testSpan("agent", 2, 6, 5, span.KindTool,
		span.Attr{Key: "tool.name", Value: str("search_docs")},
		span.Attr{Key: "tool.parameters", Value: str(`{"q":"refund"}`)})
	return []span.Span{root, llm, retriever, llm2, orphan}
}

// edgeSpans, in project "edge", hold attributes the default frame's fast
// path takes with care: escapes and text beyond ASCII, JSON-string
// attributes that parse to nothing, to a number, to a list of objects, or
// not at all, a nested object holding one, whole numbers beside fractions
// in one column, and values both at a key and below it.
func edgeSpans() []span.Span {
	str := span.StringValue
	a := testSpan("edge", 3, 11, 0, span.KindChain,
		span.Attr{Key: span.AttrInputValue, Value: str("line\nbreak \"quoted\" café \u2028 😀")},
		span.Attr{Key: "metadata", Value: str(`{}`)},
		span.Attr{Key: "tool.parameters", Value: str(`[{"q":"a"},{"q":"b","n":2}]`)},
		span.Attr{Key: "llm.token_count.prompt", Value: span.IntValue(7)},
		span.Attr{Key: "app.ratio", Value: span.DoubleValue(0.25)},
		span.Attr{Key: "app.list", Value: span.Value{Type: span.TypeSlice, Slice: []span.Value{span.IntValue(1), str("x"), span.BoolValue(false)}}})
	b := testSpan("edge", 3, 12, 11, span.KindTool,
		span.Attr{Key: "metadata", Value: str(`not json`)},
		span.Attr{Key: "llm.token_count.prompt", Value: span.DoubleValue(2.5)},
		span.Attr{Key: "app.ratio", Value: span.IntValue(3)},
		span.Attr{Key: "app", Value: str("at the group's own key")},
		span.Attr{Key: "app.nested", Value: span.Value{Type: span.TypeMap, Map: span.Attributes{
			{Key: "metadata", Value: str(`{"inner":true}`)}, {Key: "k", Value: span.IntValue(-1)}}}})
	c := testSpan("edge", 3, 13, 11, span.KindLLM,
		span.Attr{Key: "metadata", Value: str(`7`)},
		span.Attr{Key: "llm.input_messages.2.message.role", Value: str("user")},
		span.Attr{Key: "llm.input_messages.0.message.content", Value: str("\ttabbed\u0001")},
		span.Attr{Key: "document.metadata", Value: str(`""`)})
	return []span.Span{a, b, c}
}

// readParts splits a multipart/mixed answer into its parts' bodies,
// checking each part's Content-Type.
func readParts(t *testing.T, w *httptest.ResponseRecorder) []string {
	t.Helper()
	mt, params, err := mime.ParseMediaType(w.Header().Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" || params["boundary"] == "" {
		t.Fatalf("Content-Type = %q, want multipart/mixed with a boundary", w.Header().Get("Content-Type"))
	}
	mr := multipart.NewReader(bytes.NewReader(w.Body.Bytes()), params["boundary"])
	var parts []string
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		if ct := p.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("part Content-Type = %q, want application/json", ct)
		}
		var buf bytes.Buffer
		buf.ReadFrom(p)
		parts = append(parts, buf.String())
	}
	return parts
}

// TestGolden compares each answer, its parts indented, with
// testdata/<name>.json.
func TestGolden(t *testing.T) {
	s, _ := newStreamer(t, append(agentSpans(), edgeSpans()...)...)
	tests := []struct {
		name    string
		project string
		body    string
	}{
		{"default_edge", "edge", `{"queries":[{}]}`},
		{"default", "agent",
			`{"queries":[{}],"start_time":null,"end_time":null,"limit":1000,"root_spans_only":null}`},
		{"filter_llm", "agent",
			`{"queries":[{"filter":{"condition":"span_kind == 'LLM'"},"index":{"key":"context.span_id"}}],"limit":1000}`},
		{"select", "agent",
			`{"queries":[{"select":{"name":{"key":"name"},"llm.model_name":{"key":"llm.model_name"},"prompt":{"key":"llm.token_count.prompt"},"latency_ms":{"key":"latency_ms"},"start_time":{"key":"start_time"}},"filter":{"condition":"span_kind == 'LLM'"},"index":{"key":"context.span_id"}}]}`},
		{"select_paths", "agent",
			`{"queries":[{"select":{"messages":{"key":"llm.input_messages"},"first":{"key":"attributes['llm']['input_messages'][0]['message']['content']"},"tier":{"key":"metadata['tier']"},"span_id":{"key":"span_id"}},"filter":{"condition":"span_kind == 'AGENT' or span_id == '0000000000000002'"},"index":{"key":"context.span_id"}}]}`},
		{"explode", "agent",
			`{"queries":[{"explode":{"key":"retrieval.documents","primary_index_key":"context.span_id"},"index":{"key":"context.span_id"}}]}`},
		{"explode_kwargs", "agent",
			`{"queries":[{"select":{"input.value":{"key":"input.value"}},"explode":{"key":"retrieval.documents","primary_index_key":"context.span_id","kwargs":{"reference":"document.content","score":"document.score","source":"document.metadata.source"}},"index":{"key":"context.span_id"}}]}`},
		{"concat", "agent",
			`{"queries":[{"concat":{"key":"retrieval.documents","separator":" | ","kwargs":{"reference":"document.content"}},"index":{"key":"context.span_id"}}]}`},
		{"rename_index", "agent",
			`{"queries":[{"select":{"name":{"key":"name"},"span_kind":{"key":"span_kind"}},"rename":{"name":"operation"},"index":{"key":"trace_id"}}]}`},
		{"roots_with_orphans", "agent",
			`{"queries":[{"select":{"name":{"key":"name"}},"index":{"key":"context.span_id"}}],"root_spans_only":true}`},
		{"roots_strict", "agent",
			`{"queries":[{"select":{"name":{"key":"name"}},"index":{"key":"context.span_id"}}],"root_spans_only":true,"orphan_span_as_root_span":false}`},
		{"time_window_limit", "agent",
			`{"queries":[{"select":{"name":{"key":"name"}},"index":{"key":"context.span_id"}}],"start_time":"2024-05-01T10:00:00.002+00:00","end_time":"2024-05-01T10:00:00.006","limit":2}`},
		{"no_match", "agent",
			`{"queries":[{"filter":{"condition":"span_kind == 'EMBEDDING'"},"index":{"key":"context.span_id"}}]}`},
		{"unknown_project", "nope", `{"queries":[{}]}`},
		{"explode_no_match", "agent",
			`{"queries":[{"filter":{"condition":"span_kind == 'LLM'"},"explode":{"key":"retrieval.documents","kwargs":{"reference":"document.content"}},"index":{"key":"context.span_id"}}]}`},
		{"two_queries", "agent",
			`{"queries":[{"select":{"name":{"key":"name"}},"filter":{"condition":"span_kind == 'AGENT'"}},{"select":{"tool":{"key":"tool.name"},"q":{"key":"tool.parameters.q"}},"filter":{"condition":"span_kind == 'TOOL'"}}],"project_name":"agent"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := answer(t, s, tc.project, tc.body)
			var got bytes.Buffer
			for i, part := range readParts(t, w) {
				if i > 0 {
					got.WriteString("\n")
				}
				if err := json.Indent(&got, []byte(part), "", "  "); err != nil {
					t.Fatalf("part %d is not JSON: %v\n%s", i, err, part)
				}
				got.WriteString("\n")
			}
			golden := filepath.Join("testdata", tc.name+".json")
			if *update {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				os.WriteFile(golden, got.Bytes(), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got.String()); diff != "" {
				t.Errorf("response differs from %s (-want +got):\n%s", golden, diff)
			}
		})
	}
}

// TestPaging reads more spans than one store page holds, so the
// (start time, row id) cursor is followed across pages; the spans arrive
// out of start order and two share a start time.
func TestPaging(t *testing.T) {
	const n = spansPage + 7
	spans := make([]span.Span, 0, n)
	for i := 1; i <= n; i++ {
		s := testSpan("big", i, i, 0, span.KindChain)
		// Reverse the start order against the row order, with one tie.
		s.StartTime = t0 + int64(n-i)*1e6
		if i == 2 {
			s.StartTime = t0 + int64(n-1)*1e6
		}
		spans = append(spans, s)
	}
	s, _ := newStreamer(t, spans...)
	w := answer(t, s, "big", `{"queries":[{"select":{"start_time":{"key":"start_time"}}}],"limit":5000}`)
	var doc struct {
		Data []map[string]any `json:"data"`
	}
	if err := json.Unmarshal([]byte(readParts(t, w)[0]), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Data) != n {
		t.Fatalf("got %d rows, want %d", len(doc.Data), n)
	}
	seen := map[string]bool{}
	prev := ""
	for i, row := range doc.Data {
		id, start := row["0_context.span_id"].(string), row["1_start_time"].(string)
		if seen[id] {
			t.Fatalf("row %d: span %s twice", i, id)
		}
		seen[id] = true
		if prev != "" && start > prev {
			t.Fatalf("row %d starts at %s, after the previous row's %s: want newest first", i, start, prev)
		}
		prev = start
	}
	// The tie: span 2 (the later row) comes before span 1.
	if a, b := doc.Data[0]["0_context.span_id"], doc.Data[1]["0_context.span_id"]; a != hexID(2, 16) || b != hexID(1, 16) {
		t.Errorf("first rows are %v, %v; want span 2 then span 1 (same start, higher row id first)", a, b)
	}
}

func TestColumnType(t *testing.T) {
	tests := []struct {
		vals []any
		want string
	}{
		{nil, tableString},
		{[]any{int64(1), int64(2)}, tableInteger},
		{[]any{int64(1), nil}, tableNumber},
		{[]any{int64(1), 2.5}, tableNumber},
		{[]any{1.5, nil}, tableNumber},
		{[]any{true, false}, tableBoolean},
		{[]any{true, nil}, tableString},
		{[]any{true, int64(1)}, tableString},
		{[]any{"a", int64(1)}, tableString},
		{[]any{timestamp(1), timestamp(2)}, tableDatetime},
		{[]any{timestamp(1), "x"}, tableString},
		{[]any{nil, nil}, tableString},
		{[]any{[]any{"a"}}, tableString},
	}
	for _, tc := range tests {
		if got := columnType(tc.vals); got != tc.want {
			t.Errorf("columnType(%v) = %s, want %s", tc.vals, got, tc.want)
		}
	}
}

// TestUnflatten checks the reshaping against what Phoenix's
// phoenix.trace.attributes gives for the same input.
func TestUnflatten(t *testing.T) {
	tests := []struct {
		name       string
		pairs      []kv
		exclusions map[string]bool
		want       string
	}{
		{"nesting and lists", []kv{{"a.b", int64(1)}, {"a.c.0.d", "x"}, {"a.c.1.d", "y"}}, nil,
			`{"a":{"b":1,"c":[{"d":"x"},{"d":"y"}]}}`},
		{"sparse positions close up", []kv{{"l.3.v", int64(1)}, {"l.7.v", int64(2)}}, nil, `{"l":[{"v":1},{"v":2}]}`},
		{"digit leaf is a key", []kv{{"a.0", "x"}}, nil, `{"a":{"0":"x"}}`},
		{"value beside children", []kv{{"a", int64(1)}, {"a.b", int64(2)}}, nil, `{"a":1,"a.b":2}`},
		{"semantic conventions stay whole",
			[]kv{{"llm.token_count.prompt", int64(5)}, {"llm.input_messages.0.message.role", "user"}, {"custom.x", true}},
			semanticConventionSet,
			`{"custom":{"x":true},"llm.input_messages":[{"message.role":"user"}],"llm.token_count.prompt":5}`},
		{"nil values are skipped", []kv{{"a", nil}, {"b", "x"}}, nil, `{"b":"x"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := string(appendCell(nil, unflattenPairs(tc.pairs, tc.exclusions)))
			if got != tc.want {
				t.Errorf("got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestLoadJSONStrings(t *testing.T) {
	got := loadJSONStrings([]kv{
		{"metadata", `{"a":1}`},
		{"document.metadata", `{}`}, // empty: dropped
		{"tool.parameters", "not json"},
		{"llm.prompt_template.variables", int64(3)},
		{"input.value", `{"a":1}`}, // not a JSON-string attribute
	})
	want := `{"input.value":"{\"a\":1}","llm.prompt_template.variables":3,"metadata":{"a":1},"tool.parameters":"not json"}`
	if s := string(appendCell(nil, toMap(got))); s != want {
		t.Errorf("got %s\nwant %s", s, want)
	}
}

func TestPyStr(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{"text", "text"},
		{int64(3), "3"},
		{0.5, "0.5"},
		{2.0, "2.0"},
		{1e-05, "1e-05"},
		{1e16, "1e+16"},
		{true, "True"},
		{nil, "None"},
		{[]any{"a", int64(1)}, "['a', 1]"},
		{map[string]any{"k": "it's", "n": nil}, `{'k': "it's", 'n': None}`},
	}
	for _, tc := range tests {
		if got := pyStr(tc.v); got != tc.want {
			t.Errorf("pyStr(%#v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

// TestPartition checks partition against the plain reading of its rule:
// the longest convention that key starts with, ending at a dot or with key.
func TestPartition(t *testing.T) {
	longest := func(key string) (string, string) {
		for _, p := range semanticConventions { // longest first
			if strings.HasPrefix(key, p) && (len(key) == len(p) || key[len(p)] == '.') {
				if len(key) == len(p) {
					return p, ""
				}
				return p, key[len(p)+1:]
			}
		}
		p, s, _ := strings.Cut(key, ".")
		return p, s
	}
	keys := []string{"llm.token_count.prompt", "llm.token_count.prompt_details.cache_read", "llm.token_count.prompt_details",
		"llm.token_count.promptX", "llm.token_count", "llm", "metadata", "metadata.tier", "metadatax.a",
		"llm.input_messages.0.message.role", "message.contents.1.message_content.text", "custom.a.b", "custom",
		"", ".", "a..b", "tool_call.function.arguments.x", "session.id.extra"}
	for _, c := range semanticConventions {
		keys = append(keys, c, c+".x", c+"x", c+".0.y")
	}
	for _, k := range keys {
		gp, gs := partition(k, semanticConventionSet)
		wp, ws := longest(k)
		if gp != wp || gs != ws {
			t.Errorf("partition(%q) = %q, %q; want %q, %q", k, gp, gs, wp, ws)
		}
	}
}

// TestCompile checks what Compile refuses, and with which status.
func TestCompile(t *testing.T) {
	for _, tc := range []struct {
		body   string
		status int
		msg    string
	}{
		{`{}`, 422, "the body's queries field is required: a list of span queries"},
		{`{"queries":[]}`, 404, "no span queries: the body's queries list is empty"},
		{`{"queries":[` + strings.Repeat(`{},`, 100) + `{}]}`, 422, "at most 100 span queries per request, got 101"},
		{`{"queries":[{"filter":{"condition":"latncy_ms > 1"}}]}`, 422,
			`Invalid query: filter condition "latncy_ms > 1": unknown name 'latncy_ms' at column 1; did you mean 'latency_ms'?`},
		{`{"queries":[{},{"select":{"x":{"key":"name == 'a'"}}}]}`, 422,
			`Invalid query 1: select["x"]: invalid expression "name == 'a'": use a span field or an attribute path such as llm.model_name or attributes['a']['b']`},
		{`{"queries":[{"select":{"x":{}}}]}`, 422, `Invalid query: select["x"] has no key`},
		{`{"queries":[{"concat":{"key":"retrieval.documents","kwargs":{"a":1}}}]}`, 422, `Invalid query: concat.kwargs["a"] must be a string`},
		{`{"queries":[{}],"limit":-1}`, 422, "limit must not be negative, got -1"},
		{`{"queries":[{}],"end_time":"","stop_time":"soon"}`, 422,
			`end_time: invalid datetime "soon": use ISO 8601, e.g. 2024-01-01T12:00:00+00:00`},
	} {
		var b Body
		if err := json.Unmarshal([]byte(tc.body), &b); err != nil {
			t.Fatal(err)
		}
		_, err := Compile(b)
		qe, ok := err.(*Error)
		if !ok || qe.Status != tc.status || qe.Msg != tc.msg {
			t.Errorf("Compile(%.60s) = %v, want %d %s", tc.body, err, tc.status, tc.msg)
		}
	}
}

// A document that does not decode at all (no build of Loupe writes one)
// reads as no attributes and no events rather than failing the query.
func TestUnreadableDocuments(t *testing.T) {
	rec := store.SpanRecord{Span: testSpan("p", 1, 1, 0, span.KindChain),
		AttributesJSON: json.RawMessage(`{"openinference.span.kind":"CHAIN","a":`), EventsJSON: json.RawMessage(`[{"name":`)}
	row := &spanRow{rec: &rec}
	if doc, err := row.doc(); err != nil || len(doc) != 0 {
		t.Errorf("doc = %v, %v", doc, err)
	}
	if events, err := row.events(); err != nil || len(events) != 0 {
		t.Errorf("events = %v, %v", events, err)
	}
}
