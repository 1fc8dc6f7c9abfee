package api

import (
	"bytes"
	"encoding/json"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/loupe-dev/loupe/internal/span"
)

// spanQueryFixture is a small agent run in project "agent": an agent root,
// an LLM call with messages and a tool call, a retriever with two documents
// (one with JSON metadata), a second LLM call, a custom attribute group, and
// an orphan whose parent was never stored.
func spanQueryFixture() []span.Span {
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

// postSpanQuery sends a SpanQuery request as phoenix-client does.
func postSpanQuery(t *testing.T, h http.Handler, method, target, body string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
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

func TestSpanQueryGolden(t *testing.T) {
	h := newTestAPI(t, spanQueryFixture()...)
	tests := []struct {
		name   string
		target string
		body   string
	}{
		{"default", "/v1/spans?project_name=agent",
			`{"queries":[{}],"start_time":null,"end_time":null,"limit":1000,"root_spans_only":null}`},
		{"filter_llm", "/v1/spans?project_name=agent",
			`{"queries":[{"filter":{"condition":"span_kind == 'LLM'"},"index":{"key":"context.span_id"}}],"limit":1000}`},
		{"select", "/v1/spans?project_name=agent",
			`{"queries":[{"select":{"name":{"key":"name"},"llm.model_name":{"key":"llm.model_name"},"prompt":{"key":"llm.token_count.prompt"},"latency_ms":{"key":"latency_ms"},"start_time":{"key":"start_time"}},"filter":{"condition":"span_kind == 'LLM'"},"index":{"key":"context.span_id"}}]}`},
		{"select_paths", "/v1/spans?project_name=agent",
			`{"queries":[{"select":{"messages":{"key":"llm.input_messages"},"first":{"key":"attributes['llm']['input_messages'][0]['message']['content']"},"tier":{"key":"metadata['tier']"},"span_id":{"key":"span_id"}},"filter":{"condition":"span_kind == 'AGENT' or span_id == '0000000000000002'"},"index":{"key":"context.span_id"}}]}`},
		{"explode", "/v1/spans?project_name=agent",
			`{"queries":[{"explode":{"key":"retrieval.documents","primary_index_key":"context.span_id"},"index":{"key":"context.span_id"}}]}`},
		{"explode_kwargs", "/v1/spans?project_name=agent",
			`{"queries":[{"select":{"input.value":{"key":"input.value"}},"explode":{"key":"retrieval.documents","primary_index_key":"context.span_id","kwargs":{"reference":"document.content","score":"document.score","source":"document.metadata.source"}},"index":{"key":"context.span_id"}}]}`},
		{"concat", "/v1/spans?project_name=agent",
			`{"queries":[{"concat":{"key":"retrieval.documents","separator":" | ","kwargs":{"reference":"document.content"}},"index":{"key":"context.span_id"}}]}`},
		{"rename_index", "/v1/spans?project_name=agent",
			`{"queries":[{"select":{"name":{"key":"name"},"span_kind":{"key":"span_kind"}},"rename":{"name":"operation"},"index":{"key":"trace_id"}}]}`},
		{"roots_with_orphans", "/v1/spans?project_name=agent",
			`{"queries":[{"select":{"name":{"key":"name"}},"index":{"key":"context.span_id"}}],"root_spans_only":true}`},
		{"roots_strict", "/v1/spans?project_name=agent",
			`{"queries":[{"select":{"name":{"key":"name"}},"index":{"key":"context.span_id"}}],"root_spans_only":true,"orphan_span_as_root_span":false}`},
		{"time_window_limit", "/v1/spans?project_name=agent",
			`{"queries":[{"select":{"name":{"key":"name"}},"index":{"key":"context.span_id"}}],"start_time":"2024-05-01T10:00:00.002+00:00","end_time":"2024-05-01T10:00:00.006","limit":2}`},
		{"no_match", "/v1/spans?project_name=agent",
			`{"queries":[{"filter":{"condition":"span_kind == 'EMBEDDING'"},"index":{"key":"context.span_id"}}]}`},
		{"unknown_project", "/v1/spans?project_name=nope", `{"queries":[{}]}`},
		{"explode_no_match", "/v1/spans?project_name=agent",
			`{"queries":[{"filter":{"condition":"span_kind == 'LLM'"},"explode":{"key":"retrieval.documents","kwargs":{"reference":"document.content"}},"index":{"key":"context.span_id"}}]}`},
		{"two_queries", "/v1/spans",
			`{"queries":[{"select":{"name":{"key":"name"}},"filter":{"condition":"span_kind == 'AGENT'"}},{"select":{"tool":{"key":"tool.name"},"q":{"key":"tool.parameters.q"}},"filter":{"condition":"span_kind == 'TOOL'"}}],"project_name":"agent"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := postSpanQuery(t, h, "POST", tc.target, tc.body, nil)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
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
			golden := filepath.Join("testdata", "spanquery", tc.name+".json")
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

func TestSpanQueryRequests(t *testing.T) {
	h := newTestAPI(t, spanQueryFixture()...)
	llmOnly := `{"queries":[{"select":{"name":{"key":"name"}},"filter":{"condition":"span_kind == 'LLM'"}}]}`
	tests := []struct {
		name       string
		method     string
		target     string
		header     http.Header
		body       string
		wantStatus int
		wantInBody string
	}{
		{"project from project-name header", "POST", "/v1/spans", http.Header{"Project-Name": {"agent"}}, llmOnly, 200, `"1_name":"op-LLM"`},
		{"project from project-name parameter", "POST", "/v1/spans?project-name=agent", nil, llmOnly, 200, `"1_name":"op-LLM"`},
		{"query parameter wins over the body", "POST", "/v1/spans?project_name=nope",
			nil, `{"queries":[{}],"project_name":"agent"}`, 200, `"data":[]`},
		{"default project", "POST", "/v1/spans", nil, llmOnly, 200, `"data":[]`},
		{"deprecated GET with a body", "GET", "/v1/spans?project_name=agent", nil, llmOnly, 200, `"1_name":"op-LLM"`},
		{"arrow only", "POST", "/v1/spans?project_name=agent",
			http.Header{"Accept": {"application/x-pandas-arrow"}}, llmOnly, 406, "application/json"},
		{"bad filter", "POST", "/v1/spans?project_name=agent", nil,
			`{"queries":[{"filter":{"condition":"latncy_ms > 1"}}]}`, 422, "Invalid query: filter condition \"latncy_ms > 1\": unknown name 'latncy_ms' at column 1; did you mean 'latency_ms'?"},
		{"filter syntax error", "POST", "/v1/spans?project_name=agent", nil,
			`{"queries":[{"filter":{"condition":"span_kind =="}}]}`, 422, "Invalid query: filter condition"},
		{"bad projection", "POST", "/v1/spans?project_name=agent", nil,
			`{"queries":[{"select":{"x":{"key":"name == 'a'"}}}]}`, 422, `Invalid query: select["x"]: invalid expression`},
		{"cumulative counts are not selectable", "POST", "/v1/spans?project_name=agent", nil,
			`{"queries":[{"select":{"x":{"key":"cumulative_llm_token_count_total"}}}]}`, 422, "filters only"},
		{"second query is named", "POST", "/v1/spans?project_name=agent", nil,
			`{"queries":[{},{"filter":{"condition":"nope("}}]}`, 422, "Invalid query 1:"},
		{"empty queries", "POST", "/v1/spans?project_name=agent", nil, `{"queries":[]}`, 404, "queries list is empty"},
		{"missing queries", "POST", "/v1/spans?project_name=agent", nil, `{}`, 422, "queries field is required"},
		{"not JSON", "POST", "/v1/spans?project_name=agent", nil, `queries`, 422, "not valid JSON"},
		{"negative limit", "POST", "/v1/spans?project_name=agent", nil, `{"queries":[{}],"limit":-1}`, 422, "limit must not be negative"},
		{"zero limit", "POST", "/v1/spans?project_name=agent", nil, `{"queries":[{}],"limit":0}`, 200, `"data":[]`},
		{"bad time", "POST", "/v1/spans?project_name=agent", nil, `{"queries":[{}],"start_time":"yesterday"}`, 422, "start_time: "},
		{"stop_time is end_time", "POST", "/v1/spans?project_name=agent", nil,
			`{"queries":[{"select":{"n":{"key":"name"}}}],"stop_time":"2024-05-01T10:00:00.0015Z"}`, 200, `"data":[{"0_context.span_id":"0000000000000001","1_n":"op-AGENT"}]`},
		{"kwargs must be text", "POST", "/v1/spans?project_name=agent", nil,
			`{"queries":[{"explode":{"key":"retrieval.documents","kwargs":{"a":1}}}]}`, 422, `explode.kwargs["a"] must be a string`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := postSpanQuery(t, h, tc.method, tc.target, tc.body, tc.header)
			if w.Code != tc.wantStatus || !strings.Contains(w.Body.String(), tc.wantInBody) {
				t.Errorf("%s %s = %d %s\nwant %d containing %s", tc.method, tc.target, w.Code, w.Body, tc.wantStatus, tc.wantInBody)
			}
		})
	}
}

// TestSpanQueryPaging reads more spans than one store page holds, so the
// (start time, row id) cursor is followed across pages; the spans arrive
// out of start order and two share a start time.
func TestSpanQueryPaging(t *testing.T) {
	const n = spanQueryPage + 7
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
	h := newTestAPI(t, spans...)
	w := postSpanQuery(t, h, "POST", "/v1/spans?project_name=big",
		`{"queries":[{"select":{"start_time":{"key":"start_time"}}}],"limit":5000}`, nil)
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
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

func TestAcceptsJSON(t *testing.T) {
	tests := []struct {
		accept []string
		want   bool
	}{
		{nil, true},
		{[]string{"application/json"}, true},
		{[]string{"*/*"}, true},
		{[]string{"application/x-pandas-arrow"}, false},
		{[]string{"application/x-pandas-arrow, application/json;q=0.5"}, true},
		{[]string{"text/html"}, false},
	}
	for _, tc := range tests {
		if got := acceptsJSON(tc.accept); got != tc.want {
			t.Errorf("acceptsJSON(%q) = %v, want %v", tc.accept, got, tc.want)
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
